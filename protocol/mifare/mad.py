"""MIFARE Application Directory, MAD1 and MAD2 (NXP AN10787; docs/chip-facts.md "MAD").

AID representation: a 16-bit int ``0xFFAA`` = function cluster code in the high byte, application
code in the low byte (the way AN10787 writes AIDs, e.g. NFC Forum ``0xE103``). On the card each AID
is stored application code first, then function cluster, i.e. little-endian: 0xE103 -> ``03 E1``.
"""
from construct import Array, Int8ul, Int16ul, RawCopy, Struct

MAD_KEY_A = bytes.fromhex("A0A1A2A3A4A5")  # public key A of the MAD sectors (0 and 16)
MAD1_SECTOR = 0
MAD1_BLOCKS = (1, 2)
MAD2_SECTOR = 16
MAD2_BLOCKS = (64, 65, 66)
MAD1_AIDS = 15  # sectors 1..15
MAD2_AIDS = 23  # sectors 17..39
INFO_POINTER_MASK = 0x3F  # bits 5..0: card publisher sector; bits 7..6 RFU

# Administration AIDs (function cluster 0x00)
FREE = 0x0000
DEFECT = 0x0001
RESERVED = 0x0002
ADDITIONAL_INFO = 0x0003
CARDHOLDER = 0x0004
NOT_APPLICABLE = 0x0005  # sector does not exist on this card

# GPB of a MAD sector trailer: bit7 DA (MAD available), bit6 MA (multi-application), bits1..0 version
GPB_DA = 0x80
GPB_MA = 0x40


class InvalidMad(ValueError):
    """MAD bytes whose CRC does not match, or of the wrong size."""


def crc8_mad(data, crc=0xC7):
    """CRC-8/MIFARE-MAD: poly 0x1D, init 0xC7, MSB first, no reflection, no final XOR."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1D) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def aid(function_cluster, application_code):
    """AID as the 16-bit int 0xFFAA (cluster high byte, application code low byte)."""
    for name, v in (("function cluster", function_cluster), ("application code", application_code)):
        if not isinstance(v, int) or not 0 <= v <= 0xFF:
            raise ValueError("%s must be a byte 0..255, got %r" % (name, v))
    return function_cluster << 8 | application_code


def function_cluster(a):
    return a >> 8


def application_code(a):
    return a & 0xFF


def gpb(version, multi_application=True):
    """GPB byte of the MAD sector trailer: 0xC1 for MAD1, 0xC2 for MAD2 (multi-application card)."""
    if version not in (1, 2):
        raise ValueError("MAD version must be 1 or 2, got %r" % (version,))
    return GPB_DA | (GPB_MA if multi_application else 0) | version


def _body(count):
    return Struct("info" / Int8ul, "aids" / Array(count, Int16ul))


Mad1Body = _body(MAD1_AIDS)
Mad2Body = _body(MAD2_AIDS)
# crc covers the body bytes exactly as stored (info, then the AIDs in storage order)
Mad1 = Struct("crc" / Int8ul, "body" / RawCopy(Mad1Body))  # sector 0, blocks 1-2: 32 bytes
Mad2 = Struct("crc" / Int8ul, "body" / RawCopy(Mad2Body))  # sector 16, blocks 64-66: 48 bytes
assert Mad1.sizeof() == 32 and Mad2.sizeof() == 48


def _build(struct, body, count, max_pointer, info, aids, name):
    aids = list(aids)
    if len(aids) != count:
        raise ValueError("%s holds %d AIDs (one per sector), got %d" % (name, count, len(aids)))
    for a in aids:
        if not isinstance(a, int) or not 0 <= a <= 0xFFFF:
            raise ValueError("%s: AID must be a 16-bit int 0xFFAA (cluster, application), got %r" % (name, a))
    if not isinstance(info, int) or not 0 <= info <= 0xFF:
        raise ValueError("%s: info byte must be 0..255, got %r" % (name, info))
    if info & INFO_POINTER_MASK > max_pointer:
        raise ValueError("%s: card publisher sector pointer 0x%02X is beyond sector 0x%02X" % (
            name, info & INFO_POINTER_MASK, max_pointer))
    data = body.build(dict(info=info, aids=aids))
    return struct.build(dict(crc=crc8_mad(data), body=dict(data=data)))


def _parse(struct, size, data, name):
    if len(data) != size:
        raise InvalidMad("%s is %d bytes, got %d" % (name, size, len(data)))
    mad = struct.parse(bytes(data))
    expected = crc8_mad(mad.body.data)
    if mad.crc != expected:
        raise InvalidMad("%s CRC mismatch: stored 0x%02X, computed 0x%02X" % (name, mad.crc, expected))
    return mad.body.value.info, tuple(mad.body.value.aids)


def build_mad1(info, aids):
    """32 bytes for sector 0 blocks 1-2; `aids` = 15 AIDs for sectors 1..15."""
    return _build(Mad1, Mad1Body, MAD1_AIDS, 0x0F, info, aids, "MAD1")


def parse_mad1(data):
    """32 bytes of blocks 1-2 -> (info, 15 AIDs); InvalidMad on a CRC mismatch."""
    return _parse(Mad1, 32, data, "MAD1")


def build_mad2(info, aids):
    """48 bytes for sector 16 blocks 64-66; `aids` = 23 AIDs for sectors 17..39."""
    return _build(Mad2, Mad2Body, MAD2_AIDS, 0x27, info, aids, "MAD2")


def parse_mad2(data):
    """48 bytes of blocks 64-66 -> (info, 23 AIDs); InvalidMad on a CRC mismatch."""
    return _parse(Mad2, 48, data, "MAD2")


def sectors_with_aid(aids, wanted, first_sector=1):
    """Sector numbers whose AID is `wanted` (first_sector = 1 for MAD1 AIDs, 17 for MAD2)."""
    return [first_sector + i for i, a in enumerate(aids) if a == wanted]
