"""MIFARE Classic tag layer over the PN532 driver (names after libfreefare's mifare_classic_*).

Commands travel inside InDataExchange (reference §2.1); the PN532 status byte of a failed command
becomes an exception: 0x14 AuthError, 0x13 AccessDenied (the card NAKed: access bits, not a value
block, ...), 0x01 TagGone (no answer: the card left the field).  After a failed authentication the
card is halted, so the next `authenticate` re-selects it first (libnfc nfc-mfclassic does the same).
Value blocks are built and checked with the generated codec (protocol/mifare/value_layout.py).
"""
from struct import pack_into

from icpurse.firmware.codec import (
    MF_AUTH_A,
    MF_AUTH_B,
    MF_BLOCK_SIZE,
    MF_DECREMENT,
    MF_INCREMENT,
    MF_KEY_SIZE,
    MF_READ,
    MF_RESTORE,
    MF_TRANSFER,
    MF_WRITE,
    ST_AUTH_ERROR,
    ST_INVALID_FRAME,
    ST_TIMEOUT,
    decode_value_block,
    encode_value_block,
)
from icpurse.firmware.pn532 import FrameError, PN532Error

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # stand-in: the stub's const is generic
        return x


_VALUE_MAX = const(0x7FFFFFFF)
_SELECT_TIMEOUT_MS = const(150)


class MifareError(PN532Error):
    """A card command failed; `status` is the PN532 status byte."""


class AuthError(MifareError):
    """Wrong key or key type for the sector (status 0x14); the card is now halted."""


class AccessDenied(MifareError):
    """The card refused the command (status 0x13): access bits, not a value block, ..."""


class TagGone(MifareError):
    """The card did not answer (status 0x01) or is no longer the card that was selected."""


class ValueBlockError(ValueError):
    """16 bytes that are not in MIFARE value-block format."""


_ERRORS = {ST_AUTH_ERROR: AuthError, ST_INVALID_FRAME: AccessDenied, ST_TIMEOUT: TagGone}


def value_block(value, addr):
    """The 16-byte value block holding `value` (signed 32-bit) with address byte `addr`."""
    if not 0 <= addr <= 0xFF:
        raise ValueError("value block address out of range: %r" % (addr,))
    return encode_value_block(value, ~value & 0xFFFFFFFF, value, addr, addr ^ 0xFF, addr, addr ^ 0xFF)


def _parts(block):
    if len(block) != MF_BLOCK_SIZE:
        raise ValueBlockError("a block is 16 bytes, got %d" % len(block))
    v, v_inv, v_copy, a, a_inv, a_copy, a_inv_copy = decode_value_block(block)
    if v_copy != v or v_inv != ~v & 0xFFFFFFFF:
        raise ValueBlockError("not a value block: value copies disagree")
    if a_copy != a or a_inv_copy != a_inv or a_inv != a ^ 0xFF:
        raise ValueBlockError("not a value block: address copies disagree")
    return v, a


def value_of(block):
    """Value held by a 16-byte value block; ValueBlockError if the block is not one."""
    return _parts(block)[0]


def value_address(block):
    """Address byte of a 16-byte value block; ValueBlockError if the block is not one."""
    return _parts(block)[1]


class ClassicTag:
    def __init__(self, pn532, uid, atqa, sak):
        self.pn532 = pn532
        self.uid = bytes(uid)
        self.atqa = atqa
        self.sak = sak
        self._cmd = bytearray(2 + MF_BLOCK_SIZE)  # the largest command: WRITE blk + 16 bytes
        self._mv = memoryview(self._cmd)
        self.halted = False  # True after an error: the card must be selected again
        self.reselects = 0

    def _exchange(self, n, rlen=0):
        try:
            return self.pn532.data_exchange(self._mv[:n], rlen)
        except PN532Error as e:
            self.halted = True  # after any failure the card's state is unknown: select again
            if e.status is None:
                raise  # a host-link failure, not a card answer
            raise _ERRORS.get(e.status, MifareError)(e.status, "MIFARE command 0x%02x: status 0x%02x"
                                                     % (self._cmd[0], e.status))

    def reselect(self):
        """Select the card again (after a failed auth it is halted); TagGone if it is not there
        any more or another card answered."""
        found = self.pn532.list_passive_target(_SELECT_TIMEOUT_MS)
        if found is None:
            raise TagGone(ST_TIMEOUT, "card left the field")
        if found[0] != self.uid:
            raise TagGone(ST_TIMEOUT, "another card is in the field")
        self.halted = False
        self.reselects += 1

    def authenticate(self, block, key, key_type=MF_AUTH_A):
        if key_type != MF_AUTH_A and key_type != MF_AUTH_B:
            raise ValueError("key type must be MF_AUTH_A or MF_AUTH_B")
        if len(key) != MF_KEY_SIZE:
            raise ValueError("a MIFARE key is 6 bytes")
        if self.halted:
            self.reselect()
        c = self._cmd
        c[0] = key_type
        c[1] = block
        self._mv[2:8] = key
        # 7-byte UIDs authenticate with their last four bytes (reference §2.1).
        self._mv[8:12] = self.uid[-4:]
        self._exchange(12)

    def read_block_into(self, block, buf):
        """Read 16 bytes into `buf` (no allocation)."""
        self._cmd[0] = MF_READ
        self._cmd[1] = block
        r = self._exchange(2, MF_BLOCK_SIZE)
        if len(r) != MF_BLOCK_SIZE:
            self.halted = True
            raise FrameError("READ answered %d bytes" % len(r))
        buf[:MF_BLOCK_SIZE] = r
        return buf

    def read_block(self, block):
        return bytes(self.read_block_into(block, bytearray(MF_BLOCK_SIZE)))

    def write_block(self, block, data):
        if len(data) != MF_BLOCK_SIZE:
            raise ValueError("a block is 16 bytes")
        self._cmd[0] = MF_WRITE
        self._cmd[1] = block
        self._mv[2:18] = data
        self._exchange(18)

    def _value_op(self, op, block, operand):
        if not 0 <= operand <= _VALUE_MAX:
            raise ValueError("operand out of range: %r" % (operand,))
        self._cmd[0] = op
        self._cmd[1] = block
        pack_into("<i", self._cmd, 2, operand)  # LSB first (reference §2.2)
        self._exchange(6)

    def increment(self, block, amount):
        """Block value + amount into the card's transfer buffer (needs `transfer`)."""
        self._value_op(MF_INCREMENT, block, amount)

    def decrement(self, block, amount):
        """Block value - amount into the card's transfer buffer (needs `transfer`)."""
        self._value_op(MF_DECREMENT, block, amount)

    def restore(self, block):
        """Block value into the transfer buffer, e.g. to copy a value block with `transfer`."""
        self._cmd[0] = MF_RESTORE
        self._cmd[1] = block
        self._exchange(2)

    def transfer(self, block):
        """Write the transfer buffer to `block`."""
        self._cmd[0] = MF_TRANSFER
        self._cmd[1] = block
        self._exchange(2)

    def read_value(self, block):
        return value_of(self.read_block(block))

    def write_value(self, block, value, addr=None):
        self.write_block(block, value_block(value, block if addr is None else addr))
