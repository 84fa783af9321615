"""Truncated, oversized and mismatched .mfd card dumps: the in-process `sim` reader and
`icpurse sim serve --state` refuse them with the file's name and what to do; the file stays as it was."""
import pytest
from click.testing import CliRunner

from icpurse.hil.sim import dumps, factory
from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.cli import sim
from icpurse.host.readers import NoReader, open_reader

UID = bytes.fromhex("deadbeef")
UID7 = bytes.fromhex("04a1b2c3d4e580")  # 04^A1^B2^C3 = D4: its byte 4 looks like the BCC of a 4-byte UID


def _dump(uid=UID, size="1k"):
    return factory.blank_card(uid, size).to_mfd()


@pytest.mark.parametrize("cut", [0, 1, 16, 1023, 1025, 2048, 4095, 4097])
def test_wrong_size_dump_refused_by_the_loader(tmp_path, cut):
    data = (_dump() + _dump())[:cut] if cut > 1024 else _dump()[:cut]
    data = (data + bytes(cut))[:cut]
    path = tmp_path / "card.mfd"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="1024 or 4096 bytes, got %d" % cut):
        dumps.load(str(path))


@pytest.mark.parametrize("cut", [0, 700, 1023, 1040])
def test_sim_reader_names_the_bad_dump_and_keeps_it(tmp_path, cut):
    data = (_dump() * 2)[:cut]
    (tmp_path / "card.mfd").write_bytes(data)
    with pytest.raises(NoReader) as e:
        open_reader("sim:%s" % tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "card.mfd") in msg
    assert "got %d" % cut in msg and "move it away" in msg
    assert (tmp_path / "card.mfd").read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["card.mfd"]


def test_sim_reader_takes_a_4k_and_a_7_byte_uid_dump(tmp_path):
    (tmp_path / "card.mfd").write_bytes(_dump(UID7, "4k"))
    reader = open_reader("sim:%s" % tmp_path)
    tag = reader.wait_for_card(1)
    assert tag.uid == UID7 and tag.sak == 0x18
    reader.close()


def _serve(state, card="1k:deadbeef"):
    return CliRunner().invoke(sim, ["serve", "--pty", "--state", str(state), "--card", card])


@pytest.mark.parametrize("cut", [0, 512, 1023, 1025, 4096])
def test_sim_serve_refuses_a_wrong_size_state_dump(tmp_path, cut):
    path = tmp_path / "deadbeef.mfd"
    data = (_dump() * 5)[:cut]
    path.write_bytes(data)
    r = _serve(tmp_path)
    assert r.exit_code == 2, r.output
    assert str(path) in r.output and "holds %d bytes" % cut in r.output and "move the file away" in r.output
    assert "Traceback" not in r.output
    assert path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["deadbeef.mfd"]


def test_sim_serve_refuses_a_dump_of_another_card(tmp_path):
    path = tmp_path / "deadbeef.mfd"
    other = _dump(bytes.fromhex("0a0b0c0d"))
    path.write_bytes(other)
    r = _serve(tmp_path)
    assert r.exit_code == 2
    assert "holds the UID 0a0b0c0d, not deadbeef" in r.output
    assert path.read_bytes() == other


def test_sim_serve_seven_byte_uid_where_four_are_expected(tmp_path):
    r = _serve(tmp_path, "1k:" + UID7.hex())
    assert r.exit_code == 2
    assert "a 1k card has a 4-byte UID, got 7 bytes" in r.output
    r = _serve(tmp_path, "1k7:deadbeef")
    assert r.exit_code == 2 and "has a 7-byte UID, got 4 bytes" in r.output
    assert list(tmp_path.iterdir()) == []


def test_uid_length_guess_of_a_7_byte_dump():
    # block 0 of a 7-byte UID card has no BCC, but this one's byte 4 matches one by chance: the
    # loader used to take it for a 4-byte UID (the card then answered with the wrong UID and ATQA)
    assert ClassicCard.from_mfd(_dump(UID7)).uid == UID7
    assert ClassicCard.from_mfd(_dump(UID7, "4k")).atqa == 0x0042
    assert ClassicCard.from_mfd(_dump(UID)).uid == UID
    assert ClassicCard.from_mfd(_dump(bytes.fromhex("04112233445566"))).uid == bytes.fromhex("04112233445566")
