"""Sector trailer (docs/chip-facts.md: "MIFARE commands in InDataExchange" capture,
"Sector trailer", "Access bits", "MAD")."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpurse.protocol.mifare.access import InvalidAccessBits
from icpurse.protocol.mifare.trailer import SectorTrailer, SectorTrailerRaw, build_trailer, parse_trailer

H = bytes.fromhex
FF6 = b"\xff" * 6


def test_transport_trailer_as_delivered():
    assert build_trailer(FF6, (0, 0, 0, 1), FF6) == H("FFFFFFFFFFFF FF0780 69 FFFFFFFFFFFF")


def test_parse_real_read_of_transport_trailer():
    # PN532 read of block 7 in transport configuration: key A reads as zeros, key B readable
    t = parse_trailer(H("000000000000 FF0780 69 FFFFFFFFFFFF"))
    assert t.key_a == bytes(6)
    assert t.conds == (0b000, 0b000, 0b000, 0b001)
    assert t.gpb == 0x69
    assert t.key_b == FF6
    assert set(t) == {"key_a", "conds", "gpb", "key_b"}


def test_mad_and_ndef_trailers():
    key_b = H("0102030405 06")
    assert build_trailer(H("A0A1A2A3A4A5"), (4, 4, 4, 3), key_b, gpb=0xC1) == H("A0A1A2A3A4A5 787788 C1") + key_b
    assert build_trailer(H("D3F7D3F7D3F7"), (0, 0, 0, 3), key_b, gpb=0x40) == H("D3F7D3F7D3F7 7F0788 40") + key_b


@pytest.mark.parametrize("access", ["000000", "FFFFFF", "BBBBCC"])
def test_parse_refuses_invalid_access_bits(access):
    with pytest.raises(InvalidAccessBits):
        parse_trailer(H("FFFFFFFFFFFF" + access + "69 FFFFFFFFFFFF"))
    with pytest.raises(InvalidAccessBits):
        SectorTrailer.parse(H("FFFFFFFFFFFF" + access + "69 FFFFFFFFFFFF"))


@pytest.mark.parametrize("conds", [(0, 0, 0), (0, 0, 0, 8), (-1, 0, 0, 0), H("FF0780"), "0001", None])
def test_cannot_build_invalid_access_bits(conds):
    with pytest.raises(ValueError):
        build_trailer(FF6, conds, FF6)
    with pytest.raises(ValueError):
        SectorTrailer.build(dict(key_a=FF6, conds=conds, gpb=0x69, key_b=FF6))


@pytest.mark.parametrize("key_a, key_b, gpb", [(FF6[:5], FF6, 0x69), (FF6, FF6 + b"\x00", 0x69), (FF6, FF6, 256),
                                                (FF6, FF6, -1), ("FFFFFFFFFFFF", FF6, 0x69)])
def test_bad_keys_or_gpb(key_a, key_b, gpb):
    with pytest.raises(ValueError):
        build_trailer(key_a, (0, 0, 0, 1), key_b, gpb)


def test_wrong_length():
    with pytest.raises(ValueError, match="16 bytes"):
        parse_trailer(H("FFFFFFFFFFFF FF0780 69 FFFFFFFFFF"))


@given(st.binary(min_size=6, max_size=6), st.tuples(*[st.integers(0, 7)] * 4),
       st.binary(min_size=6, max_size=6), st.integers(0, 255))
def test_round_trip(key_a, conds, key_b, gpb):
    data = build_trailer(key_a, conds, key_b, gpb)
    assert len(data) == 16
    assert data[:6] == key_a and data[9] == gpb and data[10:] == key_b
    t = parse_trailer(data)
    assert (t.key_a, t.conds, t.gpb, t.key_b) == (key_a, conds, gpb, key_b)
    raw = SectorTrailerRaw.parse(data)
    assert SectorTrailerRaw.build(raw) == data
