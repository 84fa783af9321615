"""Access bits encoding (docs/chip-facts.md "Access bits", "Invalid access bits")."""
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpurse.protocol.mifare.access import (
    ACCESS_BIT_POSITIONS,
    TRANSPORT,
    InvalidAccessBits,
    cond_str,
    decode_access_bits,
    encode_access_bits,
    is_valid_access_bits,
    parse_cond,
)

H = bytes.fromhex

# docs/chip-facts.md "Access bits" decoded examples: bytes 6..8 -> C1C2C3 of block 0, 1, 2, trailer
# (written as the datasheet does)
TABLE = [
    ("FF 07 80", ("000", "000", "000", "001")),  # transport configuration
    ("78 77 88", ("100", "100", "100", "011")),  # MAD sector 0
    ("7F 07 88", ("000", "000", "000", "011")),  # NFC Forum NDEF sectors
    ("08 77 8F", ("110", "110", "110", "011")),  # value blocks
    ("17 80 FE", ("001", "011", "011", "111")),
    ("68 77 89", ("110", "100", "100", "011")),
    ("79 67 88", ("000", "100", "100", "011")),  # libfreefare mad_write (docs/chip-facts.md "MAD")
]


def _conds(strs):
    return tuple(int(s, 2) for s in strs)


@pytest.mark.parametrize("hexbytes, strs", TABLE)
def test_decode_table(hexbytes, strs):
    assert decode_access_bits(H(hexbytes)) == _conds(strs)


@pytest.mark.parametrize("hexbytes, strs", TABLE)
def test_encode_table(hexbytes, strs):
    assert encode_access_bits(_conds(strs)) == H(hexbytes)


def test_transport_constant():
    assert TRANSPORT == (0, 0, 0, 1)


def test_condition_numbering():
    # "110" == 6, transport trailer "001" == 1
    assert parse_cond("110") == 6 and parse_cond("001") == 1
    assert cond_str(6) == "110" and cond_str(1) == "001"
    with pytest.raises(ValueError):
        parse_cond("2")


@pytest.mark.parametrize("hexbytes", ["00 00 00", "FF FF FF", "BB BB CC", "FF 07 81", "FF 07"])
def test_invalid(hexbytes):
    assert not is_valid_access_bits(H(hexbytes))
    with pytest.raises(InvalidAccessBits):
        decode_access_bits(H(hexbytes))


def test_invalid_is_value_error_with_message():
    with pytest.raises(ValueError, match="not the complement"):
        decode_access_bits(H("00 00 00"))


def test_exhaustive_round_trip():
    seen = set()
    for conds in itertools.product(range(8), repeat=4):
        data = encode_access_bits(conds)
        assert decode_access_bits(data) == conds
        seen.add(data)
    assert len(seen) == 8 ** 4


@given(st.tuples(*[st.integers(0, 7)] * 4))
def test_round_trip(conds):
    assert decode_access_bits(encode_access_bits(conds)) == conds
    assert decode_access_bits(bytearray(encode_access_bits(conds))) == conds


def _nibble_rules(b):
    # Validity as stated in docs/chip-facts.md "Access bits" (proxmark mfValidateAccessConditions)
    b6, b7, b8 = b
    return ((b6 & 0x0F) == (~b7 >> 4) & 0x0F and (b6 >> 4) == (~b8 & 0x0F)
            and (b7 & 0x0F) == (~b8 >> 4) & 0x0F)


@given(st.binary(min_size=3, max_size=3))
def test_validity_matches_nibble_rules(data):
    assert is_valid_access_bits(data) == _nibble_rules(data)


def test_positions_table_is_fig10():
    # Independent statement of Fig 10: byte 7 high nibble is C1_3..C1_0, byte 8 = C3 | C2, byte 6 = ~C2 | ~C1
    def where(byte, bit):
        return [(g, c, kind) for g in range(4) for c in range(3) for kind in (0, 1)
                if ACCESS_BIT_POSITIONS[g][c][kind] == (byte, bit)]

    for g in range(4):
        assert where(0, g) == [(g, 0, 1)]  # ~C1_g
        assert where(0, 4 + g) == [(g, 1, 1)]  # ~C2_g
        assert where(1, g) == [(g, 2, 1)]  # ~C3_g
        assert where(1, 4 + g) == [(g, 0, 0)]  # C1_g
        assert where(2, g) == [(g, 1, 0)]  # C2_g
        assert where(2, 4 + g) == [(g, 2, 0)]  # C3_g


def test_single_bit_per_group():
    # C1 of the trailer alone (trailer 100, data 000): C1_3 set (byte 7 bit 7), ~C1_3 cleared (byte 6 bit 3)
    assert encode_access_bits((0, 0, 0, 4)) == H("F7 8F 00")
    # C3 of block 0 alone: C3_0 set (byte 8 bit 4), ~C3_0 cleared (byte 7 bit 0)
    assert encode_access_bits((1, 0, 0, 0)) == H("FF 0E 10")


@pytest.mark.parametrize("conds", [(0, 0, 0), (0, 0, 0, 0, 0), (0, 0, 0, 8), (-1, 0, 0, 0), (0, 0, 0, True), None])
def test_encode_refuses_bad_conditions(conds):
    with pytest.raises(ValueError):
        encode_access_bits(conds)
