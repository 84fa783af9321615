"""Every MicroPython source (all of firmware/, and protocol/, host/ and hil/sim/ files marked
`# micropython: yes`)
compiles with mpy-cross for the board's architecture.  Catches CPython-only syntax before the
board does."""
import pytest

from icpurse.host.firmware_build import (
    ROOT,
    BuildError,
    compile_mpy,
    MARKED_PARTS,
    find_mpy_cross,
    firmware_sources,
    marked_sources,
)

SOURCES = firmware_sources() + [p for part in MARKED_PARTS for p in marked_sources(part)]


@pytest.mark.parametrize("source", SOURCES, ids=[p.relative_to(ROOT).as_posix() for p in SOURCES])
def test_compiles_for_xtensawin(source, tmp_path):
    mpy_cross = find_mpy_cross()
    if mpy_cross is None:
        pytest.skip("mpy-cross not found — run `make setup`")
    try:
        compile_mpy(mpy_cross, source, tmp_path / "out.mpy", "xtensawin")
    except BuildError as e:
        pytest.fail("mpy-cross rejects %s:\n%s" % (source.relative_to(ROOT), e), pytrace=False)
    # A real .mpy: magic 'M', then the bytecode version.
    assert (tmp_path / "out.mpy").read_bytes()[:1] == b"M"
