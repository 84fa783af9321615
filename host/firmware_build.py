"""Compile the firmware for the board: ``python -m icpurse.host.firmware_build OUTDIR [--march A]``.

Writes the tree to copy onto the board's filesystem (e.g. with ``mpremote cp -r``)::

    OUTDIR/main.py                          firmware/main.py as source (MicroPython runs main.py
                                            from source; the rest is imported as .mpy)
    OUTDIR/lib/icpurse/__init__.mpy         empty package marker
    OUTDIR/lib/icpurse/firmware/**.mpy      every other firmware module, bytecode
    OUTDIR/frozen/                          the sources of the production image (board/manifest.py
                                            freezes this tree): icpurse/**.py as deployed (without
                                            the simulator's HAL), main.py, icpurse_board.py

`board/package.json` (the mip package description of the same sources) is generated here too:
`python -m icpurse.host.firmware_build --package-json` rewrites it; a test keeps it fresh.

Also the single place that says which sources are MicroPython code (used by tests/test_mpy_cross.py):
everything under firmware/, plus files under protocol/, host/ and hil/sim/ marked
``# micropython: yes`` in their first five lines (the MicroPython test runner
tests/micropython/run.mjs applies the same rule). Only the marked protocol/ files are deployed with
the firmware; the marked host/ file (the generated host codec) and hil/sim/ run in tests only.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MARCH = "xtensawin"  # ESP32 / ESP32-S3
MARKER = re.compile(r"^#\s*micropython:\s*yes\b")
MARKER_LINES = 5


class BuildError(Exception):
    pass


def find_mpy_cross():
    """mpy-cross from the running venv (pinned in pyproject), else from PATH; None if absent."""
    beside = Path(sys.executable).parent / "mpy-cross"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpy-cross")


def _py_files(folder):
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*.py")
        if not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts)
    )


def is_micropython_marked(path):
    with open(path, encoding="utf-8") as f:
        for _, line in zip(range(MARKER_LINES), f):
            if MARKER.match(line.strip()):
                return True
    return False


def firmware_sources(root=ROOT):
    return _py_files(Path(root) / "firmware")


# Folders whose `# micropython: yes` files run on MicroPython too: the protocol's pure-logic modules
# (shipped to the reader with the firmware), the host codec and the simulator core (tests only).
MARKED_PARTS = ("protocol", "host", "hil/sim")


def marked_sources(part, root=ROOT):
    return [p for p in _py_files(Path(root) / part) if is_micropython_marked(p)]


def marked_sim_sources(root=ROOT):
    return marked_sources("hil/sim", root)


# Test-only firmware modules: deployed for development, never frozen into the production image.
NOT_FROZEN = ("firmware/hal/sim.py",)
PACKAGE_JSON = ROOT / "board" / "package.json"
BOARD_FLAG = '"""Frozen into the production image only (board/manifest.py): hal.esp32.production()."""\nPRODUCTION = True\n'


def image_sources(root=ROOT):
    """[(path in the board's `icpurse` package, source)]: what the production image freezes and mip
    installs -- the firmware (not main.py, not the simulator's HAL) and the protocol's marked modules."""
    root = Path(root)
    out = []
    for src in firmware_sources(root):
        rel = src.relative_to(root).as_posix()
        if rel != "firmware/main.py" and rel not in NOT_FROZEN:
            out.append((rel, src))
    for src in marked_sources("protocol", root):
        out.append((src.relative_to(root).as_posix(), src))
    return sorted(out)


def write_frozen_tree(outdir, root=ROOT):
    """OUTDIR/frozen: icpurse/** (sources, empty package markers where the repository's are
    CPython's), main.py and icpurse_board.py -- the tree board/manifest.py freezes."""
    root, frozen = Path(root), Path(outdir) / "frozen"
    shutil.rmtree(frozen, ignore_errors=True)
    pkg = frozen / "icpurse"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for rel, src in image_sources(root):
        dest = pkg / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    for d in sorted(p for p in pkg.rglob("*") if p.is_dir()):
        if not (d / "__init__.py").exists():
            (d / "__init__.py").write_text("")
    shutil.copyfile(root / "firmware" / "main.py", frozen / "main.py")
    (frozen / "icpurse_board.py").write_text(BOARD_FLAG)
    return frozen


def package_json(root=ROOT):
    """The mip package description (board/package.json) of the same sources: installed under /lib."""
    urls = [["icpurse/__init__.py", "icpurse_init.py"]]
    for rel, _ in image_sources(root):
        urls.append(["icpurse/" + rel, "../" + rel])
    for d in sorted({posix_dir(u[0]) for u in urls[1:]}):
        init = d + "/__init__.py"
        if not any(u[0] == init for u in urls):
            urls.append([init, "icpurse_init.py"])
    return json.dumps({"urls": sorted(urls), "version": "0.1.0", "deps": []}, indent=1) + "\n"


def posix_dir(path):
    return path.rsplit("/", 1)[0]


def compile_mpy(mpy_cross, source, output, march=DEFAULT_MARCH, source_name=None):
    """Compile one file; raise BuildError carrying mpy-cross's own message on failure."""
    cmd = [mpy_cross, "-march=" + march, "-o", str(output)]
    if source_name:
        cmd += ["-s", source_name]  # the name tracebacks on the board will show
    proc = subprocess.run(cmd + [str(source)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError((proc.stderr + proc.stdout).strip() or "mpy-cross exit %d" % proc.returncode)


def build(outdir, march=DEFAULT_MARCH, root=ROOT, mpy_cross=None):
    """Build into ``outdir``; return [(relative output path, bytes)].  Raises BuildError listing
    every file that failed."""
    mpy_cross = mpy_cross or find_mpy_cross()
    if not mpy_cross:
        raise BuildError("mpy-cross not found — run `make setup`")
    root, outdir = Path(root), Path(outdir)
    pkg = outdir / "lib" / "icpurse"
    # No stale output of a deleted module.
    shutil.rmtree(pkg, ignore_errors=True)
    if (outdir / "main.py").is_file():
        (outdir / "main.py").unlink()
    (pkg / "firmware").mkdir(parents=True)
    built, errors = [], []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "__init__.py"
        empty.write_text("")
        compile_mpy(mpy_cross, empty, pkg / "__init__.mpy", march, "icpurse/__init__.py")
        built.append(pkg / "__init__.mpy")
        fw = root / "firmware"
        for src in firmware_sources(root):
            rel = src.relative_to(fw)
            try:
                if rel == Path("main.py"):
                    # Checked like the others, shipped as source.
                    compile_mpy(mpy_cross, src, Path(tmp) / "main.mpy", march)
                    shutil.copyfile(src, outdir / "main.py")
                    built.append(outdir / "main.py")
                    continue
                dest = (pkg / "firmware" / rel).with_suffix(".mpy")
                dest.parent.mkdir(parents=True, exist_ok=True)
                compile_mpy(mpy_cross, src, dest, march, "icpurse/firmware/" + rel.as_posix())
                built.append(dest)
            except BuildError as e:
                errors.append("%s:\n%s" % (src.relative_to(root), e))
        # The firmware imports the protocol's pure-logic modules (sector map, geometry, card time, money).
        for src in marked_sources("protocol", root):
            rel = src.relative_to(root)
            dest = (pkg / rel).with_suffix(".mpy")
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                compile_mpy(mpy_cross, src, dest, march, "icpurse/" + rel.as_posix())
                built.append(dest)
            except BuildError as e:
                errors.append("%s:\n%s" % (rel, e))
    if errors:
        raise BuildError("\n".join(errors))
    write_frozen_tree(outdir, root)
    return sorted((p.relative_to(outdir).as_posix(), p.stat().st_size) for p in built)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m icpurse.host.firmware_build",
        description="Compile firmware/ to .mpy for the board (mpy-cross).",
    )
    parser.add_argument("outdir", nargs="?", help="output folder (its lib/icpurse/ and frozen/ are rebuilt)")
    parser.add_argument("--march", default=DEFAULT_MARCH, help="mpy-cross -march (default %(default)s)")
    parser.add_argument("--package-json", action="store_true", help="rewrite board/package.json (mip) and exit")
    args = parser.parse_args(argv)
    if args.package_json:
        PACKAGE_JSON.write_text(package_json())
        print("wrote %s" % PACKAGE_JSON.relative_to(ROOT))
        return 0
    if not args.outdir:
        parser.error("give the output folder")
    try:
        table = build(args.outdir, args.march)
    except BuildError as e:
        print("firmware build failed:\n%s" % e, file=sys.stderr)
        return 1
    width = max(len(name) for name, _ in table)
    print("%-*s %8s" % (width, "file", "bytes"))
    for name, size in table:
        print("%-*s %8d" % (width, name, size))
    print("%-*s %8d" % (width, "total (%d files, -march=%s)" % (len(table), args.march),
                        sum(size for _, size in table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
