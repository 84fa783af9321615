"""Type-check the firmware against the MicroPython API of the ESP32 port.

    .venv/bin/python tools/firmware_types.py [MODULE_OR_FILE ...]     (default: -p icpurse.firmware)

mypy runs with the pinned `micropython-esp32-stubs` (installed by `make setup` into
.venv/mpy-stubs, outside the venv's own site-packages): their `stdlib/` is the typeshed (MicroPython's
reduced `sys`, `os`, `struct`, ...) and their port modules (`machine`, `micropython`, `esp32`,
`network`, `cryptolib`, ...) are on the search path, so a call the board does not have is an error.
`icpurse` resolves through .venv/pkgroot/icpurse (a link to the repository root, made by `make setup`;
the same path editors use, see pyproject.toml). Exit status: mypy's (0 clean, 1 type errors, 2 usage).
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / ".venv" / "mpy-stubs"
PKGROOT = ROOT / ".venv" / "pkgroot"
# Modules the board gets from elsewhere, without stubs: the display driver comes from micropython-lib
# (`mpremote mip install ssd1306`, docs/hardware.md) and is imported only when a display answers.
NO_STUBS = ("ssd1306",)


class Missing(Exception):
    pass


def stub_modules(stubs=STUBS):
    """Top-level names the stub packages provide (their own type errors are not ours to report)."""
    names = set()
    for p in stubs.iterdir():
        if p.suffix == ".pyi":
            names.add(p.stem)
        elif p.is_dir() and not p.name.endswith(".dist-info") and p.name not in ("stdlib", "stubs", "__pycache__"):
            names.add(p.name)
    return sorted(names)


def config(stubs=STUBS, pkgroot=PKGROOT):
    if not (stubs / "machine.pyi").is_file() or not (stubs / "stdlib" / "VERSIONS").is_file():
        raise Missing("MicroPython stubs not found in %s: run `make setup`" % stubs)
    if not (pkgroot / "icpurse" / "firmware").is_dir():
        raise Missing("%s/icpurse (link to the repository root) not found: run `make setup`" % pkgroot)
    mods = stub_modules(stubs)
    return "\n".join([
        "[mypy]",
        "custom_typeshed_dir = %s" % stubs,
        "mypy_path = %s%s%s" % (stubs, os.pathsep, pkgroot),
        "check_untyped_defs = True",  # the firmware has few annotations: check every body anyway
        # Objects fill their None-initialised fields during a tap (slot, journal, ...): without
        # annotations, which MicroPython would carry as bytecode, every later use reads as Optional.
        "strict_optional = False",
        "warn_unused_ignores = True",
        "incremental = False",
        "",
        "[mypy-%s]" % ",".join(m + ".*" if (stubs / m).is_dir() else m for m in mods),
        "ignore_errors = True",
        "",
        "[mypy-%s]" % ",".join(NO_STUBS),
        "ignore_missing_imports = True",
        "",
    ])


def run(targets=("-p", "icpurse.firmware"), stubs=STUBS, pkgroot=PKGROOT):
    """(exit status, report) of mypy on `targets`; paths through the package link are shown from the root."""
    with tempfile.TemporaryDirectory(prefix="icpurse-mypy-") as tmp:
        cfg = Path(tmp) / "mypy.ini"
        cfg.write_text(config(stubs, pkgroot))
        res = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(cfg), "--no-error-summary",
                              "--show-error-codes", *targets], capture_output=True, text=True, cwd=tmp)
    report = (res.stdout + res.stderr).replace(str(pkgroot / "icpurse") + os.sep, "")
    return res.returncode, report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        code, report = run(tuple(argv) or ("-p", "icpurse.firmware"))
    except Missing as e:
        print(e, file=sys.stderr)
        return 2
    sys.stdout.write(report)
    print("firmware types: %s" % ("clean" if code == 0 else "errors found (exit %d)" % code))
    return code


if __name__ == "__main__":
    sys.exit(main())
