"""MIFARE Classic value blocks and the manufacturer block (block 0).

Facts: pn532-mifare.md §2.3 (value block, MCT isValueBlock) and §2.10 (block 0, BCC).
The Structs are flat (ints and Bytes only) so that icpurse.protocol.codegen can export them;
the redundant copies are filled in and checked by the functions below.
"""
from construct import Bytes, Int8ul, Struct

from icpurse.protocol.mifare.geometry import BLOCK_SIZE
from icpurse.protocol.mifare.value_layout import ValueBlockRaw

VALUE_MIN = -(1 << 31)
VALUE_MAX = (1 << 31) - 1


class InvalidValueBlock(ValueError):
    """16 bytes that are not in value-block format (the card would NAK INC/DEC/RESTORE)."""


class InvalidManufacturerBlock(ValueError):
    """Block 0 whose BCC does not match its UID, or of the wrong size."""


# value, ~value, value, adr, ~adr, adr, ~adr: the one layout definition lives in value_layout
# (flat, exported to the firmware codec); this module fills in and checks the redundant copies.
ValueBlock = ValueBlockRaw
assert ValueBlock.sizeof() == BLOCK_SIZE


def _check_int(value, what):
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("%s must be an int, got %r" % (what, value))


def encode_value_block(value, addr):
    """Value block holding `value` (signed 32-bit) with address byte `addr` (0..255)."""
    _check_int(value, "value")
    _check_int(addr, "value block address")
    if not VALUE_MIN <= value <= VALUE_MAX:
        raise ValueError("value %d does not fit a value block (signed 32-bit: %d..%d)" % (value, VALUE_MIN, VALUE_MAX))
    if not 0 <= addr <= 0xFF:
        raise ValueError("value block address %d out of range 0..255" % addr)
    return ValueBlock.build(dict(
        value=value, value_inv=~value & 0xFFFFFFFF, value_copy=value,
        addr=addr, addr_inv=addr ^ 0xFF, addr_copy=addr, addr_inv_copy=addr ^ 0xFF,
    ))


def _check_block(data):
    if len(data) != BLOCK_SIZE:
        raise InvalidValueBlock("a block is %d bytes, got %d" % (BLOCK_SIZE, len(data)))


def decode_value_block(data):
    """16 bytes -> (value, addr); InvalidValueBlock unless it is in value-block format (MCT isValueBlock)."""
    _check_block(data)
    v = ValueBlock.parse(bytes(data))
    if v.value_copy != v.value:
        raise InvalidValueBlock("not a value block: the two value copies differ (%d, %d)" % (v.value, v.value_copy))
    if v.value_inv != ~v.value & 0xFFFFFFFF:
        raise InvalidValueBlock("not a value block: the inverted value is not the complement of %d" % v.value)
    if v.addr_copy != v.addr or v.addr_inv_copy != v.addr_inv:
        raise InvalidValueBlock("not a value block: the address byte copies differ")
    if v.addr_inv != v.addr ^ 0xFF:
        raise InvalidValueBlock("not a value block: the inverted address is not the complement of 0x%02X" % v.addr)
    return v.value, v.addr


def is_value_block(data):
    try:
        decode_value_block(data)
    except InvalidValueBlock:
        return False
    return True


# Block 0 of a 4-byte-NUID card: UID, BCC, then manufacturer data. NXP cards usually carry SAK and
# ATQA (on-air order, 04 00) in bytes 5..7, but bytes 5..15 are not normative (§2.10).
ManufacturerBlock4 = Struct(
    "uid" / Bytes(4),
    "bcc" / Int8ul,
    "sak" / Int8ul,
    "atqa" / Bytes(2),
    "manufacturer" / Bytes(8),
)
# 7-byte UID: no BCC in block 0; bytes 7..15 are not normative (§2.10, [U]); we keep the same
# SAK/ATQA convention after the UID.
ManufacturerBlock7 = Struct(
    "uid" / Bytes(7),
    "sak" / Int8ul,
    "atqa" / Bytes(2),
    "manufacturer" / Bytes(6),
)
assert ManufacturerBlock4.sizeof() == ManufacturerBlock7.sizeof() == BLOCK_SIZE

_MANUFACTURER_BLOCKS = {4: ManufacturerBlock4, 7: ManufacturerBlock7}


def bcc(uid4):
    """Block check character of a 4-byte UID: UID0 ^ UID1 ^ UID2 ^ UID3."""
    if len(uid4) != 4:
        raise ValueError("BCC is defined for a 4-byte UID, got %d bytes" % len(uid4))
    return uid4[0] ^ uid4[1] ^ uid4[2] ^ uid4[3]


def _struct_for(uid_len):
    try:
        return _MANUFACTURER_BLOCKS[uid_len]
    except KeyError:
        raise ValueError("MIFARE Classic UIDs are 4 or 7 bytes, got %r" % (uid_len,)) from None


def build_manufacturer_block(uid, sak=0x08, atqa=b"\x04\x00", manufacturer=None):
    """Block 0 for a 4- or 7-byte UID. `atqa` in on-air order (a 7-byte 1K card would use 44 00);
    `manufacturer` defaults to zeros (8 bytes after a 4-byte UID, 6 after a 7-byte UID)."""
    uid = bytes(uid)
    struct = _struct_for(len(uid))
    size = struct.subcons[-1].sizeof()
    if manufacturer is None:
        manufacturer = bytes(size)
    if len(manufacturer) != size:
        raise ValueError("manufacturer data for a %d-byte UID is %d bytes, got %d" % (len(uid), size, len(manufacturer)))
    if len(atqa) != 2:
        raise ValueError("ATQA is 2 bytes, got %d" % len(atqa))
    if not 0 <= sak <= 0xFF:
        raise ValueError("SAK must be a byte, got %r" % (sak,))
    fields = dict(uid=uid, sak=sak, atqa=bytes(atqa), manufacturer=bytes(manufacturer))
    if len(uid) == 4:
        fields["bcc"] = bcc(uid)
    return struct.build(fields)


def parse_manufacturer_block(data, uid_len=4):
    """Block 0 -> Container(uid, [bcc,] sak, atqa, manufacturer); checks the BCC of a 4-byte UID."""
    struct = _struct_for(uid_len)
    if len(data) != BLOCK_SIZE:
        raise InvalidManufacturerBlock("block 0 is %d bytes, got %d" % (BLOCK_SIZE, len(data)))
    block = struct.parse(bytes(data))
    block.pop("_io", None)
    if uid_len == 4 and block.bcc != bcc(block.uid):
        raise InvalidManufacturerBlock("block 0: BCC 0x%02X does not match UID %s (expected 0x%02X)" % (
            block.bcc, block.uid.hex().upper(), bcc(block.uid)))
    return block
