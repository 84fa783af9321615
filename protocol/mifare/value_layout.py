"""Byte layout of a MIFARE Classic value block, flat for the firmware codec (pn532-mifare.md §2.3).

    bytes 0..3  value      (signed 32-bit, LSB first)
    bytes 4..7  ~value     (bitwise complement, kept unsigned so the codec never sees a sign)
    bytes 8..11 value copy
    bytes 12..15 addr, ~addr, addr, ~addr

Registered in codec_spec.STRUCTS as "value_block": the firmware's MIFARE layer (firmware/mifare.py)
builds and checks value blocks with the generated encode_value_block / decode_value_block.
"""
from construct import Int8ul, Int32sl, Int32ul, Struct

ValueBlockRaw = Struct(
    "value" / Int32sl,
    "value_inv" / Int32ul,
    "value_copy" / Int32sl,
    "addr" / Int8ul,
    "addr_inv" / Int8ul,
    "addr_copy" / Int8ul,
    "addr_inv_copy" / Int8ul,
)
assert ValueBlockRaw.sizeof() == 16
