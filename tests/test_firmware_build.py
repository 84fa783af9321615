"""host/firmware_build.py: the board tree it writes, and the `# micropython: yes` convention that
decides which hil/sim/ files count as MicroPython code."""
import pytest

from icpurse.host import firmware_build as fb

needs_mpy_cross = pytest.mark.skipif(fb.find_mpy_cross() is None, reason="mpy-cross not found — run `make setup`")


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "head, marked",
    [
        ("# micropython: yes\n", True),
        ('"""doc"""\n\n\n\n# micropython: yes\n', True),  # line 5: still in the header
        ('"""doc"""\n\n\n\n\n# micropython: yes\n', False),  # line 6: too late
        ("#micropython:yes\n", True),
        ("# micropython: no\n", False),
        ("x = 1  # micropython: yes\n", False),  # must be a comment line of its own
        ("", False),
    ],
)
def test_micropython_marker(tmp_path, head, marked):
    assert fb.is_micropython_marked(_write(tmp_path / "m.py", head + "X = 1\n")) is marked


def test_marked_sim_sources_picks_only_marked(tmp_path):
    _write(tmp_path / "hil/sim/__init__.py", "import serial\n")
    core = _write(tmp_path / "hil/sim/core.py", "# micropython: yes\n")
    deep = _write(tmp_path / "hil/sim/cards/tag.py", "# micropython: yes\n")
    _write(tmp_path / "hil/sim/pty.py", "import os\n")
    assert fb.marked_sim_sources(tmp_path) == sorted([core, deep])
    assert fb.marked_sim_sources(tmp_path / "absent") == []


@needs_mpy_cross
def test_build_writes_board_tree(tmp_path):
    root = tmp_path / "repo"
    _write(root / "firmware/__init__.py", "")
    _write(root / "firmware/main.py", "from icpurse.firmware import purse\n")
    _write(root / "firmware/purse.py", "BALANCE_FEN = 100\n")
    _write(root / "firmware/drivers/__init__.py", "")
    _write(root / "firmware/drivers/pn532.py", "ACK = b'\\x00\\x00\\xff\\x00\\xff\\x00'\n")
    out = tmp_path / "out"
    _write(out / "lib/icpurse/firmware/deleted.mpy", "stale")
    table = dict(fb.build(out, root=root))
    assert set(table) == {
        "main.py",
        "lib/icpurse/__init__.mpy",
        "lib/icpurse/firmware/__init__.mpy",
        "lib/icpurse/firmware/purse.mpy",
        "lib/icpurse/firmware/drivers/__init__.mpy",
        "lib/icpurse/firmware/drivers/pn532.mpy",
    }
    assert (out / "main.py").read_text() == "from icpurse.firmware import purse\n"
    assert not (out / "lib/icpurse/firmware/deleted.mpy").exists()
    assert (out / "lib/icpurse/firmware/purse.mpy").read_bytes()[:1] == b"M"
    assert table["lib/icpurse/firmware/purse.mpy"] == (out / "lib/icpurse/firmware/purse.mpy").stat().st_size


@needs_mpy_cross
def test_build_reports_every_broken_file(tmp_path):
    root = tmp_path / "repo"
    _write(root / "firmware/__init__.py", "")
    _write(root / "firmware/a.py", "def f(:\n")
    _write(root / "firmware/b.py", "class (\n")
    with pytest.raises(fb.BuildError) as caught:
        fb.build(tmp_path / "out", root=root)
    message = str(caught.value)
    assert "firmware/a.py" in message and "firmware/b.py" in message
    assert "SyntaxError" in message


@needs_mpy_cross
def test_cli_exit_code_and_table(tmp_path, capsys):
    assert fb.main([str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "lib/icpurse/firmware/__init__.mpy" in out
    assert "-march=xtensawin" in out
