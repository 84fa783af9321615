"""The firmware stays lean: one `const` shim (icpurse.protocol.mpy), module constants that nobody
else uses are private `_NAME = const(...)` and fold away under MicroPython (no RAM), and the
device codec carries no simulator timing model."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from icpurse.host.firmware_build import firmware_sources

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "micropython" / "run.mjs"
SOURCES = [p for p in firmware_sources() if p.name != "codec.py"]
CONST = re.compile(r"^(_?[A-Z][A-Z0-9_]*) = const\(", re.M)


def _python_files():
    skip = (".venv", "node_modules", "build", ".git")
    return [p for p in ROOT.rglob("*.py") if not any(part in skip for part in p.relative_to(ROOT).parts)]


def test_one_const_shim():
    product = [p for p in _python_files() if p.relative_to(ROOT).parts[0] in ("firmware", "protocol", "keys", "host", "hil")]
    fallbacks = [p.relative_to(ROOT).as_posix() for p in product
                 if "from micropython import const" in p.read_text(encoding="utf-8")]
    assert fallbacks == ["protocol/mpy.py"]


def test_public_firmware_consts_are_used_outside_their_module():
    others = {p: p.read_text(encoding="utf-8") for p in _python_files()}
    lonely = []
    for src in SOURCES:
        for name in CONST.findall(src.read_text(encoding="utf-8")):
            if name.startswith("_"):
                continue
            if not any(re.search(r"\b%s\b" % name, text) for p, text in others.items() if p != src):
                lonely.append("%s: %s" % (src.relative_to(ROOT).as_posix(), name))
    assert lonely == [], "make these _PRIVATE: " + ", ".join(lonely)


@pytest.mark.micropython
def test_private_consts_fold_away_under_micropython(tmp_path):
    node = shutil.which("node")
    if node is None or not (ROOT / "tests/micropython/node_modules").is_dir():
        pytest.skip("node or the MicroPython WebAssembly build missing — run `make setup`")
    checks = []
    for src in SOURCES:
        rel = src.relative_to(ROOT / "firmware")
        if rel.as_posix() in ("main.py", "hal/esp32.py"):
            continue  # the board's entry point and HAL import `machine`: not importable here
        module = "icpurse.firmware." + rel.with_suffix("").as_posix().replace("/", ".")
        for name in CONST.findall(src.read_text(encoding="utf-8")):
            if name.startswith("_"):
                checks.append((module, name))
    assert len(checks) > 30
    test = tmp_path / "test_const_folding_generated.py"
    test.write_text("\n".join([
        "CHECKS = %r" % (checks,),
        "",
        "",
        "def test_every_private_const_is_gone_from_its_module():",
        "    kept = []",
        "    for module, name in CHECKS:",
        "        mod = __import__(module, None, None, ['x'])",
        "        if name in dir(mod):",
        "            kept.append(module + '.' + name)",
        "    assert kept == [], kept",
    ]) + "\n")
    proc = subprocess.run([node, str(RUNNER), str(test)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 0 failed" in proc.stdout
