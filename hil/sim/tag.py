# micropython: yes
"""A tag (the contract of firmware/tag.py) driving a simulated card directly, without PN532 frames.

For tests that need thousands of card sessions (exhaustive tear sweeps) and for host tools'
in-process `sim` reader. The full path through the PN532 host link is covered by the driver tests;
this adapter keeps the same semantics: card errors map to the same exceptions and a card that
answered with an error is selected again before the next authentication.
"""
from icpurse.host.codec import MF_AUTH_A, ST_TIMEOUT
from icpurse.firmware.tag import MifareError, Tag, TagGone, card_error
from icpurse.hil.sim.card import CardError


class CardTag(Tag):
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
        except CardError as e:
            # the status byte a PN532 would report for this card answer (AuthFailed 0x14, CardNak
            # 0x13, CardTimeout 0x01) picks the contract's exception
            self.halted = True
            raise card_error(e.status, "card: %s" % e)

    def reselect(self):
        if not self.card.powered:
            raise TagGone(ST_TIMEOUT, "card left the field")
        self._call(self.card.select)
        self.halted = False
        self.reselects += 1

    def authenticate(self, block, key, key_type=MF_AUTH_A):
        self._check_auth(block, key, key_type)
        if self.halted:
            self.reselect()
        self._call(self.card.authenticate, key_type, block, bytes(key), self.uid[-4:])

    def read_block(self, block):
        self._check_block(block)
        return bytes(self._call(self.card.read, block))

    def write_block(self, block, data):
        self._check_data(block, data)
        self._call(self.card.write, block, bytes(data))

    def increment(self, block, amount):
        self._check_operand(block, amount)
        self._call(self.card.increment, block, amount)

    def decrement(self, block, amount):
        self._check_operand(block, amount)
        self._call(self.card.decrement, block, amount)

    def restore(self, block):
        self._check_block(block)
        self._call(self.card.restore, block)

    def transfer(self, block):
        self._check_block(block)
        self._call(self.card.transfer, block)


__all__ = ["CardTag", "MifareError"]
