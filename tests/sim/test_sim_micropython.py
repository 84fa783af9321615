"""The simulator core behaves under real MicroPython (WebAssembly build) as under CPython: runs
tests/sim/mp_sim_checks.py with tests/micropython/run.mjs, and the same checks under CPython."""
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("mp_sim_checks", HERE / "mp_sim_checks.py")
mp_sim_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mp_sim_checks)
ROOT = HERE.parent.parent
RUNNER = ROOT / "tests" / "micropython" / "run.mjs"
MP_PACKAGE = ROOT / "tests" / "micropython" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
CHECKS = [name for name in dir(mp_sim_checks) if name.startswith("test_")]


@pytest.mark.parametrize("name", CHECKS)
def test_under_cpython(name):
    getattr(mp_sim_checks, name)()


@pytest.mark.micropython
def test_under_micropython():
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.is_dir():
        pytest.skip("node or the MicroPython WebAssembly build not found — run `make setup`")
    proc = subprocess.run([node, str(RUNNER), "--root", str(ROOT), str(HERE / "mp_sim_checks.py")],
                          capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert proc.stdout.splitlines()[-1] == "%d passed, 0 failed" % len(CHECKS), out
