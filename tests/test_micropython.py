"""Runs every dual-run firmware test file (tests/firmware/test_*.py) under the real MicroPython
interpreter (WebAssembly build, via tests/micropython/run.mjs), one pytest test per file.

The same files also run under CPython as ordinary pytest tests; this wrapper is what proves they
behave the same on the interpreter the firmware ships on. The files of the reader's own code paths
run once more on the *built* firmware: the .mpy files `make firmware` compiles for the board (mpy-cross
-march=xtensawin; bytecode, which the WebAssembly interpreter loads too) instead of the sources."""
import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
RUNNER = TESTS / "micropython" / "run.mjs"
MP_PACKAGE = TESTS / "micropython" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
FILES = sorted((TESTS / "firmware").glob("test_*.py"))
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
RESULT = re.compile(r"^(PASS|FAIL) (\w+)::(\S+)$")

pytestmark = pytest.mark.micropython


def declared_tests(path):
    """Names of the top-level `def test_...` functions: what pytest collects from the file too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


# the reader's link, configuration, journal, purse, start-up and indicator, on the compiled firmware
MPY_FILES = [TESTS / "firmware" / n for n in ("test_reader.py", "test_server.py", "test_linkauth.py",
                                               "test_journal.py", "test_purse.py", "test_app.py", "test_ui.py")]


@pytest.fixture(scope="session")
def built_firmware(tmp_path_factory):
    from icpurse.host import firmware_build as fb

    if fb.find_mpy_cross() is None:
        pytest.skip("mpy-cross not found — run `make setup`")
    out = tmp_path_factory.mktemp("firmware")
    fb.build(out)
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_runs_under_micropython(path):
    _run(path)


@pytest.mark.parametrize("path", MPY_FILES, ids=[p.name for p in MPY_FILES])
def test_runs_on_the_built_mpy_files(path, built_firmware):
    output = _run(path, "--mpy", str(built_firmware))
    assert "# firmware from /lib/icpurse/firmware/reader.mpy" in output  # not the sources


def _run(path, *extra):
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.is_dir():
        pytest.skip("node not found — run `make setup`")
    proc = subprocess.run(
        [node, str(RUNNER), "--root", str(ROOT), *extra, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, "MicroPython run failed (exit %d):\n%s" % (proc.returncode, output)
    summary = SUMMARY.match(lines[-1]) if lines else None
    assert summary, "no closing `N passed, M failed` line:\n" + output
    ran = {m.group(3) for m in map(RESULT.match, lines) if m and m.group(2) == path.stem}
    expected = declared_tests(path)
    # Nothing silently dropped: every test pytest sees ran under MicroPython, once.
    assert int(summary.group(1)) + int(summary.group(2)) == len(expected), output
    assert ran == expected, "MicroPython ran %s, file declares %s:\n%s" % (
        sorted(ran), sorted(expected), output)
    return output
