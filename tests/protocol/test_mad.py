"""MIFARE Application Directory (NXP AN10787; docs/chip-facts.md "MAD")."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpurse.protocol.mifare import mad
from icpurse.protocol.mifare.mad import InvalidMad, build_mad1, build_mad2, crc8_mad, parse_mad1, parse_mad2

H = bytes.fromhex

# AN10787 example as stored in sector 0 blocks 1 and 2
AN10787_BLOCKS = (H("89 01 01 08 01 08 01 08 00 00 00 00 00 00 04 00")
                  + H("03 10 03 10 02 10 02 10 00 00 00 00 00 00 11 30"))
AN10787_AIDS = (0x0801, 0x0801, 0x0801, 0, 0, 0, 0x0004, 0x1003, 0x1003, 0x1002, 0x1002, 0, 0, 0, 0x3011)
# Adafruit NDEF-formatted 1K: every sector NFC Forum AID E1 03, stored 03 E1
ADAFRUIT_BLOCKS = H("14 01" + " 03 E1" * 7) + H("03 E1" * 8)
# libfreefare real example: five NFC Forum sectors, rest free
LIBFREEFARE_BLOCKS = H("C4 01" + " 03 E1" * 5 + " 00 00" * 2) + bytes(16)


def test_crc_check_value():
    assert crc8_mad(b"123456789") == 0x99


@pytest.mark.parametrize("blocks, crc", [(AN10787_BLOCKS, 0x89), (LIBFREEFARE_BLOCKS, 0xC4), (ADAFRUIT_BLOCKS, 0x14)])
def test_crc_vectors(blocks, crc):
    # CRC covers info byte + AIDs in storage order: everything after the CRC byte
    assert crc8_mad(blocks[1:]) == crc
    assert blocks[0] == crc


def test_an10787_example():
    assert parse_mad1(AN10787_BLOCKS) == (0x01, AN10787_AIDS)
    assert build_mad1(0x01, AN10787_AIDS) == AN10787_BLOCKS


def test_adafruit_and_libfreefare_examples():
    assert parse_mad1(ADAFRUIT_BLOCKS) == (0x01, (0xE103,) * 15)
    assert build_mad1(0x01, [0xE103] * 15) == ADAFRUIT_BLOCKS
    assert build_mad1(0x01, [0xE103] * 5 + [mad.FREE] * 10) == LIBFREEFARE_BLOCKS


def test_aid_representation():
    assert mad.aid(0xE1, 0x03) == 0xE103
    assert mad.function_cluster(0xE103) == 0xE1 and mad.application_code(0xE103) == 0x03
    # stored application code first: E1 03 -> 03 E1
    assert build_mad1(1, [mad.aid(0xE1, 0x03)] + [0] * 14)[2:4] == H("03 E1")
    with pytest.raises(ValueError):
        mad.aid(0x100, 0)


def test_admin_aids_and_constants():
    assert (mad.FREE, mad.DEFECT, mad.RESERVED, mad.ADDITIONAL_INFO, mad.CARDHOLDER, mad.NOT_APPLICABLE) == (
        0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0005)
    assert mad.MAD_KEY_A == H("A0 A1 A2 A3 A4 A5")


def test_gpb():
    assert mad.gpb(1) == 0xC1
    assert mad.gpb(2) == 0xC2
    assert mad.gpb(1, multi_application=False) == 0x81
    with pytest.raises(ValueError):
        mad.gpb(3)


@pytest.mark.parametrize("index", range(32))
def test_crc_mismatch(index):
    bad = bytearray(AN10787_BLOCKS)
    bad[index] ^= 0x10
    with pytest.raises(InvalidMad, match="CRC mismatch"):
        parse_mad1(bytes(bad))


def test_wrong_sizes():
    with pytest.raises(InvalidMad, match="32 bytes"):
        parse_mad1(AN10787_BLOCKS[:16])
    with pytest.raises(ValueError, match="15 AIDs"):
        build_mad1(1, [0] * 14)
    with pytest.raises(ValueError, match="23 AIDs"):
        build_mad2(1, [0] * 15)
    with pytest.raises(ValueError, match="16-bit"):
        build_mad1(1, [0x10000] + [0] * 14)
    with pytest.raises(ValueError, match="pointer"):
        build_mad1(0x10, [0] * 15)


def test_mad2_layout():
    aids = [0xE103] + [mad.FREE] * 21 + [0x1234]
    data = build_mad2(0x11, aids)
    assert len(data) == 48
    assert data[1] == 0x11
    assert data[2:4] == H("03 E1") and data[46:48] == H("34 12")
    assert data[0] == crc8_mad(data[1:])
    assert parse_mad2(data) == (0x11, tuple(aids))


@given(st.integers(0, 0x27), st.lists(st.integers(0, 0xFFFF), min_size=23, max_size=23))
def test_mad2_round_trip(info, aids):
    data = build_mad2(info, aids)
    assert parse_mad2(data) == (info, tuple(aids))
    bad = bytearray(data)
    bad[0] ^= 0xFF
    with pytest.raises(InvalidMad):
        parse_mad2(bytes(bad))


@given(st.integers(0, 0x0F), st.lists(st.integers(0, 0xFFFF), min_size=15, max_size=15))
def test_mad1_round_trip(info, aids):
    assert parse_mad1(build_mad1(info, aids)) == (info, tuple(aids))


def test_sectors_with_aid():
    assert mad.sectors_with_aid(AN10787_AIDS, 0x1003) == [8, 9]
    assert mad.sectors_with_aid([0] * 22 + [0xE103], 0xE103, first_sector=17) == [39]
