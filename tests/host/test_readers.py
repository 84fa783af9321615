"""Reader selection and the in-process `sim` reader (persistent cards)."""
import pytest

from icpurse.firmware import purse
from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.hil.sim import factory
from icpurse.host.issuance.personalise import personalise
from icpurse.host.readers import NoReader, list_readers, open_reader, parse_spec

h = bytes.fromhex
RING = KeyRing([KeySet(1, h("11" * 16), h("33" * 16), sector_b=h("22" * 16))])


def test_spec_parsing_and_clear_errors(monkeypatch):
    monkeypatch.delenv("ICPURSE_READER", raising=False)
    assert parse_spec("pcsc") == ("pcsc", None)
    assert parse_spec("pcsc:ACS ACR122U") == ("pcsc", "ACS ACR122U")
    assert parse_spec("serial:/dev/ttyUSB0") == ("serial", "/dev/ttyUSB0")
    with pytest.raises(NoReader, match="no reader chosen"):
        parse_spec(None)
    with pytest.raises(NoReader, match="unknown reader"):
        parse_spec("usb")
    with pytest.raises(NoReader, match="needs a port"):
        parse_spec("serial")
    monkeypatch.setenv("ICPURSE_READER", "sim")
    assert parse_spec(None) == ("sim", None)
    with pytest.raises(NoReader, match="cannot open reader"):
        open_reader("serial:/dev/does-not-exist")


def test_sim_reader_keeps_its_card_between_runs(tmp_path):
    reader = open_reader("sim:%s" % tmp_path)
    tag = reader.wait_for_card(1)
    keys = RING.for_card(tag.uid, 1)
    personalise(tag, keys, factory.identity_fields(1), now=5)
    reader.close()
    again = open_reader("sim:%s" % tmp_path)
    tag = again.wait_for_card(1)
    access, k, v = purse.open_card(tag, RING)
    assert purse.read_card(access, k, v).balance == 0
    assert ("sim", "in-process virtual rig, a card hopper (no hardware)") in list_readers()
