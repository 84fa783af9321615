"""MIFARE Classic sector trailer: key A, access bits, GPB, key B (MF1S50yyX §8.6.3;
docs/chip-facts.md "Sector trailer").

`SectorTrailer` carries the access conditions as a tuple (see icpurse.protocol.mifare.access); its
adapter refuses invalid access bytes on parse and anything but 4 conditions 0..7 on build, so a
trailer that would block its sector cannot be built through this module.
`SectorTrailerRaw` is the same layout with the access bytes left raw (flat, for codegen / dumps).
"""
from construct import Adapter, Bytes, Container, Int8ul, Struct

from icpurse.protocol.mifare.access import check_conds, decode_access_bits, encode_access_bits
from icpurse.protocol.mifare.geometry import BLOCK_SIZE

KEY_SIZE = 6
DEFAULT_KEY = b"\xff" * KEY_SIZE  # "All keys are set to FFFFFFFFFFFFh at chip delivery."
DEFAULT_GPB = 0x69  # transport trailer FF 07 80 69


class AccessConditions(Adapter):
    """3 access bytes <-> (group 0, group 1, group 2, trailer) conditions."""

    def _decode(self, obj, context, path):
        return decode_access_bits(obj)  # raises InvalidAccessBits

    def _encode(self, obj, context, path):
        return encode_access_bits(check_conds(obj))


SectorTrailer = Struct(
    "key_a" / Bytes(KEY_SIZE),
    "conds" / AccessConditions(Bytes(3)),
    "gpb" / Int8ul,
    "key_b" / Bytes(KEY_SIZE),
)

SectorTrailerRaw = Struct(
    "key_a" / Bytes(KEY_SIZE),
    "access" / Bytes(3),
    "gpb" / Int8ul,
    "key_b" / Bytes(KEY_SIZE),
)
assert SectorTrailer.sizeof() == SectorTrailerRaw.sizeof() == BLOCK_SIZE


def _check_key(key, name):
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_SIZE:
        raise ValueError("%s must be %d bytes, got %r" % (name, KEY_SIZE, key))
    return bytes(key)


def build_trailer(key_a, conds, key_b, gpb=DEFAULT_GPB):
    """16-byte sector trailer. `conds` = (group 0, group 1, group 2, trailer), each C1C2C3 as 0..7."""
    if not isinstance(gpb, int) or isinstance(gpb, bool) or not 0 <= gpb <= 0xFF:
        raise ValueError("GPB must be a byte 0..255, got %r" % (gpb,))
    return SectorTrailer.build(dict(
        key_a=_check_key(key_a, "key A"), conds=check_conds(conds), gpb=gpb, key_b=_check_key(key_b, "key B")))


def parse_trailer(data):
    """16 bytes -> Container(key_a, conds, gpb, key_b); InvalidAccessBits if the access bytes are invalid.

    Note that a trailer read from a card shows key A (and usually key B) as zeros
    (docs/chip-facts.md "Sector trailer").
    """
    if len(data) != BLOCK_SIZE:
        raise ValueError("a sector trailer is %d bytes, got %d" % (BLOCK_SIZE, len(data)))
    t = SectorTrailer.parse(bytes(data))
    return Container(key_a=t.key_a, conds=t.conds, gpb=t.gpb, key_b=t.key_b)
