# micropython: yes
"""MIFARE Classic access conditions: the bit layout (bytes 6..8 of a trailer) and who may do what.

Facts: docs/chip-facts.md "Access bits" (MF1S50yyX Fig 10), "Access conditions" (Tables 7 and 8),
"Invalid access bits".

Representation
- One access *condition* is the 3-bit value C1C2C3 read as a binary number: ``C1<<2 | C2<<1 | C3``,
  so the datasheet's "110" is 6 and the transport trailer "001" is 1.
- The *conditions* of a sector are a tuple of 4 of them: (group 0, group 1, group 2, trailer).
  Groups 0..2 are data blocks 0..2 (in 4K sectors 32..39: blocks 0-4, 5-9, 10-14); group 3 is the trailer.

Everything the firmware needs (bit positions, permission tables, operation and key codes) is plain
data so that icpurse.protocol.codegen can export it; this module does not import construct and
compiles under MicroPython.
"""


class InvalidAccessBits(ValueError):
    """Access bytes that break the complement rule; a card would block the whole sector (MF1S50yyX
    §8.7.1)."""


class Key:
    """Key selectors, equal to the MIFARE AUTH command bytes."""

    A = 0x60
    B = 0x61


class KeyMask:
    """Allowed-key masks used in the permission tables."""

    NEVER = 0
    A = 1
    B = 2
    AB = 3


class Op:
    """Memory operations. Data-block ops index DATA_TABLE rows directly; trailer ops index
    TRAILER_TABLE rows at ``op - TRAILER_FIRST``. The two ranges do not overlap so that a trailer op
    asked of a data block (or the reverse) is an error, not a silent answer."""

    READ = 0
    WRITE = 1
    INCREMENT = 2
    DECREMENT = 3
    TRANSFER = 4
    RESTORE = 5
    READ_KEY_A = 6
    WRITE_KEY_A = 7
    READ_ACCESS = 8  # access bits and GPB (byte 9 has the same rights as bytes 6..8)
    WRITE_ACCESS = 9
    READ_KEY_B = 10
    WRITE_KEY_B = 11
    TRAILER_FIRST = 6
    DATA_OPS = (0, 1, 2, 3, 4, 5)
    TRAILER_OPS = (6, 7, 8, 9, 10, 11)


TRAILER_GROUP = 3

# For group g (0..3) and bit c (0 = C1, 1 = C2, 2 = C3):
#   ACCESS_BIT_POSITIONS[g][c] == ((byte, bit) of Cc_g, (byte, bit) of its inverted twin ~Cc_g)
# byte is 0..2 inside the 3 access bytes (trailer bytes 6..8), bit 0 = LSB. From MF1S50yyX Fig 10
# (docs/chip-facts.md "Access bits"):
#   byte 6: ~C2_3..~C2_0 | ~C1_3..~C1_0
#   byte 7:  C1_3.. C1_0 | ~C3_3..~C3_0
#   byte 8:  C3_3.. C3_0 |  C2_3.. C2_0
ACCESS_BIT_POSITIONS = (
    (((1, 4), (0, 0)), ((2, 0), (0, 4)), ((2, 4), (1, 0))),  # group 0
    (((1, 5), (0, 1)), ((2, 1), (0, 5)), ((2, 5), (1, 1))),  # group 1
    (((1, 6), (0, 2)), ((2, 2), (0, 6)), ((2, 6), (1, 2))),  # group 2
    (((1, 7), (0, 3)), ((2, 3), (0, 7)), ((2, 7), (1, 3))),  # group 3 (trailer)
)

_N = KeyMask.NEVER
_A = KeyMask.A
_B = KeyMask.B
_AB = KeyMask.AB

# Data blocks, MF1S50yyX Table 8. Row = condition C1C2C3 (0..7);
# columns = READ, WRITE, INCREMENT, DECREMENT, TRANSFER, RESTORE (the datasheet's last column
# "decrement, transfer, restore" is one column, repeated three times here).
# Nominal rights: the key-B-readable rule (footnote 1) is applied by data_allows().
DATA_TABLE = (
    (_AB, _AB, _AB, _AB, _AB, _AB),  # 000 transport configuration
    (_AB, _N, _N, _AB, _AB, _AB),  # 001 value block, non-rechargeable
    (_AB, _N, _N, _N, _N, _N),  # 010 read-only
    (_B, _B, _N, _N, _N, _N),  # 011
    (_AB, _B, _N, _N, _N, _N),  # 100
    (_B, _N, _N, _N, _N, _N),  # 101
    (_AB, _B, _B, _AB, _AB, _AB),  # 110 value block, rechargeable
    (_N, _N, _N, _N, _N, _N),  # 111 no access
)

# Sector trailer, MF1S50yyX Table 7. Row = condition C1C2C3 (0..7);
# columns = READ_KEY_A, WRITE_KEY_A, READ_ACCESS, WRITE_ACCESS, READ_KEY_B, WRITE_KEY_B.
TRAILER_TABLE = (
    (_N, _A, _A, _N, _A, _A),  # 000 key B readable
    (_N, _A, _A, _A, _A, _A),  # 001 key B readable, transport configuration
    (_N, _N, _A, _N, _A, _N),  # 010 key B readable
    (_N, _B, _AB, _B, _N, _B),  # 011
    (_N, _B, _AB, _N, _N, _B),  # 100
    (_N, _N, _AB, _B, _N, _N),  # 101
    (_N, _N, _AB, _N, _N, _N),  # 110
    (_N, _N, _AB, _N, _N, _N),  # 111
)


def _check_cond(cond, what):
    if not isinstance(cond, int) or isinstance(cond, bool) or not 0 <= cond <= 7:
        raise ValueError("%s must be an access condition C1C2C3 as an int 0..7 (e.g. 0b110), got %r"
                         % (what, cond))


def check_conds(conds):
    """Raise ValueError unless `conds` is 4 conditions (group 0, 1, 2, trailer); return them as a tuple."""
    try:
        n = len(conds)
    except TypeError:
        n = -1
    if n != 4:
        raise ValueError("access conditions must be 4 values (group 0, group 1, group 2, trailer), got %r"
                         % (conds,))
    for g in range(4):
        _check_cond(conds[g], "access condition of group %d" % g)
    return tuple(conds)


def _check_key(key):
    if key != Key.A and key != Key.B:
        raise ValueError("key must be Key.A (0x60) or Key.B (0x61), got %r" % (key,))
    return 1 << (key - Key.A)


def encode_access_bits(conds):
    """4 conditions -> the 3 access bytes (trailer bytes 6..8). Always a valid encoding."""
    conds = check_conds(conds)
    out = bytearray(3)
    for g in range(4):
        for c in range(3):
            true_pos, inv_pos = ACCESS_BIT_POSITIONS[g][c]
            bit = (conds[g] >> (2 - c)) & 1
            pos = true_pos if bit else inv_pos
            out[pos[0]] |= 1 << pos[1]
    return bytes(out)


def decode_access_bits(data):
    """The 3 access bytes -> (cond group 0, 1, 2, trailer); InvalidAccessBits on any format violation."""
    if len(data) != 3:
        raise InvalidAccessBits("access bits must be 3 bytes (trailer bytes 6..8), got %d" % len(data))
    conds = []
    for g in range(4):
        cond = 0
        for c in range(3):
            true_pos, inv_pos = ACCESS_BIT_POSITIONS[g][c]
            bit = (data[true_pos[0]] >> true_pos[1]) & 1
            inv = (data[inv_pos[0]] >> inv_pos[1]) & 1
            if bit == inv:
                raise InvalidAccessBits(
                    "invalid access bits %02X %02X %02X: C%d of %s is not the complement of its twin "
                    "(a card would block the sector)" % (
                        data[0], data[1], data[2], c + 1,
                        "the trailer" if g == TRAILER_GROUP else "block group %d" % g))
            cond = (cond << 1) | bit
        conds.append(cond)
    return tuple(conds)


def is_valid_access_bits(data):
    try:
        decode_access_bits(data)
    except InvalidAccessBits:
        return False
    return True


# Transport configuration: FF 07 80 (blocks 000, trailer 001).
TRANSPORT = decode_access_bits(b"\xff\x07\x80")


def cond_str(cond):
    """6 -> "110" (the datasheet's C1C2C3 notation)."""
    _check_cond(cond, "access condition")
    return "%d%d%d" % ((cond >> 2) & 1, (cond >> 1) & 1, cond & 1)


def parse_cond(text):
    """"110" -> 6."""
    if len(text) != 3 or any(ch not in "01" for ch in text):
        raise ValueError("access condition must be 3 binary digits C1C2C3 like '110', got %r" % (text,))
    return int(text, 2)


def key_b_readable(trailer_cond):
    """True if the trailer condition lets key B be read; then key B cannot authenticate (footnote 1)."""
    _check_cond(trailer_cond, "trailer access condition")
    return TRAILER_TABLE[trailer_cond][Op.READ_KEY_B - Op.TRAILER_FIRST] != KeyMask.NEVER


def trailer_allows(trailer_cond, op, key):
    """May `key` do trailer operation `op` under trailer condition `trailer_cond`?"""
    _check_cond(trailer_cond, "trailer access condition")
    bit = _check_key(key)
    if op not in Op.TRAILER_OPS:
        raise ValueError("operation %r is not a sector-trailer operation (Op.READ_KEY_A..Op.WRITE_KEY_B)" % (op,))
    if key == Key.B and key_b_readable(trailer_cond):
        return False
    return bool(TRAILER_TABLE[trailer_cond][op - Op.TRAILER_FIRST] & bit)


def data_allows(data_cond, trailer_cond, op, key):
    """May `key` do data operation `op` on a block with `data_cond` in a sector whose trailer has
    `trailer_cond`? A readable key B cannot serve for any memory access (footnote 1 of Table 8)."""
    _check_cond(data_cond, "data access condition")
    _check_cond(trailer_cond, "trailer access condition")
    bit = _check_key(key)
    if op not in Op.DATA_OPS:
        raise ValueError("operation %r is not a data-block operation (Op.READ..Op.RESTORE)" % (op,))
    if key == Key.B and key_b_readable(trailer_cond):
        return False
    return bool(DATA_TABLE[data_cond][op] & bit)


def allows(conds, group, op, key):
    """May `key` do `op` on access group `group` (0..2 data, 3 trailer) of a sector with `conds`?"""
    conds = check_conds(conds)
    if group == TRAILER_GROUP:
        return trailer_allows(conds[TRAILER_GROUP], op, key)
    if group not in (0, 1, 2):
        raise ValueError("access group must be 0, 1, 2 (data) or 3 (trailer), got %r" % (group,))
    return data_allows(conds[group], conds[TRAILER_GROUP], op, key)


_MASK_NAMES = ("never", "A", "B", "A|B")


def describe(cond, trailer=False):
    """Short description of the nominal rights of one condition (tables 7 / 8), for humans."""
    _check_cond(cond, "access condition")
    if not trailer:
        row = DATA_TABLE[cond]
        return "read %s, write %s, increment %s, decrement/transfer/restore %s" % (
            _MASK_NAMES[row[Op.READ]], _MASK_NAMES[row[Op.WRITE]],
            _MASK_NAMES[row[Op.INCREMENT]], _MASK_NAMES[row[Op.DECREMENT]])
    row = TRAILER_TABLE[cond]
    text = "key A read %s, write %s; access bits read %s, write %s; key B read %s, write %s" % tuple(
        _MASK_NAMES[m] for m in row)
    if key_b_readable(cond):
        text += " (key B readable, so it cannot authenticate)"
    return text
