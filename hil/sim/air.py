# micropython: yes
"""What a card in the field makes of one raw ISO 14443-3 type A frame (docs/simulator.md, "Raw
frames"). The PN532 model (InCommunicateThru) builds the frame the CIU puts on air — bits, CRC,
parity — and hands it here; the answer comes back as the card sends it.

A frame is (data, nbits): `data` the bytes on air without parity, `nbits` the number of bits
(a short frame is 7). An answer is (data, nbits) too, or None when the card stays silent.

Crypto1 is not modelled. A session that the PN532 opened with InDataExchange keeps working over
raw frames while the CIU's MFCrypto1On bit is set (the CIU would encrypt them): the commands are
then taken as plaintext. Without that bit an unencrypted frame breaks the session. A raw AUTH gets
the card's nonce and then fails whatever the reader answers.
"""
from icpurse.host import codec
from icpurse.hil.sim import card as _card
from icpurse.protocol import iso14443a as iso

_ACK = (bytes((iso.ACK,)), iso.ACK_BITS)
# The tag nonce a raw AUTH gets [U: a real card sends a fresh pseudo-random nonce].
NONCE = b"\x01\x02\x03\x04"


def _nak(code):
    return bytes((code,)), iso.ACK_BITS


def _with_crc(data):
    data = bytes(data)
    return data + iso.crc_a(data), (len(data) + 2) * 8


def card_answer(c, data, nbits, crypto1_on=False):
    """One frame to card `c` -> its answer or None. Never raises for bad frames: a card ignores
    what it cannot parse (ISO 14443-3: back to IDLE / HALT), or NAKs inside a MIFARE session."""
    try:
        return _answer(c, bytes(data), nbits, crypto1_on)
    except _card.CardTimeout:
        return None
    except _card.AuthFailed:
        return None
    except _card.CardNak:
        return _nak(iso.NAK_INVALID_TB_VALID if c.transfer_buffer_valid else iso.NAK_INVALID)


def _answer(c, data, nbits, crypto1_on):
    if not c.powered:
        return None
    state = c.state
    if nbits == iso.SHORT_FRAME_BITS:
        b = data[0] & 0x7F
        if b == iso.REQA or b == iso.WUPA:
            atqa = c.request(b == iso.WUPA)
            return bytes((atqa & 0xFF, atqa >> 8)), 16  # ATQA goes on air LSB first
        if b == iso.GEN1A_WAKEUP_1:
            c.magic_wakeup(1)
            return _ACK
        c.unexpected()
        return None
    if nbits % 8:
        # A frame that ends inside a byte and is not a short frame: a bit count no command has.
        c.unexpected()
        return None
    if not data:
        return None
    if state == _card.READY:
        return _activation(c, data)
    if data == bytes((iso.GEN1A_WAKEUP_2,)) and getattr(c, "magic", None) == _card.GEN1A:
        c.magic_wakeup(2)
        return _ACK
    if data == b"\x41" and getattr(c, "magic", None) == _card.GEN1A and c.backdoor_armed:
        c.magic_wipe()
        return _ACK
    if state == _card.AUTHENTICATED and not crypto1_on:
        # An unencrypted frame in a Crypto1 session: the card cannot decrypt it. HLTA still halts
        # it in this model (as before: the libnfc tools send HLTA after a session).
        if len(data) == 4 and data[0] == iso.HLTA[0] and iso.crc_ok(data):
            c.halt()
            return None
        c.deactivate()
        return None
    if state not in (_card.ACTIVE, _card.AUTHENTICATED, _card.BACKDOOR):
        return None  # IDLE / HALTED: only REQA / WUPA (and the Gen1a wake-up) get an answer
    return _mifare(c, data)


def _activation(c, data):
    """READY: anticollision (SEL + NVB 20, no CRC) and select (SEL + NVB 70 + 5 bytes + CRC_A)."""
    sel = data[0]
    levels = {iso.SEL_CL1: 1, iso.SEL_CL2: 2, iso.SEL_CL3: 3}
    if sel not in levels or len(data) < 2:
        c.unexpected()
        return None
    level = levels[sel]
    if len(data) == 2 and data[1] == iso.NVB_ANTICOLLISION:
        return c.anticollision(level), 40
    if len(data) == 9 and data[1] == iso.NVB_SELECT:
        if not iso.crc_ok(data):
            c.unexpected()  # a select with a bad CRC_A is not a select
            return None
        return _with_crc(bytes((c.select_level(level, data[2:7]),)))
    # Bit-oriented anticollision (NVB with valid bits, or other byte counts) is not modelled:
    # with one card in the field NVB 20 finds the UID at once [U].
    c.unexpected()
    return None


def _mifare(c, data):
    """A MIFARE Classic command frame (with CRC_A) in ACTIVE, AUTHENTICATED or BACKDOOR."""
    pending = c.air_pending
    if pending is not None and pending[0] == "auth":
        # The reader's {Nr}{Ar} (8 bytes, no CRC): without Crypto1 in the model it never verifies;
        # the card stays silent and halts, as after a wrong key.
        c.auth_unverified()
        return None
    if len(data) < 3 or not iso.crc_ok(data):
        c.air_pending = None
        return _nak(iso.NAK_CRC_TB_VALID if c.transfer_buffer_valid else iso.NAK_CRC)
    body = data[:-2]
    c.air_pending = None
    if pending is not None:
        op, blk = pending
        if op == codec.MF_WRITE:
            if len(body) != _card.BLOCK_SIZE:
                raise _card.CardNak("WRITE part 2 needs 16 bytes")
            c.write(blk, body)
            return _ACK
        # INCREMENT / DECREMENT / RESTORE part 2: the operand; the card does not answer (datasheet).
        if len(body) != 4:
            raise _card.CardNak("value operand is 4 bytes")
        operand = int.from_bytes(body, "little")
        if op == codec.MF_INCREMENT:
            c.increment(blk, operand)
        elif op == codec.MF_DECREMENT:
            c.decrement(blk, operand)
        else:
            c.restore(blk)
        return None
    op = body[0]
    if op == iso.HLTA[0] and body == bytes(iso.HLTA):
        c.halt()
        return None
    if len(body) != 2:
        raise _card.CardNak("command 0x%02X with %d bytes" % (op, len(body)))
    blk = body[1]
    if op == codec.MF_AUTH_A or op == codec.MF_AUTH_B:
        if c.state not in (_card.ACTIVE, _card.AUTHENTICATED, _card.BACKDOOR):
            return None
        c.air_pending = ("auth", blk)
        return NONCE, 32
    if op == codec.MF_READ:
        return _with_crc(c.read(blk))
    if op in (codec.MF_WRITE, codec.MF_INCREMENT, codec.MF_DECREMENT, codec.MF_RESTORE):
        _check_part1(c, op, blk)
        c.air_pending = (op, blk)
        return _ACK
    if op == codec.MF_TRANSFER:
        c.transfer(blk)
        return _ACK
    if op == iso.RATS:
        # A MIFARE Classic (SAK without bit 0x20) does not speak ISO 14443-4: it leaves ACTIVE.
        c.unexpected()
        return None
    c.unknown_command(op)
    return None


def _check_part1(c, op, blk):
    """Part 1 of WRITE / INC / DEC / RESTORE: the card ACKs when the operation may run on `blk`,
    NAKs otherwise; the data come in part 2."""
    if c.state == _card.BACKDOOR:
        if op != codec.MF_WRITE:
            raise _card.CardNak("value operations need an authenticated session")
        c.check_block(blk)
        return
    if c.state != _card.AUTHENTICATED:
        raise _card.CardNak("not authenticated")
    c.check_block(blk)
