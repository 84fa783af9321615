"""The configuration file sets the ICPURSE_* settings (environment and command line win), and
`python -m icpurse` is the same command."""
import subprocess
import sys


def test_the_config_file_sets_the_ledger_and_the_environment_wins(icp, tmp_path):
    del icp.env["ICPURSE_DB"]
    other = tmp_path / "from-file.db"
    (tmp_path / "config.toml").write_text('db = "sqlite:///%s"\nissuer_name = "File Issuer"\n' % other,
                                          encoding="utf-8")
    assert icp.json("ledger", "init")["created"] is True
    assert other.exists()
    shown = {r["setting"]: r for r in icp.json("config", "show")["settings"]}
    assert shown["db"]["source"] == "file" and shown["db"]["value"] == "sqlite:///%s" % other
    assert shown["issuer_name"]["source"] == "environment"  # the fixture exports it: the environment wins
    icp.env["ICPURSE_DB"] = "sqlite:///%s" % (tmp_path / "from-env.db")
    assert icp.json("report", "daily", expect=2)["error"].startswith("no ledger at sqlite:///%s" % (
        tmp_path / "from-env.db"))


def test_python_dash_m_icpurse(icp):
    done = subprocess.run([sys.executable, "-m", "icpurse", "ledger", "init", "--json"], env=icp.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and '"created": true' in done.stdout
