"""The layers import one way — protocol <- firmware <- keys <- host <- hil — checked by import-linter
with the contracts in pyproject.toml; the product's own commands work without the rig (hil), whose
commands and reader kind come in through entry points (host/plugins.py)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("protocol", "firmware", "keys", "host", "hil")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd, env=None):
    # --no-cache: grimp's cache would otherwise land in the working folder
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_import_contracts_hold():
    res = lint_imports(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Contracts: 3 kept, 0 broken." in res.stdout, res.stdout


def copy_of_the_package(tmp_path):
    """The icpurse package (the repository's parts, its __init__ and pyproject.toml) under tmp_path."""
    pkg = tmp_path / "icpurse"
    pkg.mkdir()
    for part in PARTS:
        shutil.copytree(ROOT / part, pkg / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("__init__.py", "pyproject.toml"):
        shutil.copy(ROOT / name, pkg / name)
    return pkg


@pytest.mark.parametrize("breach, source, message", [
    # the cycle the contract exists to prevent: the host tools reaching into the simulator
    ("host/terminals/breach.py", "def f():\n    from icpurse.hil.sim.rig import LinkRefused\n",
     "icpurse.host is not allowed to import icpurse.hil"),
    ("keys/breach.py", "import icpurse.host.ledger\n", "icpurse.keys is not allowed to import icpurse.host"),
    ("firmware/breach.py", "from icpurse.keys import demo\n", "icpurse.firmware is not allowed to import icpurse.keys"),
    ("protocol/breach.py", "from icpurse.firmware import purse\n",
     "icpurse.protocol is not allowed to import icpurse.firmware"),
    ("firmware/breach.py", "import sqlalchemy\n", "icpurse.firmware is not allowed to import sqlalchemy"),
])
def test_a_wrong_way_import_breaks_the_contract(tmp_path, breach, source, message):
    pkg = copy_of_the_package(tmp_path)
    (pkg / breach).write_text(source)
    # the copy comes first on the path, ahead of the editable install of the real tree
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    res = lint_imports(pkg, env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert message in res.stdout, res.stdout
    assert "icpurse.%s" % breach[:-3].replace("/", ".") in res.stdout, res.stdout  # the copy was analysed


# A Python run of the `icpurse` command in which the rig (icpurse.hil) cannot be imported, as in an
# installation of the product without its test rig.
WITHOUT_RIG = """
import sys

class NoRig:
    def find_spec(self, name, path=None, target=None):
        if name == "icpurse.hil" or name.startswith("icpurse.hil."):
            raise ModuleNotFoundError("No module named %r" % name, name=name)

sys.meta_path.insert(0, NoRig())
sys.argv[0] = "icpurse"
from icpurse.host.cli import main
main()
"""


def icpurse_without_rig(*args, cwd=None):
    return subprocess.run([sys.executable, "-c", WITHOUT_RIG] + list(args), capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_the_rig_commands_are_registered_from_the_rig():
    res = subprocess.run([sys.executable, "-c", "from icpurse.host.cli import main; main()", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    commands = res.stdout.split("Commands:")[1].split()
    assert "sim" in commands and "demo" in commands


def test_the_product_works_without_the_rig(tmp_path):
    res = icpurse_without_rig("--help")
    assert res.returncode == 0, res.stderr
    commands = res.stdout.split("Commands:")[1].split()
    assert "layout" in commands and "card" in commands and "terminal" in commands
    assert "sim" not in commands and "demo" not in commands
    res = icpurse_without_rig("layout", "show", "--json")
    assert res.returncode == 0, res.stderr
    res = icpurse_without_rig("readers", "--json")
    assert res.returncode == 0, res.stderr
    assert '"sim"' not in res.stdout
    res = icpurse_without_rig("card", "show", "--reader", "sim:%s" % tmp_path, "--keystore", "demo",
                              "--db", "sqlite:///%s" % (tmp_path / "ledger.db"))
    assert res.returncode == 3, res.stdout + res.stderr  # no reader
    assert "Traceback" not in res.stderr
    assert "--reader sim needs the virtual rig" in res.stdout + res.stderr
    assert "not installed" in res.stdout + res.stderr
