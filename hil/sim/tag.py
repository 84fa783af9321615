# micropython: yes
"""A firmware-compatible tag (the interface of firmware.mifare.ClassicTag) driving a simulated
card directly, without PN532 frames.

For tests that need thousands of card sessions (exhaustive tear sweeps) and for host tools'
in-process `sim` reader. The full path through the PN532 host link is covered by the driver tests;
this adapter keeps the same semantics: card errors map to the same exceptions and a card that
answered with an error is selected again before the next authentication.
"""
from icpurse.firmware.codec import MF_AUTH_A, MF_AUTH_B, ST_AUTH_ERROR, ST_INVALID_FRAME, ST_TIMEOUT
from icpurse.firmware.mifare import AccessDenied, AuthError, MifareError, TagGone
from icpurse.hil.sim.card import AuthFailed, CardNak, CardTimeout


class CardTag:
    def __init__(self, card, clock=None):
        self.card = card
        self.uid = bytes(card.uid)
        self.atqa = card.atqa
        self.sak = card.sak
        self.halted = True  # select on first use
        self.reselects = -1

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except AuthFailed:
            self.halted = True
            raise AuthError(ST_AUTH_ERROR, "authentication failed")
        except CardNak:
            self.halted = True
            raise AccessDenied(ST_INVALID_FRAME, "card refused the command")
        except CardTimeout:
            self.halted = True
            raise TagGone(ST_TIMEOUT, "card did not answer")

    def reselect(self):
        if not self.card.powered:
            raise TagGone(ST_TIMEOUT, "card left the field")
        self._call(self.card.select)
        self.halted = False
        self.reselects += 1

    def authenticate(self, block, key, key_type=MF_AUTH_A):
        if key_type != MF_AUTH_A and key_type != MF_AUTH_B:
            raise ValueError("key type must be MF_AUTH_A or MF_AUTH_B")
        if self.halted:
            self.reselect()
        self._call(self.card.authenticate, key_type, block, bytes(key), self.uid[-4:])

    def read_block(self, block):
        return bytes(self._call(self.card.read, block))

    def write_block(self, block, data):
        if len(data) != 16:
            raise ValueError("a block is 16 bytes")
        self._call(self.card.write, block, bytes(data))

    def increment(self, block, amount):
        self._check(amount)
        self._call(self.card.increment, block, amount)

    def decrement(self, block, amount):
        self._check(amount)
        self._call(self.card.decrement, block, amount)

    def restore(self, block):
        self._call(self.card.restore, block)

    def transfer(self, block):
        self._call(self.card.transfer, block)

    def _check(self, amount):
        if not 0 <= amount <= 0x7FFFFFFF:
            raise ValueError("operand out of range: %r" % (amount,))


__all__ = ["CardTag", "MifareError"]
