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


# --- no module reaches into another module's private names (`_name`) ------------------------------



def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["icpurse"] + parts)


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").exists() or (ROOT / rel / "__init__.py").exists()


def private_uses(path: Path, here: str | None = None):
    """(module, name) of every private name of ANOTHER icpurse module that `path` (module `here`,
    default: its place in the tree) imports or reads through a module alias (`from icpurse.x import
    _y`, `import icpurse.x as m; m._y`)."""
    import ast

    here = here or _module_of(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases, found = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            if not base.startswith("icpurse"):
                continue
            for a in node.names:
                if _is_module("%s.%s" % (base, a.name)):
                    aliases[a.asname or a.name] = "%s.%s" % (base, a.name)
                elif a.name.startswith("_") and not a.name.startswith("__") and base != here:
                    found.add((base, a.name))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("icpurse.") and a.asname:
                    aliases[a.asname] = a.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr.startswith("_") and not node.attr.startswith("__") and aliases[node.value.id] != here:
                found.add((aliases[node.value.id], node.attr))
    return found


def test_no_module_uses_another_modules_private_names():
    bad = sorted((p.relative_to(ROOT).as_posix(), mod, name) for part in PARTS
                 for p in sorted((ROOT / part).rglob("*.py")) for mod, name in private_uses(p))
    assert bad == []


def test_the_private_name_check_can_fail(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from icpurse.host.ledger.stock import _unidentified_in_stock\n"
                     "from icpurse.host.ledger import store\n"
                     "from . import cards as c\n"
                     "x = store._exception_row, c._private, store.terminal_row\n")
    assert private_uses(probe, "icpurse.host.ledger.probe") == {
        ("icpurse.host.ledger.stock", "_unidentified_in_stock"), ("icpurse.host.ledger.store", "_exception_row"),
        ("icpurse.host.ledger.cards", "_private")}


# --- only the ledger touches the database ----------------------------------------------------------

# URL handling of the throwaway PostgreSQL cluster of the rig (no query, no session)
DATABASE_IMPORTS_ALLOWED = {("hil/pgcluster.py", "sqlalchemy.engine")}
LEDGER_INTERNALS = ("icpurse.host.ledger.models", "icpurse.host.ledger.bookkeeping", "icpurse.host.ledger.unit_of_work")


def database_imports(path: Path):
    """Modules of SQLAlchemy and of the ledger's tables and sessions that `path` imports."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
        for n in names:
            if n == "sqlalchemy" or n.startswith("sqlalchemy."):
                found.add(node.module if isinstance(node, ast.ImportFrom) else n)
            elif n in LEDGER_INTERNALS:
                found.add(n)
    return found


def test_no_database_access_outside_the_ledger():
    """The host tools and the rig read and change the books through the ledger's services only: no
    SQLAlchemy, no table models, no session outside host/ledger/."""
    files = [p for part in ("host", "hil") for p in sorted((ROOT / part).rglob("*.py"))
             if not p.relative_to(ROOT).as_posix().startswith("host/ledger/")]
    bad = sorted((p.relative_to(ROOT).as_posix(), m) for p in files for m in database_imports(p))
    assert [b for b in bad if b not in DATABASE_IMPORTS_ALLOWED] == []
    sessions = [p.relative_to(ROOT).as_posix() for p in files
                if ".session()" in p.read_text(encoding="utf-8") or "uow." in p.read_text(encoding="utf-8")]
    assert sessions == []


def test_the_database_check_can_fail(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from sqlalchemy import select\nfrom icpurse.host.ledger.models import Card\n"
                     "import sqlalchemy.orm\nfrom icpurse.host.ledger import bookkeeping\n")
    assert database_imports(probe) == {"sqlalchemy", "sqlalchemy.orm", "icpurse.host.ledger.models",
                                       "icpurse.host.ledger.bookkeeping"}
