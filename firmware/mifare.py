"""MIFARE Classic tag layer over the PN532 driver (names after libfreefare's mifare_classic_*).

`ClassicTag` implements the tag contract of firmware/tag.py. Commands travel inside InDataExchange
(docs/reader.md); the PN532 status byte of a failed command becomes the contract's exception:
0x14 AuthError, 0x13 AccessDenied (the card NAKed: access bits, not a value block, ...), 0x01
TagGone (no answer: the card left the field). After a failed command the card is halted or out of
its session, so the next `authenticate` re-selects it first (libnfc nfc-mfclassic does the same).
Value blocks: icpurse.protocol.mifare.blocks, re-exported here for the firmware's callers.
"""
from struct import pack_into

from icpurse.firmware.codec import (
    MF_AUTH_A,
    MF_BLOCK_SIZE,
    MF_DECREMENT,
    MF_INCREMENT,
    MF_READ,
    MF_RESTORE,
    MF_TRANSFER,
    MF_WRITE,
    ST_TIMEOUT,
)
from icpurse.firmware.pn532 import FrameError, PN532Error
from icpurse.firmware.tag import Tag, TagGone, card_error
from icpurse.protocol.mpy import const

# Re-exported: the purse and the host tools take the contract's errors and the value-block rule
# from the MIFARE layer.
from icpurse.firmware.tag import AccessDenied, AuthError, MifareError, ValueBlockError  # noqa: F401
from icpurse.protocol.mifare.blocks import encode_value_block as value_block  # noqa: F401
from icpurse.protocol.mifare.blocks import value_address, value_of  # noqa: F401

_SELECT_TIMEOUT_MS = const(150)


class ClassicTag(Tag):
    """The tag contract (firmware/tag.py) over the PN532 driver; `halted` says the next
    `authenticate` selects the card again first, `reselects` counts how often it did."""

    def __init__(self, pn532, uid, atqa, sak):
        self.pn532 = pn532
        self.uid = bytes(uid)
        self.atqa = atqa
        self.sak = sak
        self._cmd = bytearray(2 + MF_BLOCK_SIZE)  # the largest command: WRITE blk + 16 bytes
        self._mv = memoryview(self._cmd)
        # the command's bytes as the driver takes them, one view per command length (made once)
        self._views = {n: self._mv[:n] for n in (2, 6, 12, 18)}
        self.halted = False  # True after an error: the card must be selected again
        self.reselects = 0

    def _exchange(self, n, rlen=0):
        try:
            return self.pn532.data_exchange(self._views[n], rlen)
        except PN532Error as e:
            self.halted = True  # after any failure the card's state is unknown: select again
            if e.status is None:
                raise  # a host-link failure, not a card answer
            raise card_error(e.status, "MIFARE command 0x%02x: status 0x%02x" % (self._cmd[0], e.status))

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
        self._check_auth(block, key, key_type)
        if self.halted:
            self.reselect()
        c = self._cmd
        c[0] = key_type
        c[1] = block
        self._mv[2:8] = key
        # A 7-byte UID authenticates with its last four bytes (its cascade-level-2 part).
        self._mv[8:12] = self.uid[-4:]
        self._exchange(12)

    def _read(self, block):
        """The 16 bytes of `block` as a view of the driver's receive buffer (valid until the next
        command)."""
        self._check_block(block)
        self._cmd[0] = MF_READ
        self._cmd[1] = block
        r = self._exchange(2, MF_BLOCK_SIZE)
        if len(r) != MF_BLOCK_SIZE:
            self.halted = True
            raise FrameError("READ answered %d bytes" % len(r))
        return r

    def read_block_into(self, block, buf):
        """Copied from the driver's receive buffer: no allocation."""
        buf[:MF_BLOCK_SIZE] = self._read(block)
        return buf

    def read_block(self, block):
        return bytes(self._read(block))

    def write_block(self, block, data):
        self._check_data(block, data)
        self._cmd[0] = MF_WRITE
        self._cmd[1] = block
        self._mv[2:18] = data
        self._exchange(18)

    def _value_op(self, op, block, operand):
        self._check_operand(block, operand)
        self._cmd[0] = op
        self._cmd[1] = block
        pack_into("<i", self._cmd, 2, operand)  # the operand goes LSB first, like a value block
        self._exchange(6)

    def value_raw(self, op, block, operand):
        """INCREMENT or DECREMENT with the operand's four bytes exactly as given (0..0xFFFFFFFF, bit
        31 included), outside the tag contract's 0..0x7FFFFFFF: what a card does with a "negative"
        operand is not in the datasheets and is measured on real cards (tests/hil, docs/security.md
        "Limits"). Only the issuance reader's transparent access sends one; the purse never does."""
        self._check_block(block)
        if op != MF_INCREMENT and op != MF_DECREMENT:
            raise ValueError("value operation 0x%02x is not INCREMENT or DECREMENT" % op)
        if not 0 <= operand <= 0xFFFFFFFF:
            raise ValueError("operand out of 32 bits: %r" % (operand,))
        self._cmd[0] = op
        self._cmd[1] = block
        pack_into("<I", self._cmd, 2, operand)
        self._exchange(6)

    def increment(self, block, amount):
        self._value_op(MF_INCREMENT, block, amount)

    def decrement(self, block, amount):
        self._value_op(MF_DECREMENT, block, amount)

    def restore(self, block):
        self._check_block(block)
        self._cmd[0] = MF_RESTORE
        self._cmd[1] = block
        self._exchange(2)

    def transfer(self, block):
        self._check_block(block)
        self._cmd[0] = MF_TRANSFER
        self._cmd[1] = block
        self._exchange(2)
