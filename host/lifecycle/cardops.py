"""The issuer's card operations the lifecycle flows need, on top of firmware/purse.py (key B).

Money writes are ordinary purse transactions from terminal 0 (the issuer) whose `txn` is the
ledger booking's entry id (24 bits), so a retried flow recognises its own earlier write in the
slots or the on-card log and never writes it twice.
"""
from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.protocol import cardtime, layout
from icpurse.protocol.numbering import card_number_from_bcd

ISSUER_TERMINAL = 0


class LifecycleCardError(Exception):
    """The card cannot take the lifecycle write (refused by the purse rules, or not the expected card)."""


def txn_of(entry_id):
    return entry_id & 0xFFFFFF


class IssuerCard:
    """One card opened with the issuer's key B: identity and committed slot verified, balance recovered."""

    def __init__(self, tag, keyring):
        try:
            self.access, self.keys, self.version = purse.open_card(tag, keyring, purse.KEY_B)
            view = purse.read_card(self.access, self.keys, self.version)
            self.view = purse.recover(self.access, view)
        except purse.Refused as exc:
            raise LifecycleCardError("card refused (%d): %s" % (exc.code, exc.message)) from None
        self.tag = tag

    @property
    def card_number(self):
        return card_number_from_bcd(bytes(self.view.card_number))

    @property
    def balance(self):
        return self.view.balance

    @property
    def seq(self):
        return self.view.seq

    @property
    def expiry(self):
        return self.view.expiry

    @property
    def named(self):
        return bool(self.view.identity[codec.IDENTITY_FLAGS] & codec.IDF_NAMED)

    def has_issuer_txn(self, kind, txn):
        """True if a slot or an on-card log entry carries the issuer's transaction (kind, txn)."""
        for slot in self.view.slots:
            if slot is not None and slot[codec.PURSE_SLOT_TERMINAL] == ISSUER_TERMINAL and \
                    slot[codec.PURSE_SLOT_KIND] == kind and slot[codec.PURSE_SLOT_TXN] == txn:
                return True
        for entry in purse.read_log(self.access, self.keys, self.view):
            if entry[codec.LOG_ENTRY_TERMINAL] == ISSUER_TERMINAL and entry[codec.LOG_ENTRY_KIND] == kind and \
                    entry[codec.LOG_ENTRY_TXN] == txn:
                return True
        return False

    def credit(self, amount, kind, txn, when, balance_cap=0):
        """Raise the balance by `amount` (a LOAD for a replacement, a REFUND of goods)."""
        try:
            plan = purse.plan_credit(self.view, amount, purse.Policy(balance_cap=balance_cap), cardtime.day(when),
                                     kind, ISSUER_TERMINAL, txn)
            return purse.commit(self.access, self.view, plan, cardtime.seconds(when))
        except purse.Refused as exc:
            raise LifecycleCardError("credit refused (%d): %s" % (exc.code, exc.message)) from None

    def empty(self, txn, when):
        """The closing slot of a redemption: the whole balance out, as an issuer debit (the tear rule
        rolls a torn decrease forward only for debit kinds). The day's spending total is carried."""
        amount = self.view.balance
        if amount == 0:
            return self.view.slot
        slot = self.view.slot
        plan = (self.view.seq + 1, 0, slot[codec.PURSE_SLOT_DAY], slot[codec.PURSE_SLOT_DAY_SPENT], codec.TXN_DEBIT,
                amount, ISSUER_TERMINAL, txn)
        try:
            return purse.commit(self.access, self.view, plan, cardtime.seconds(when))
        except purse.Refused as exc:
            raise LifecycleCardError("closing write refused (%d): %s" % (exc.code, exc.message)) from None

    def sealed_identity(self, expiry):
        """The identity record with a new expiry, sealed (MAC) with this card's keys."""
        fields = list(self.view.identity[:codec.IDENTITY_MAC])
        fields[codec.IDENTITY_EXPIRY] = expiry
        return purse.seal_identity(self.keys, self.view.uid, self.version, fields)

    def write_identity(self, raw):
        write_identity(self.access, raw)


def write_identity(access, raw):
    """Write only the identity blocks that differ (an expiry change touches one block, so a tear
    leaves the old or the new record, or one torn block the flow rewrites from the ledger)."""
    for i in range(layout.RECORD_BLOCKS):
        block = layout.IDENTITY_BLOCK + i
        want = bytes(raw[i * codec.MF_BLOCK_SIZE:(i + 1) * codec.MF_BLOCK_SIZE])
        if bytes(access.read(block)) != want:
            access.write(block, want)
