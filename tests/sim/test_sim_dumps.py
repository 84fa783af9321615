"""The simulator takes dump files in every format (`sim serve --card NAME=FILE[:KIND]`, `--state`):
fixtures of tests/host/dumpfiles, written by hand from each format's documentation."""
import shutil
import subprocess
from pathlib import Path

from icpurse.hil.sim.server import CardSpec, Rig
from support.simproc import icpurse_command

FILES = Path(__file__).resolve().parents[1] / "host" / "dumpfiles"
RAW = (FILES / "card.mfd").read_bytes()


def test_state_dir_takes_a_flipper_dump_and_writes_raw_back(tmp_path):
    shutil.copy(FILES / "card.nfc", tmp_path / "deadbeef.nfc")
    rig = Rig([CardSpec("1k:DEADBEEF")], state_dir=str(tmp_path))
    assert rig.cards["deadbeef"].to_mfd() == RAW
    rig.cards["deadbeef"].blocks[2][:] = b"changed in a sim"
    rig.save_dumps()
    assert (tmp_path / "deadbeef.mfd").read_bytes()[32:48] == b"changed in a sim"


def test_state_dump_of_another_card_is_refused(tmp_path):
    shutil.copy(FILES / "card.nfc", tmp_path / "01020304.nfc")
    try:
        Rig([CardSpec("1k:01020304")], state_dir=str(tmp_path))
    except ValueError as e:
        assert "deadbeef" in str(e)
    else:
        raise AssertionError("a dump of another UID was taken")


def test_serve_a_card_from_a_proxmark_json(start_sim):
    sim = start_sim("--pty", "--card", "lab=%s:gen1a" % (FILES / "card.json"))
    cards = sim.command("list")["cards"]
    assert [(c["name"], c["uid"], c["kind"]) for c in cards] == [("lab", "deadbeef", "gen1a")]
    assert sim.dump("lab") == RAW


def test_serve_refuses_a_malformed_dump(tmp_path):
    bad = tmp_path / "bad.nfc"
    bad.write_text("Filetype: Flipper NFC device\nVersion: 4\nDevice type: Mifare Classic\nBlock 0: ZZ\n")
    res = subprocess.run(icpurse_command() + ["sim", "serve", "--pty", "--card", "x=%s" % bad],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "bad.nfc" in res.stderr and "Traceback" not in res.stderr
