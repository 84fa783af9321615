"""Checks of protocol/mifare/access.py and geometry.py that run under real MicroPython
and CPython (a dual-run file: tests/test_micropython.py runs it under MicroPython). No pytest here."""
from icpurse.protocol.mifare import access as a
from icpurse.protocol.mifare import geometry as g

# docs/chip-facts.md "Access bits" decoded examples: bytes 6..8 -> conditions (C1C2C3 as ints)
TABLE = (
    (b"\xff\x07\x80", (0, 0, 0, 1)),
    (b"\x78\x77\x88", (4, 4, 4, 3)),
    (b"\x7f\x07\x88", (0, 0, 0, 3)),
    (b"\x08\x77\x8f", (6, 6, 6, 3)),
    (b"\x17\x80\xfe", (1, 3, 3, 7)),
    (b"\x68\x77\x89", (6, 4, 4, 3)),
)


def test_access_bits_table():
    for data, conds in TABLE:
        assert a.decode_access_bits(data) == conds, data
        assert a.encode_access_bits(conds) == data, conds
        assert a.decode_access_bits(bytearray(data)) == conds
    assert a.TRANSPORT == (0, 0, 0, 1)


def test_invalid_access_bits():
    for data in (b"\x00\x00\x00", b"\xff\xff\xff", b"\xbb\xbb\xcc", b"\xff\x07"):
        try:
            a.decode_access_bits(data)
        except a.InvalidAccessBits:
            continue
        raise AssertionError("accepted %r" % data)
    assert issubclass(a.InvalidAccessBits, ValueError)


def test_round_trip_sample():
    for c in range(8):
        for t in range(8):
            conds = (c, 7 - c, c ^ 5, t)
            assert a.decode_access_bits(a.encode_access_bits(conds)) == conds


def test_permissions():
    # icpurse value sector: balance 110, trailer 011 (docs/card-layout.md)
    assert a.data_allows(6, 3, a.Op.DECREMENT, a.Key.A)
    assert not a.data_allows(6, 3, a.Op.INCREMENT, a.Key.A)
    assert a.data_allows(6, 3, a.Op.INCREMENT, a.Key.B)
    # transport trailer 001: key B is readable, so it serves for nothing
    assert not a.data_allows(0, 1, a.Op.READ, a.Key.B)
    assert a.data_allows(0, 1, a.Op.READ, a.Key.A)
    assert a.allows((6, 6, 4, 3), 3, a.Op.WRITE_KEY_B, a.Key.B)
    assert not a.allows((6, 6, 4, 3), 3, a.Op.READ_KEY_B, a.Key.B)
    assert a.describe(6) == "read A|B, write B, increment B, decrement/transfer/restore A|B"
    assert a.cond_str(6) == "110" and a.parse_cond("011") == 3


def test_geometry():
    assert g.trailer_block(15) == 63 and g.trailer_block(39) == 255
    assert g.first_block(32) == 128 and g.blocks_in_sector(32) == 16
    assert g.access_group(140) == 2 and g.access_group(143) == 3 and g.access_group(9) == 1
    assert g.sector_of_block(200) == 36
    assert g.is_trailer(7) and not g.is_trailer(8)
    try:
        g.sector_of_block(64, g.CLASSIC_1K)
    except ValueError as e:
        assert "0..63" in str(e)
    else:
        raise AssertionError("block 64 accepted on a 1K card")
