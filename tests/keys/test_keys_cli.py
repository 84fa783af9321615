"""`icpurse keys ...` through click's CliRunner."""
import json
import logging
import os
import re
import stat

import pytest
from click.testing import CliRunner

from icpurse.host.cli import main
from icpurse.keys import exports, keystore, split

from keyhelpers import FAST_N, assert_no_material

PW, TP = "keystore pass", "transport pass"


@pytest.fixture
def run(tmp_path):
    env = {"ICPURSE_KEYSTORE_PASSPHRASE": PW, "ICPURSE_TRANSPORT_PASSPHRASE": TP, "ICPURSE_KDF_N": str(FAST_N),
           "ICPURSE_KEYSTORE": None}

    def run(*args, input=None, env_extra=None):
        return CliRunner().invoke(main, ["keys", *args], input=input, env=dict(env, **(env_extra or {})))
    return run


@pytest.fixture
def ks(tmp_path, run):
    path = str(tmp_path / "ks.json")
    r = run("init", "--keystore", path, "--issuer", "7", "--custodians", "3", "--threshold", "2")
    assert r.exit_code == 0, r.output
    return path, r.output


def _component_lines(output):
    return [line for line in output.splitlines() if line.startswith("icpurse-component ")]


def test_registered_in_main():
    assert "keys" in main.commands


def test_init_prints_each_custodians_components_once(ks):
    path, out = ks
    lines = _component_lines(out)
    assert len(lines) == 3 * 5 and len(set(lines)) == 15
    assert out.count("# custodian 2 of 3") == 1
    domain = keystore.load_keystore(path, PW)
    for name, kv in domain.version(1).masters.items():
        assert "master-kcv=%s" % kv.kcv in out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_init_without_env_prompts_hidden_with_confirmation(tmp_path, run):
    path = str(tmp_path / "ks.json")
    r = run("init", "--keystore", path, "--issuer", "7", input="s3cret\ns3cret\n",
            env_extra={"ICPURSE_KEYSTORE_PASSPHRASE": None})
    assert r.exit_code == 0, r.output
    assert "s3cret" not in r.output  # hidden
    keystore.load_keystore(path, "s3cret")


def test_init_refuses_to_overwrite(ks, run):
    path, _ = ks
    before = open(path, "rb").read()
    r = run("init", "--keystore", path, "--issuer", "7")
    assert r.exit_code == 1 and "refusing to overwrite" in r.output
    assert open(path, "rb").read() == before


def test_init_threshold_above_custodians_is_a_usage_error(tmp_path, run):
    r = run("init", "--keystore", str(tmp_path / "k"), "--issuer", "7", "--custodians", "2", "--threshold", "3")
    assert r.exit_code == 2


def test_combine_from_files_any_two_custodians(ks, run, tmp_path):
    path, out = ks
    original = keystore.load_keystore(path, PW)
    blocks = re.split(r"\n(?=# custodian)", out)
    c1 = [b for b in blocks if b.startswith("# custodian 1 ")][0]
    c3 = [b for b in blocks if b.startswith("# custodian 3 ")][0].split("\n\n")[0]  # block ends at a blank line
    (tmp_path / "c1.txt").write_text(c1)
    (tmp_path / "c3.txt").write_text(c3)
    rebuilt = str(tmp_path / "rebuilt.json")
    r = run("combine", "--keystore", rebuilt, "--from", str(tmp_path / "c1.txt"), "--from", str(tmp_path / "c3.txt"))
    assert r.exit_code == 0, r.output
    assert keystore.load_keystore(rebuilt, PW).version(1).masters == original.version(1).masters
    assert_no_material(r.output, original)


def test_combine_typed_at_the_prompt(ks, run, tmp_path):
    path, out = ks
    lines = [l for l in _component_lines(out) if " index=2 " in l or " index=3 " in l]
    rebuilt = str(tmp_path / "rebuilt.json")
    r = run("combine", "--keystore", rebuilt, input="\n".join(lines) + "\n\n")
    assert r.exit_code == 0, r.output
    assert keystore.load_keystore(rebuilt, PW).version(1).masters == keystore.load_keystore(path, PW).version(1).masters


def test_combine_refuses_too_few(ks, run, tmp_path):
    _, out = ks
    lines = [l for l in _component_lines(out) if " index=1 " in l]
    r = run("combine", "--keystore", str(tmp_path / "x.json"), input="\n".join(lines) + "\n\n")
    assert r.exit_code == 1 and "1 component(s) given, 2 needed" in r.output
    assert not (tmp_path / "x.json").exists()


def test_combine_components_to_files(tmp_path, run):
    path = str(tmp_path / "ks.json")
    r = run("init", "--keystore", path, "--issuer", "9", "--components-out", str(tmp_path / "c"))
    assert r.exit_code == 0, r.output
    assert not _component_lines(r.output)
    files = sorted((tmp_path / "c").iterdir())
    assert [f.name for f in files] == ["custodian-1.txt", "custodian-2.txt", "custodian-3.txt"]
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)
    domain = keystore.load_keystore(path, PW)
    assert_no_material(r.output, domain)
    again = split.combine_domain(split.parse_components(files[0].read_text() + files[1].read_text()))
    assert again.version(1).masters == domain.version(1).masters


def test_show_and_json_never_show_keys(ks, run, caplog):
    path, _ = ks
    domain = keystore.load_keystore(path, PW)
    with caplog.at_level(logging.DEBUG):
        text = run("show", "--keystore", path)
        js = run("show", "--keystore", path, "--json")
    assert text.exit_code == 0 and js.exit_code == 0, text.output + js.output
    data = json.loads(js.output)
    assert data["current"] == 1 and data["versions"][0]["kcv"]["sector_b"] == domain.version(1)["sector_b"].kcv
    assert data["roles"]["load_mac"] == ["workstation"]
    assert domain.version(1)["journal"].kcv in text.output
    assert_no_material(text.output + js.output + caplog.text, domain)


def test_wrong_passphrase_refused_nothing_changed(ks, run):
    path, _ = ks
    before = open(path, "rb").read()
    for cmd in (["show"], ["rollover"], ["export", "--role", "workstation", "--out", path + ".ws"]):
        r = run(*cmd, "--keystore", path, env_extra={"ICPURSE_KEYSTORE_PASSPHRASE": "nope"})
        assert r.exit_code == 1, r.output
        assert "wrong passphrase or corrupted keystore" in r.output
        assert "Traceback" not in r.output
    assert open(path, "rb").read() == before
    assert not os.path.exists(path + ".ws")


def test_corrupt_keystore(ks, run):
    path, _ = ks
    with open(path, "r+b") as f:
        f.truncate(50)
    r = run("show", "--keystore", path)
    assert r.exit_code == 5 and "corrupted keystore" in r.output


def test_rollover(ks, run):
    path, _ = ks
    old = keystore.load_keystore(path, PW)
    r = run("rollover", "--keystore", path)
    assert r.exit_code == 0, r.output
    assert "key version 2 is current, 1 previous" in r.output
    assert " version=2 " in _component_lines(r.output)[0] and len(_component_lines(r.output)) == 15
    new = keystore.load_keystore(path, PW)
    assert (new.current, new.previous) == (2, 1)
    assert new.version(1).masters == old.version(1).masters
    # a file below the cost policy (here the tests' low cost) is rewritten at the policy's cost
    assert json.loads(open(path).read())["kdf"]["n"] == keystore.DEFAULT_N == 2 ** 17


def test_export_reader_and_workstation(ks, run, tmp_path):
    path, _ = ks
    domain = keystore.load_keystore(path, PW)
    out = str(tmp_path / "reader.json")
    r = run("export", "--keystore", path, "--role", "reader", "--terminal", "12345678", "--out", out, "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["role"] == "reader" and set(summary["versions"][0]["kcv"]) == {"sector_a", "purse_mac", "journal"}
    ex = exports.load_export(out, TP)
    assert ex.to_keysets()[0].sector_b is None and ex.to_keysets()[0].load_mac is None
    assert_no_material(r.output + open(out).read(), domain, ex)
    shown = run("show", "--export", "--keystore", out)
    assert shown.exit_code == 0 and "terminal 12345678" in shown.output
    assert_no_material(shown.output, domain, ex)

    ws = str(tmp_path / "ws.json")
    r = run("export", "--keystore", path, "--role", "workstation", "--out", ws)
    assert r.exit_code == 0, r.output
    assert set(exports.load_export(ws, TP).versions[1]) == {"sector_a", "sector_b", "purse_mac", "load_mac"}
    assert_no_material(r.output, domain)


def test_export_reader_needs_a_terminal(ks, run, tmp_path):
    path, _ = ks
    r = run("export", "--keystore", path, "--role", "reader", "--out", str(tmp_path / "r.json"))
    assert r.exit_code == 2 and "--terminal" in r.output


def test_export_wrong_transport_passphrase(ks, run, tmp_path):
    path, _ = ks
    out = str(tmp_path / "r.json")
    assert run("export", "--keystore", path, "--role", "reader", "--terminal", "1", "--out", out).exit_code == 0
    r = run("show", "--export", "--keystore", out, env_extra={"ICPURSE_TRANSPORT_PASSPHRASE": "nope"})
    assert r.exit_code == 1 and "wrong passphrase" in r.output


def test_demo_keystore_is_loudly_marked(run, tmp_path):
    path = str(tmp_path / "demo.json")
    r = run("demo", "--keystore", path)
    assert r.exit_code == 0, r.output
    assert r.output.count("INSECURE DEMO KEYS") >= 2
    env = {"ICPURSE_KEYSTORE_PASSPHRASE": "insecure-demo"}
    shown = run("show", "--keystore", path, env_extra=env)
    assert "INSECURE DEMO KEYS" in shown.output
    js = run("show", "--keystore", path, "--json", env_extra=env)
    assert json.loads(js.stdout)["warning"] == "INSECURE DEMO KEYS"
    ex = run("export", "--keystore", path, "--role", "reader", "--terminal", "1", "--out", path + ".r", env_extra=env)
    assert ex.exit_code == 0 and "INSECURE DEMO KEYS" in ex.output


def test_help_everywhere(run):
    for cmd in ("init", "combine", "show", "rollover", "export", "demo"):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.output


def test_bad_kdf_cost_is_a_usage_error(run, tmp_path):
    r = run("init", "--keystore", str(tmp_path / "k"), "--issuer", "7", "--kdf-n", "1000")
    assert r.exit_code == 2 and "power of two" in r.output
