"""Value blocks and block 0 (docs/card-layout.md, "MIFARE Classic block formats"): datasheet
examples, the MIFARE Classic Tool rule, and construct declarations of the two layouts written here
as independent oracles of icpurse.protocol.mifare.blocks (plain Python, MicroPython-safe)."""
import construct as c
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpurse.protocol.mifare.blocks import (
    InvalidManufacturerBlock,
    InvalidValueBlock,
    bcc,
    value_block_into,
    put_value,
    value_address,
    value_of,
    build_manufacturer_block,
    decode_value_block,
    encode_value_block,
    is_value_block,
    parse_manufacturer_block,
    uid_length,
)
from icpurse.protocol.pn532 import Target

H = bytes.fromhex

VECTORS = [
    # datasheet example
    (1234567, 17, "87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE"),
    # ACR122 examples: 100 @ block 5, and after INCREMENT 1 + TRANSFER
    (100, 5, "64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA"),
    (101, 5, "65 00 00 00 9A FF FF FF 65 00 00 00 05 FA 05 FA"),
    (0, 4, "00 00 00 00 FF FF FF FF 00 00 00 00 04 FB 04 FB"),
    (-1, 4, "FF FF FF FF 00 00 00 00 FF FF FF FF 04 FB 04 FB"),
]


@pytest.mark.parametrize("value, addr, hexdata", VECTORS)
def test_vectors(value, addr, hexdata):
    assert encode_value_block(value, addr) == H(hexdata)
    assert decode_value_block(H(hexdata)) == (value, addr)
    assert is_value_block(H(hexdata))


def test_extremes():
    assert encode_value_block(0x7FFFFFFF, 0) == H("FF FF FF 7F 00 00 00 80 FF FF FF 7F 00 FF 00 FF")
    assert encode_value_block(-0x80000000, 255) == H("00 00 00 80 FF FF FF 7F 00 00 00 80 FF 00 FF 00")
    assert decode_value_block(H("00 00 00 80 FF FF FF 7F 00 00 00 80 FF 00 FF 00")) == (-0x80000000, 255)


@pytest.mark.parametrize("value", [1 << 31, -(1 << 31) - 1, 1 << 40])
def test_out_of_range_value_refused(value):
    with pytest.raises(ValueError, match="signed 32-bit"):
        encode_value_block(value, 1)


@pytest.mark.parametrize("addr", [-1, 256])
def test_out_of_range_addr_refused(addr):
    with pytest.raises(ValueError, match="address"):
        encode_value_block(1, addr)


@pytest.mark.parametrize("value", [1.0, "1", True])
def test_non_int_value_refused(value):
    with pytest.raises(ValueError, match="must be an int"):
        encode_value_block(value, 1)


GOOD = H("87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE")


@pytest.mark.parametrize("index", range(16))
def test_any_single_byte_change_breaks_the_format(index):
    bad = bytearray(GOOD)
    bad[index] ^= 0x01
    assert not is_value_block(bytes(bad))
    with pytest.raises(InvalidValueBlock, match="not a value block"):
        decode_value_block(bytes(bad))


def test_zero_block_and_wrong_length_are_not_value_blocks():
    assert not is_value_block(bytes(16))
    with pytest.raises(InvalidValueBlock, match="16 bytes"):
        decode_value_block(GOOD[:15])
    assert issubclass(InvalidValueBlock, ValueError)


@given(st.integers(-(1 << 31), (1 << 31) - 1), st.integers(0, 255))
def test_round_trip(value, addr):
    data = encode_value_block(value, addr)
    assert len(data) == 16
    assert decode_value_block(data) == (value, addr)
    # LSB-first signed value in bytes 0..3 (independent of the code under test)
    assert data[0:4] == (value & 0xFFFFFFFF).to_bytes(4, "little")


def _mct_is_value_block(b):
    # MCT isValueBlock, as written in docs/chip-facts.md "Value blocks"
    return (b[0:4] == b[8:12] and bytes(x ^ 0xFF for x in b[0:4]) == b[4:8]
            and b[12] == b[14] and b[13] == b[15] and b[13] == b[12] ^ 0xFF)


@given(st.binary(min_size=16, max_size=16))
def test_is_value_block_matches_mct_rule(data):
    assert is_value_block(data) == _mct_is_value_block(data)


@given(st.binary(min_size=12, max_size=12))
def test_is_value_block_matches_mct_rule_near_valid(prefix):
    # random bytes almost never pass: build candidates with a valid value part, random address part
    value = prefix[0:4] + bytes(x ^ 0xFF for x in prefix[0:4]) + prefix[0:4]
    for tail in (prefix[4:8], bytes([prefix[4], prefix[4] ^ 0xFF] * 2)):
        data = value + tail
        assert is_value_block(data) == _mct_is_value_block(data)


# --- block 0 ---


def test_bcc():
    assert bcc(H("DEADBEEF")) == 0x22
    assert bcc(H("9EB36E66")) == 0x25
    assert bcc(H("3E39AB7F")) == 0xD3
    with pytest.raises(ValueError, match="4-byte UID"):
        bcc(H("01020304050607"))


def test_build_manufacturer_block_4_byte_uid():
    block = build_manufacturer_block(H("9EB36E66"), manufacturer=H("6263646566676869"))
    assert block == H("9EB36E66 25 08 0400 6263646566676869")


def test_parse_real_dump_block0():
    # Adafruit dump: 3E39AB7F D3 88 0400 ... (byte 5 is not always the SAK)
    data = H("3E39AB7F D3 88 0400 4700 0000 0000 0000")
    blk = parse_manufacturer_block(data)
    assert (blk.uid, blk.bcc, blk.sak, blk.atqa) == (H("3E39AB7F"), 0xD3, 0x88, H("0400"))
    assert build_manufacturer_block(blk.uid, blk.sak, blk.atqa, blk.manufacturer) == data


def test_bad_bcc_refused():
    data = bytearray(build_manufacturer_block(H("DEADBEEF")))
    data[4] ^= 0xFF
    with pytest.raises(InvalidManufacturerBlock, match="BCC"):
        parse_manufacturer_block(bytes(data))


def test_7_byte_uid():
    uid = H("04112233445566")
    block = build_manufacturer_block(uid, sak=0x08, atqa=H("4400"))
    assert block == uid + H("08 4400") + bytes(6)
    blk = parse_manufacturer_block(block, uid_len=7)
    assert (blk.uid, blk.sak, blk.atqa) == (uid, 0x08, H("4400"))


def _on_air(atqa):
    """ATQA as the PN532 reports it (first byte on air in the high byte) -> the 2 bytes on air."""
    return bytes((atqa & 0xFF, atqa >> 8))


CLASSIC_ANSWERS = [  # (SAK, ATQA after a 4-byte UID, ATQA after a 7-byte UID): the PN532 constants
    (Target.SAK_CLASSIC_1K, Target.ATQA_1K_4B, Target.ATQA_1K_7B),
    (Target.SAK_CLASSIC_4K, Target.ATQA_4K_4B, Target.ATQA_4K_7B),
]


@pytest.mark.parametrize("sak,atqa4,atqa7", CLASSIC_ANSWERS)
def test_uid_length_of_genuine_blocks(sak, atqa4, atqa7):
    assert uid_length(build_manufacturer_block(H("DEADBEEF"), sak, _on_air(atqa4))) == 4
    assert uid_length(build_manufacturer_block(H("04112233445566"), sak, _on_air(atqa7))) == 7


@pytest.mark.parametrize("sak,atqa4,atqa7", CLASSIC_ANSWERS)
def test_uid_length_when_a_7_byte_uid_carries_a_bcc_by_chance(sak, atqa4, atqa7):
    uid = H("01020304") + bytes((bcc(H("01020304")),)) + H("5566")  # byte 4 is the BCC of bytes 0..3
    assert uid_length(build_manufacturer_block(uid, sak, _on_air(atqa7))) == 7


def test_uid_length_of_a_real_4_byte_dump_with_odd_bytes_after_the_bcc():
    # the Adafruit dump above: byte 5 is not a SAK, yet the BCC says 4 bytes
    assert uid_length(H("3E39AB7F D3 88 0400 4700 0000 0000 0000")) == 4
    # and a list of ints with unknown bytes past byte 9 (a partial dump's block 0)
    assert uid_length(list(H("DEADBEEF 22 08 0400 0000")) + [None] * 6) == 4


@pytest.mark.parametrize("uid", [b"", H("010203"), H("0102030405")])
def test_bad_uid_length(uid):
    with pytest.raises(ValueError, match="4 or 7 bytes"):
        build_manufacturer_block(uid)


def test_bad_manufacturer_length():
    with pytest.raises(ValueError, match="8 bytes"):
        build_manufacturer_block(H("DEADBEEF"), manufacturer=bytes(7))


# --- construct oracles: the layouts declared once more, the construct way -------------------------

ValueBlock = c.Struct("value" / c.Int32sl, "value_inv" / c.Int32ul, "value_copy" / c.Int32sl,
                      "addr" / c.Int8ul, "addr_inv" / c.Int8ul, "addr_copy" / c.Int8ul, "addr_inv_copy" / c.Int8ul)
ManufacturerBlock4 = c.Struct("uid" / c.Bytes(4), "bcc" / c.Int8ul, "sak" / c.Int8ul, "atqa" / c.Bytes(2),
                              "manufacturer" / c.Bytes(8))
ManufacturerBlock7 = c.Struct("uid" / c.Bytes(7), "sak" / c.Int8ul, "atqa" / c.Bytes(2), "manufacturer" / c.Bytes(6))


@given(st.integers(-(1 << 31), (1 << 31) - 1), st.integers(0, 255))
def test_value_block_equals_construct(value, addr):
    built = ValueBlock.build(dict(value=value, value_inv=~value & 0xFFFFFFFF, value_copy=value,
                                  addr=addr, addr_inv=addr ^ 0xFF, addr_copy=addr, addr_inv_copy=addr ^ 0xFF))
    assert encode_value_block(value, addr) == built
    assert decode_value_block(built) == (value, addr)
    assert value_of(bytearray(built)) == value and value_address(memoryview(built)) == addr


@given(st.binary(min_size=4, max_size=4), st.integers(0, 255), st.binary(min_size=2, max_size=2),
       st.binary(min_size=8, max_size=8))
def test_manufacturer_block_4_equals_construct(uid, sak, atqa, maker):
    built = ManufacturerBlock4.build(dict(uid=uid, bcc=uid[0] ^ uid[1] ^ uid[2] ^ uid[3], sak=sak, atqa=atqa,
                                          manufacturer=maker))
    assert build_manufacturer_block(uid, sak, atqa, maker) == built
    parsed = ManufacturerBlock4.parse(built)
    assert tuple(parse_manufacturer_block(built)) == (parsed.uid, parsed.bcc, parsed.sak, parsed.atqa,
                                                       parsed.manufacturer)


@given(st.binary(min_size=7, max_size=7), st.integers(0, 255), st.binary(min_size=2, max_size=2),
       st.binary(min_size=6, max_size=6))
def test_manufacturer_block_7_equals_construct(uid, sak, atqa, maker):
    built = ManufacturerBlock7.build(dict(uid=uid, sak=sak, atqa=atqa, manufacturer=maker))
    assert build_manufacturer_block(uid, sak, atqa, maker) == built
    assert tuple(parse_manufacturer_block(built, 7)) == (uid, None, sak, atqa, maker)


def test_put_value_keeps_the_address_bytes():
    """What a TRANSFER writes: value, ~value, value; bytes 12..15 stay (even if not an address)."""
    buf = bytearray(H("00" * 12 + "DE AD BE EF"))
    assert put_value(buf, 100) is buf
    assert buf == H("64 00 00 00 9B FF FF FF 64 00 00 00 DE AD BE EF")


def test_value_block_into_a_larger_buffer():
    buf = bytearray(b"\xaa" * 20)
    value_block_into(memoryview(buf)[2:18], 100, 5)
    assert buf == b"\xaa\xaa" + H("64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA") + b"\xaa\xaa"
