# micropython: yes
"""MIFARE Classic byte rules with one home: the value block, the BCC and the manufacturer block.

The firmware's MIFARE layer (firmware/mifare.py), the purse, the simulated card (hil/sim/card.py),
its PC/SC persona and the host tools all build and check these 16-byte blocks here. Plain Python
without construct, so it runs on the reader (MicroPython) as well; docs/card-layout.md
("MIFARE Classic block formats") states the rules, tests/protocol/test_value_block.py checks them
against construct declarations and datasheet examples.

Value block (NXP MF1S50yyX §8.6.2.1; MIFARE Classic Tool `isValueBlock`):

    bytes 0..3   value          signed 32-bit, LSB first
    bytes 4..7   ~value         bitwise complement of bytes 0..3
    bytes 8..11  value          copy of bytes 0..3
    bytes 12..15 addr, ~addr, addr, ~addr    a free byte the card carries along (we store the block
                                             number)

Manufacturer block (block 0): the UID; for a 4-byte UID its BCC (UID0 ^ UID1 ^ UID2 ^ UID3) as
byte 4; then SAK and ATQA (on-air order, LSB first) as NXP cards carry them, then manufacturer data.
Bytes after the UID and BCC are not normative; a 7-byte UID has no BCC in block 0. So a dump does
not say its UID length; `uid_length` reads it from block 0 as libnfc and MIFARE Classic Tool do.
"""
from struct import pack_into, unpack_from

from icpurse.protocol.mifare.geometry import BLOCK_SIZE

try:
    from collections import namedtuple
except ImportError:  # a MicroPython build without the collections module
    from ucollections import namedtuple

VALUE_MIN = -(1 << 31)
VALUE_MAX = (1 << 31) - 1


class InvalidValueBlock(ValueError):
    """16 bytes that are not in value-block format (the card would NAK INC/DEC/RESTORE)."""


class InvalidManufacturerBlock(ValueError):
    """Block 0 whose BCC does not match its UID, or of the wrong size."""


def _check_int(value, what):
    # bool is an int subclass: a value of True is a caller bug, not 1
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("%s must be an int, got %r" % (what, value))


# --- value block ---------------------------------------------------------------------------------

def put_value(buf, value):
    """Bytes 0..11 of the value block in `buf`: value, ~value, value. The address bytes 12..15 are
    left as they are (what the card's TRANSFER does). Allocates nothing; returns `buf`."""
    _check_int(value, "value")
    if not VALUE_MIN <= value <= VALUE_MAX:
        raise ValueError("value %d does not fit a value block (signed 32-bit: %d..%d)" % (value, VALUE_MIN, VALUE_MAX))
    pack_into("<i", buf, 0, value)
    for i in range(4):
        buf[i + 8] = buf[i]
        buf[i + 4] = buf[i] ^ 0xFF
    return buf


def value_block_into(buf, value, addr):
    """The whole value block holding `value` (signed 32-bit) with address byte `addr` (0..255),
    written into the first 16 bytes of `buf`; returns `buf`."""
    _check_int(addr, "value block address")
    if not 0 <= addr <= 0xFF:
        raise ValueError("value block address %d out of range 0..255" % addr)
    put_value(buf, value)
    buf[12] = buf[14] = addr
    buf[13] = buf[15] = addr ^ 0xFF
    return buf


def encode_value_block(value, addr):
    """Value block holding `value` (signed 32-bit) with address byte `addr` (0..255)."""
    return bytes(value_block_into(bytearray(BLOCK_SIZE), value, addr))


def _fault(data):
    """Why `data` is not a value block, or None if it is one."""
    if len(data) != BLOCK_SIZE:
        return "a block is %d bytes, got %d" % (BLOCK_SIZE, len(data))
    for i in range(4):
        if data[i] != data[i + 8]:
            return "not a value block: the two value copies differ"
        if data[i] ^ 0xFF != data[i + 4]:
            return "not a value block: the inverted value is not the complement of the value"
    if data[12] != data[14] or data[13] != data[15]:
        return "not a value block: the address byte copies differ"
    if data[12] ^ 0xFF != data[13]:
        return "not a value block: the inverted address is not the complement of 0x%02X" % data[12]
    return None


def is_value_block(data):
    """True iff the 16 bytes are in value-block format (MCT isValueBlock). Allocates nothing."""
    return _fault(data) is None


def value_of(data):
    """The value a value block holds; InvalidValueBlock if `data` is not one."""
    if len(data) == BLOCK_SIZE:
        v, inv, v2, a = unpack_from("<iiiI", data, 0)  # one C call checks the common case
        # address bytes adr ~adr adr ~adr: the two halves equal, the second byte the first's complement
        if v == v2 and inv == ~v and a & 0xFFFF == a >> 16 and (a ^ (a >> 8)) & 0xFF == 0xFF:
            return v
    raise InvalidValueBlock(_fault(data) or "not a value block")


def value_address(data):
    """The address byte of a value block; InvalidValueBlock if `data` is not one."""
    fault = _fault(data)
    if fault is not None:
        raise InvalidValueBlock(fault)
    return data[12]


def decode_value_block(data):
    """16 bytes -> (value, addr); InvalidValueBlock unless it is in value-block format."""
    return value_of(data), data[12]


# --- BCC and the manufacturer block --------------------------------------------------------------

def bcc(uid4):
    """Block check character of a 4-byte UID: UID0 ^ UID1 ^ UID2 ^ UID3."""
    if len(uid4) != 4:
        raise ValueError("BCC is defined for a 4-byte UID, got %d bytes" % len(uid4))
    return uid4[0] ^ uid4[1] ^ uid4[2] ^ uid4[3]


# SAK and ATQA (on-air order) of a genuine MIFARE Classic 1K / 4K (MF1S50yyX, MF1S70yyX), as block 0
# carries them right after a 4-byte UID + BCC, or after a 7-byte UID
_CLASSIC_AFTER_4 = ((0x08, b"\x04\x00"), (0x18, b"\x02\x00"))
_CLASSIC_AFTER_7 = ((0x08, b"\x44\x00"), (0x18, b"\x42\x00"))


def uid_length(block0):
    """The UID length (4 or 7) block 0 holds: 4 when byte 4 is the BCC of bytes 0..3, else 7. One
    7-byte UID in 256 carries that "BCC" by chance: then the SAK and ATQA after the UID decide, if
    they read as a genuine Classic's only in the 7-byte position. Reads bytes 0..9 only (a dump
    with unknown bytes further on is fine); allocates nothing but two small slices."""
    if block0[4] != bcc(block0[0:4]):
        return 7
    after4 = (block0[5], bytes(block0[6:8]))
    after7 = (block0[7], bytes(block0[8:10]))
    return 7 if after4 not in _CLASSIC_AFTER_4 and after7 in _CLASSIC_AFTER_7 else 4


# uid, bcc (None for a 7-byte UID), sak, atqa (2 bytes, on-air order), manufacturer data
ManufacturerBlock = namedtuple("ManufacturerBlock", ("uid", "bcc", "sak", "atqa", "manufacturer"))


def _uid_part(uid_len):
    """Bytes that UID and BCC take in block 0."""
    if uid_len == 4:
        return 5
    if uid_len == 7:
        return 7
    raise ValueError("MIFARE Classic UIDs are 4 or 7 bytes, got %r" % (uid_len,))


def build_manufacturer_block(uid, sak=0x08, atqa=b"\x04\x00", manufacturer=None):
    """Block 0 for a 4- or 7-byte UID. `atqa` in on-air order (a 7-byte 1K card would use 44 00);
    `manufacturer` defaults to zeros (8 bytes after a 4-byte UID, 6 after a 7-byte UID)."""
    n = len(uid)
    start = _uid_part(n) + 3
    size = BLOCK_SIZE - start
    if manufacturer is None:
        manufacturer = bytes(size)
    if len(manufacturer) != size:
        raise ValueError("manufacturer data for a %d-byte UID is %d bytes, got %d" % (n, size, len(manufacturer)))
    if len(atqa) != 2:
        raise ValueError("ATQA is 2 bytes, got %d" % len(atqa))
    _check_int(sak, "SAK")
    if not 0 <= sak <= 0xFF:
        raise ValueError("SAK must be a byte, got %r" % (sak,))
    b = bytearray(BLOCK_SIZE)
    b[0:n] = uid
    if n == 4:
        b[4] = bcc(uid)
    b[start - 3] = sak
    b[start - 2:start] = atqa
    b[start:] = manufacturer
    return bytes(b)


def parse_manufacturer_block(data, uid_len=4):
    """Block 0 -> ManufacturerBlock(uid, bcc, sak, atqa, manufacturer); checks the BCC of a 4-byte
    UID (InvalidManufacturerBlock). `bcc` is None for a 7-byte UID."""
    at = _uid_part(uid_len)
    if len(data) != BLOCK_SIZE:
        raise InvalidManufacturerBlock("block 0 is %d bytes, got %d" % (BLOCK_SIZE, len(data)))
    uid = bytes(data[0:uid_len])
    check = None
    if uid_len == 4:
        check = data[4]
        if check != bcc(uid):
            raise InvalidManufacturerBlock("block 0: BCC 0x%02X does not match UID %s (expected 0x%02X)" % (
                check, "".join("%02X" % x for x in uid), bcc(uid)))
    return ManufacturerBlock(uid, check, data[at], bytes(data[at + 1:at + 3]), bytes(data[at + 3:BLOCK_SIZE]))
