# micropython: yes
"""ISO/IEC 14443-3 type A air frames, as far as a MIFARE Classic reader and card use them
(docs/simulator.md, "Raw frames"): command bytes, CRC_A, odd parity framing, the 4-bit ACK/NAK of
MIFARE Classic (MF1S50yyX Table 10) and the command bytes of the Chinese "magic" clone cards.

Plain data and two small functions, no construct: the simulator core imports it on MicroPython too.
Bits go on air least significant bit first; every full byte is followed by an odd parity bit.
"""

# Short frames (7 bits, no CRC, no parity)
REQA = 0x26
WUPA = 0x52
SHORT_FRAME_BITS = 7

# Anticollision / select: SEL NVB [UID CLn + BCC] [CRC_A]
SEL_CL1 = 0x93
SEL_CL2 = 0x95
SEL_CL3 = 0x97
NVB_ANTICOLLISION = 0x20  # 2 bytes sent: SEL + NVB, the card answers its 4 UID bytes + BCC
NVB_SELECT = 0x70  # 7 bytes sent: SEL + NVB + 4 UID bytes + BCC (+ CRC_A)
CASCADE_TAG = 0x88  # first byte of CL1 for a 7-byte UID
SAK_CASCADE = 0x04  # SAK bit: UID not complete, go on with the next cascade level

HLTA = (0x50, 0x00)  # + CRC_A; the card never answers
RATS = 0xE0  # ISO 14443-4 request for answer to select (+ parameter byte + CRC_A)

# MIFARE Classic 4-bit answers (MF1S50yyX Table 10)
ACK = 0x0A
NAK_INVALID_TB_VALID = 0x00  # invalid operation, transfer buffer valid
NAK_CRC_TB_VALID = 0x01  # parity or CRC error, transfer buffer valid
NAK_INVALID = 0x04  # invalid operation, transfer buffer invalid
NAK_CRC = 0x05  # parity or CRC error, transfer buffer invalid
ACK_BITS = 4

# Gen1a ("UID changeable", "Chinese magic") backdoor: after HLTA, 0x40 as a 7-bit short frame,
# then 0x43 as a full byte without CRC; each is answered with the 4-bit ACK. Then READ / WRITE work
# on every block without authentication (libnfc nfc-mfclassic R/W, nfc-mfsetuid, proxmark3).
GEN1A_WAKEUP_1 = 0x40
GEN1A_WAKEUP_2 = 0x43

CRC_A_PRESET = 0x6363


def crc_a(data, crc=CRC_A_PRESET):
    """CRC_A of ISO/IEC 14443-3 (CRC-16/ISO-IEC-14443-3-A: reflected polynomial 0x8408, preset
    0x6363, no final XOR), two bytes least significant first. `30 00` -> `02 A8`, `50 00` -> `57 CD`."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


def crc_ok(frame):
    """True when the last two bytes of `frame` are the CRC_A of the bytes before them."""
    return len(frame) >= 3 and crc_a(frame[:-2]) == bytes(frame[-2:])


def odd_parity(b):
    b ^= b >> 4
    b ^= b >> 2
    b ^= b >> 1
    return (b & 1) ^ 1


def wrap_parity(data, parities=None):
    """Bytes -> the bit stream of a frame with a parity bit after each byte (the form a PN53x host
    sends when the chip's parity generation is off). Returns (packed bytes, number of bits).
    `parities` gives each parity bit; default the correct odd parity."""
    out = bytearray()
    nbits = 0
    acc = 0
    for i in range(len(data)):
        p = odd_parity(data[i]) if parities is None else parities[i] & 1
        acc |= (data[i] | (p << 8)) << nbits
        nbits += 9
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    total = len(data) * 9
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out), total


def unwrap_parity(packed, nbits):
    """Inverse of wrap_parity: (data bytes, parity bits). `nbits` must be a multiple of 9."""
    if nbits % 9:
        raise ValueError("a frame with parity bits has 9 bits per byte, got %d bits" % nbits)
    data = bytearray()
    pars = bytearray()
    acc = 0
    have = 0
    i = 0
    for _ in range(nbits // 9):
        while have < 9:
            acc |= packed[i] << have
            i += 1
            have += 8
        data.append(acc & 0xFF)
        pars.append((acc >> 8) & 1)
        acc >>= 9
        have -= 9
    return bytes(data), bytes(pars)
