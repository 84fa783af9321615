"""Dump interchange (`icpurse dump info|convert`, icpurse.host.dumps): the same card written by hand
in each format from its documentation (tests/host/dumpfiles: Flipper's NFC file format page, the
proxmark3 client's "mfc v2" JSON layout, MIFARE Classic Tool's dump syntax, plain .eml / .mfd),
and a partial read with unknown bytes in the two formats that can say "unknown"."""
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from icpurse.host import dumps
from icpurse.host.cli import main

FILES = Path(__file__).parent / "dumpfiles"
RAW = (FILES / "card.mfd").read_bytes()
# partial.*: sector 2 keys A and B unknown (12 bytes), sector 3 not read (64), block 5 byte 3 (1)
PARTIAL_UNKNOWN = 77


def cli(*args):
    r = CliRunner().invoke(main, ["dump"] + [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    return r


@pytest.mark.parametrize("name,fmt", [("card.nfc", "flipper"), ("card.json", "proxmark-json"),
                                      ("card.mct", "mct"), ("card.eml", "eml"), ("card.mfd", "raw")])
def test_every_format_of_the_same_card_gives_the_same_bytes(name, fmt):
    data = (FILES / name).read_bytes()
    assert dumps.detect(data) == fmt
    d = dumps.loads(data)
    assert d.raw() == RAW and d.unknown() == 0
    assert d.effective_uid() == bytes.fromhex("DEADBEEF")
    assert (d.effective_atqa(), d.effective_sak()) == (0x0004, 0x08)


def test_formats_that_carry_atqa_and_sak_say_so():
    assert dumps.load(FILES / "card.nfc").atqa == 0x0004
    assert dumps.load(FILES / "card.json").atqa == 0x0004  # "0400": as the card sends it
    assert dumps.load(FILES / "card.mfd").atqa is None  # raw: only defaults by size and UID length


def test_flipper_version_2_reads_atqa_lsb_first_and_a_7_byte_uid():
    d = dumps.load(FILES / "seven-v2.nfc")
    assert d.uid == bytes.fromhex("04112233445566") and d.atqa == 0x0044 and d.sak == 0x08


@pytest.mark.parametrize("src", ["card.nfc", "card.json", "card.mct"])
def test_convert_to_raw_and_back(tmp_path, src):
    r = cli("convert", FILES / src, tmp_path / "out.mfd")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out.mfd").read_bytes() == RAW
    back = tmp_path / ("back" + os.path.splitext(src)[1])
    r = cli("convert", tmp_path / "out.mfd", back)
    assert r.exit_code == 0, r.output
    if src == "card.json":
        got, want = json.loads(back.read_text()), json.loads((FILES / src).read_text())
        assert got["FileType"] == "mfc v2" and got["Card"] == want["Card"] and got["blocks"] == want["blocks"]
        for s, keys in want["SectorKeys"].items():
            assert {k: got["SectorKeys"][s][k] for k in ("KeyA", "KeyB", "AccessConditions")} == {
                k: keys[k] for k in ("KeyA", "KeyB", "AccessConditions")}
    else:
        assert back.read_text() == (FILES / src).read_text()


def test_unknown_bytes_stay_unknown_between_flipper_and_mct(tmp_path):
    d = dumps.load(FILES / "partial.nfc")
    assert d.unknown() == PARTIAL_UNKNOWN
    assert d.blocks[5][3] is None and d.blocks[11][:6] == [None] * 6 and d.blocks[11][6:10] == [0xFF, 0x07, 0x80, 0x69]
    r = cli("convert", FILES / "partial.nfc", tmp_path / "p.mct")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.mct").read_text() == (FILES / "partial.mct").read_text()
    r = cli("convert", FILES / "partial.mct", tmp_path / "p.nfc")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.nfc").read_text() == (FILES / "partial.nfc").read_text()


@pytest.mark.parametrize("dst", ["p.mfd", "p.eml", "p.json"])
def test_formats_without_unknown_refuse_a_partial_dump_unless_filled(tmp_path, dst):
    r = cli("convert", FILES / "partial.nfc", tmp_path / dst)
    assert r.exit_code == 1 and "77 byte(s)" in r.output and "--fill-unknown" in r.output
    assert not (tmp_path / dst).exists() and not list(tmp_path.iterdir())
    r = cli("convert", FILES / "partial.nfc", tmp_path / dst, "--fill-unknown", "00", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["ok"] and out["filled"] == PARTIAL_UNKNOWN
    got = dumps.load(tmp_path / dst).raw()
    assert got[5 * 16 + 3] == 0 and got[5 * 16:5 * 16 + 3] == RAW[5 * 16:5 * 16 + 3]


def test_info_json():
    r = cli("info", FILES / "partial.mct", "--json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert (out["format"], out["size"], out["uid"], out["uid_from"]) == ("mct", "1k", "DEADBEEF", "block 0")
    assert out["unknown_bytes"] == PARTIAL_UNKNOWN and out["unknown_blocks"] == [5, 11, 12, 13, 14, 15]


def test_convert_refuses_to_overwrite(tmp_path):
    (tmp_path / "x.mfd").write_bytes(b"keep")
    r = cli("convert", FILES / "card.nfc", tmp_path / "x.mfd")
    assert r.exit_code == 1 and "--force" in r.output
    assert (tmp_path / "x.mfd").read_bytes() == b"keep"
    assert cli("convert", FILES / "card.nfc", tmp_path / "x.mfd", "--force").exit_code == 0


def test_unknown_target_format(tmp_path):
    r = cli("convert", FILES / "card.nfc", tmp_path / "x.dat")
    assert r.exit_code == 2 and "--to" in r.output


def _bad(tmp_path, name, text):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def _nfc_with(line_from, line_to):
    return (FILES / "card.nfc").read_text().replace(line_from, line_to)


BAD = {
    "empty.bin": b"",
    "short.mfd": bytes(1000),
    "text.txt": "hello\n",
    "bad-hex.nfc": _nfc_with("Block 5: 05", "Block 5: 0G"),
    "short-block.nfc": _nfc_with("Block 5: 05 05 05 05 05 05 05 05 05 05 05 05 05 05 05 05",
                                 "Block 5: 05 05 05 05 05 05 05 05 05 05 05 05 05 05 05"),
    "v1.nfc": _nfc_with("Data format version: 2", "Data format version: 1"),
    "v9.nfc": _nfc_with("Version: 4", "Version: 9"),
    "ultralight.nfc": _nfc_with("Device type: Mifare Classic", "Device type: NTAG/Ultralight"),
    "beyond.nfc": _nfc_with("Block 63:", "Block 64:"),
    "wrongtype.json": json.dumps({"FileType": "mfu", "blocks": {"0": "00" * 16}}),
    "notjson.json": '{"FileType": "mfc v2", ',
    "shortblock.json": json.dumps({"FileType": "mfc v2", "blocks": {"0": "00" * 15}}),
    "halfbyte.mct": (FILES / "card.mct").read_text().replace("02020202", "0-020202", 1),
    "truncated.mct": "\n".join((FILES / "card.mct").read_text().splitlines()[:-1]) + "\n",
    "twice.mct": (FILES / "card.mct").read_text() + "+Sector: 0\n" + ("00" * 16 + "\n") * 4,
    "sector99.mct": "+Sector: 99\n" + ("00" * 16 + "\n") * 4,
    "63lines.eml": "".join("00" * 16 + "\n" for _ in range(63)),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_dumps_get_a_clear_error_and_exit_2(tmp_path, name):
    src = _bad(tmp_path, name, BAD[name])
    for args in (("info", src), ("convert", src, tmp_path / "out.nfc")):
        r = cli(*args)
        assert r.exit_code == 2, (name, r.output)
        assert "Error:" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out.nfc").exists()
    r = cli("info", src, "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["ok"] is False


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["card.nfc", "card.json", "card.mct", "card.eml", "partial.mct"]),
       st.integers(0, 6000), st.binary(min_size=0, max_size=8))
def test_mutated_dumps_load_or_raise_dumperror(name, pos, junk):
    data = bytearray((FILES / name).read_bytes())
    pos %= len(data) + 1
    data[pos:pos + len(junk)] = junk
    try:
        d = dumps.loads(bytes(data))
    except dumps.DumpError:
        return
    assert len(d.blocks) in (20, 64, 128, 256)


def test_help_explains():
    r = CliRunner().invoke(main, ["dump", "convert", "--help"])
    assert r.exit_code == 0 and "--fill-unknown" in r.output and "Flipper" in CliRunner().invoke(
        main, ["dump", "--help"]).output


def test_sim_cards_from_every_format(tmp_path):
    """The simulator takes each format as a card (hil reads through host/dumps)."""
    from icpurse.hil.sim.server import CardSpec, Rig

    for name in ("card.nfc", "card.json", "card.mct", "card.eml", "card.mfd"):
        shutil.copy(FILES / name, tmp_path / name)
        rig = Rig([CardSpec("c=%s" % (tmp_path / name))])
        assert rig.cards["c"].to_mfd() == RAW and bytes(rig.cards["c"].uid) == bytes.fromhex("DEADBEEF")
    spec = CardSpec("p=%s:gen1a" % (FILES / "partial.nfc"))
    assert spec.filled == PARTIAL_UNKNOWN and spec.card.magic == "gen1a"
    with pytest.raises(ValueError):
        CardSpec("x=%s" % (tmp_path / "missing.nfc"))
