"""The card on the issuer's reader: one class for every card step of the issuer's flows.

`IssuerCard` opens a card with the issuer's key B (firmware/purse.py `open_card` + `read_card`:
identity and committed slot verified), brings its balance block in line (`recover`), finds a
transaction on it (`find`, the one rule `purse.find_txn`), writes purse transactions (`credit`,
`void`, `empty`), finishes a committed one (`finish`: balance block and log entry) and re-seals its
identity record. It has no card semantics of its own: every rule is the purse's. What it adds is
the host's side: the purse's refusals (`purse.Refused`) and the card's errors (`MifareError`) come
out as the one set of host exceptions (host/cards/errors.py) with a message for the operator.

Top-up, void and re-confirmation (host/issuance/topup.py), activation and `card recover`
(host/issuance/service.py), re-keying (host/issuance/rekey.py), the holder lifecycle
(host/lifecycle/flows.py) and the HIL rig (hil/stations.py) use it.

The issuer's transactions on a card carry terminal 0 and, as `txn`, the ledger id of their booking
mapped by `card_txn` (docs/card-layout.md, "Finding a transaction on a card").
"""
from icpurse.firmware import purse
from icpurse.firmware.mifare import MifareError, TagGone
from icpurse.host import codec
from icpurse.host.cards.errors import (
    CardGone, CardProblem, IntegrityProblem, OperationRefused, WriteInterrupted,
)
from icpurse.protocol import cardtime, layout
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.numbering import CardNumberError, card_number_from_bcd

ISSUER_TERMINAL = 0  # a slot's terminal for the issuer's own transactions
_TXN_LIMIT = (1 << 24) - 1  # a slot's `txn` is 24 bits; 0 means "none"
# purse refusal codes by what they mean for the operator (the rest: a rule said no -> refused)
_NOT_OURS = (codec.R_UNKNOWN_CARD, codec.R_WRONG_KEY_VERSION, codec.R_NOT_ALLOWED, codec.R_CARD_CHANGED)
_BROKEN = (codec.R_FORGED, codec.R_CORRUPT, codec.R_INCONSISTENT)

COMMITTED, ABSENT, UNKNOWN = purse.COMMITTED, purse.ABSENT, purse.UNKNOWN


def card_txn(ledger_id: int) -> int:
    """The card `txn` of an issuer transaction booked in the ledger as `ledger_id` (a top-up's
    number, a journal entry's id): in 1..2**24-1, never 0, equal to the id below 2**24 and wrapping
    above (the counter value recorded with it keeps a match unambiguous)."""
    return (ledger_id - 1) % _TXN_LIMIT + 1


def _from_refusal(e, message):
    """The host exception for a purse refusal `e` (nothing of the operation was written)."""
    cls = CardProblem if e.code in _NOT_OURS else IntegrityProblem if e.code in _BROKEN else OperationRefused
    exc = cls(message)
    exc.refusal, exc.reason = e.code, e.message
    return exc


def _from_card_error(e, message):
    exc = (CardGone if isinstance(e, TagGone) else CardProblem)(message)
    exc.cause = e
    return exc


class IssuerCard:
    """One card opened with the issuer's key B, identity and committed slot verified.

    `nothing_done` ends the messages of a card that cannot be opened (what the flow had not done
    yet, e.g. "Nothing was written or booked."); `recover=True` also rolls a torn balance block
    forward at once (`recover()`)."""

    def __init__(self, tag, keyring, *, recover=False, nothing_done="Nothing was written."):
        self.tag = tag
        self.keyring = keyring
        self.uid = bytes(tag.uid)
        self.nothing_done = nothing_done
        self._read()
        if recover:
            self.recover()

    # --- reading ---------------------------------------------------------------------------------

    def _read(self):
        try:
            self.access, self.keys, self.version = purse.open_card(self.tag, self.keyring, purse.KEY_B)
            self.view = purse.read_card(self.access, self.keys, self.version)
        except purse.Refused as e:
            if e.code in _NOT_OURS:
                raise _from_refusal(e, "card %s is not a card of this issuer (or of a key version this workstation "
                                       "does not hold): %s. %s" % (self.uid_hex, e.message, self.nothing_done)) from None
            raise _from_refusal(e, "card %s does not verify: %s. %s Report the card (`icpurse card show`)." % (
                self.uid_hex, e.message, self.nothing_done)) from None
        except MifareError as e:
            raise _from_card_error(e, "card %s could not be read (%s): present it again and keep it on the reader. %s"
                                   % (self.uid_hex, e, self.nothing_done)) from None
        self.value_read = self.view.value  # the balance block as read, before any repair

    def reopen(self):
        """Read the card again from scratch (after a failed command: a new session, a fresh view);
        IntegrityProblem if another card is on the reader now."""
        number = self.view.card_number
        self._read()
        if self.view.card_number != number:
            raise IntegrityProblem("a different card is on the reader")
        return self

    @property
    def uid_hex(self):
        return self.uid.hex().upper()

    @property
    def label(self):
        """'card NUMBER' for messages ('card UID ...' when the number does not parse)."""
        try:
            return "card %s" % card_number_from_bcd(bytes(self.view.card_number))
        except CardNumberError:
            return "card UID %s" % self.uid_hex

    @property
    def number(self):
        """The card number the identity record carries (IntegrityProblem if it is no card number)."""
        try:
            return card_number_from_bcd(bytes(self.view.card_number))
        except CardNumberError as e:
            raise IntegrityProblem("card UID %s: %s. Report the card." % (self.uid_hex, e)) from None

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
    def identity(self):
        return self.view.identity

    @property
    def issuer(self):
        return self.view.identity[codec.IDENTITY_ISSUER]

    @property
    def named(self):
        return bool(self.view.identity[codec.IDENTITY_FLAGS] & codec.IDF_NAMED)

    @property
    def repaired(self):
        """True when `recover` rolled the balance block forward."""
        return self.view.repaired

    def check_issuer(self, issuer):
        """CardProblem unless the card is one of issuer `issuer` (None: any)."""
        if issuer is not None and self.issuer != issuer:
            raise CardProblem("%s belongs to issuer %d, not %d. %s" % (self.label, self.issuer, issuer,
                                                                       self.nothing_done))

    def log(self):
        """The on-card log, newest first (entry tuples, codec LOG_ENTRY_*)."""
        if self.view.log is None:
            try:
                self.view.log = purse.read_log(self.access, self.keys, self.view)
            except MifareError as e:
                raise _from_card_error(e, "%s: its log could not be read (%s): present it again" % (
                    self.label, e)) from None
        return self.view.log

    def find(self, kind, txn, amount, seq=None):
        """COMMITTED, ABSENT or UNKNOWN: is the issuer's transaction (kind, txn, amount) on the card,
        at counter value `seq` (None: not recorded)? purse.find_txn decides; an older copy of the
        card (counter below `seq - 1`) is an IntegrityProblem. A v2 card with an issuer write stopped
        before its commit point (its balance block never got the new generation) is repaired first:
        `recover` undoes that write (it did not happen), and the counter is the card's again."""
        if getattr(self.view, "pending_gen", None) is not None:
            self.recover()
        try:
            found = purse.find_txn(self.access, self.view, ISSUER_TERMINAL, txn, kind, amount, seq)
        except MifareError as e:
            raise _from_card_error(e, "%s could not be read (%s): present it again and keep it on the reader"
                                   % (self.label, e)) from None
        if found == purse.OLD_COPY:
            raise IntegrityProblem("%s shows counter %d, below the %d it showed before this transaction (an old copy "
                                   "of the card?): nothing settled; report the card" % (self.label, self.seq, seq - 1))
        return found

    # --- writing ---------------------------------------------------------------------------------

    def _write(self, what, fn, *args):
        try:
            return fn(*args)
        except purse.Refused as e:
            raise _from_refusal(e, "%s: %s refused: %s. Nothing was written." % (self.label, what, e.message)) from None
        except MifareError as e:
            exc = WriteInterrupted("%s: the %s broke off (%s): whether it reached the card is unknown. Put the card "
                                   "back on the reader and run the same command again: it finds what was written "
                                   "and never writes it twice." % (self.label, what, e))
            exc.cause = e
            raise exc from None

    def recover(self):
        """Bring the balance block in line with the committed slot (purse.recover, key B: it may raise
        the ceiling and write the balance block). Returns the view."""
        try:
            return purse.recover(self.access, self.view)
        except purse.Refused as e:
            raise _from_refusal(e, "%s: %s. Nothing was written; report the card (`icpurse card show`)." % (
                self.label, e.message)) from None
        except MifareError as e:
            raise _from_card_error(e, "%s did not answer while its balance block was brought in line (%s): present "
                                      "it again" % (self.label, e)) from None

    def _commit(self, plan, when):
        return purse.commit(self.access, self.view, plan, cardtime.seconds(when))

    def credit(self, amount, kind, txn, when, balance_cap=0):
        """Raise the balance by `amount` fen: a purse transaction of `kind` (ISSUE, LOAD, REFUND)
        from terminal 0 carrying `txn`, at `when` (a datetime). Returns the committed slot."""
        def do():
            plan = purse.plan_credit(self.view, amount, purse.Policy(balance_cap=balance_cap), cardtime.day(when),
                                     kind, ISSUER_TERMINAL, txn)
            return self._commit(plan, when)

        return self._write("credit of %s" % fmt_yuan(amount), do)

    def void(self, amount, txn, when):
        """Take a load of `amount` back (撤销): a VOID slot naming the load's `txn`."""
        def do():
            return self._commit(purse.plan_void(self.view, amount, ISSUER_TERMINAL, txn), when)

        return self._write("void of %s" % fmt_yuan(amount), do)

    def empty(self, txn, when):
        """The closing slot of a redemption or an exchange: the whole balance out, as an issuer debit
        (the tear rule rolls a torn decrease forward only for debit kinds); the day's spending total
        is carried. Returns the committed slot (the current one when the balance is 0 already)."""
        amount = self.view.balance
        if amount == 0:
            return self.view.slot
        slot = self.view.slot
        plan = (self.view.seq + 1, 0, slot[codec.PURSE_SLOT_DAY], slot[codec.PURSE_SLOT_DAY_SPENT], codec.TXN_DEBIT,
                amount, ISSUER_TERMINAL, txn)
        return self._write("closing write of %s" % fmt_yuan(amount), self._commit, plan, when)

    def finish(self, seq, when):
        """Finish the card side of the committed transaction at counter `seq`: the balance block
        (key B raises the ceiling and writes it when needed) and, while it is still the card's
        newest, its log entry. Returns what was done (list of phrases)."""
        notes = []
        self.recover()
        if self.view.repaired:
            notes.append("balance block completed")
        if self.view.layout != codec.LAYOUT_VERSION:
            return notes  # a v2 card keeps no log
        if seq is not None and self.view.seq == seq and not any(e[codec.LOG_ENTRY_SEQ] == seq for e in self.log()):
            self._write("log entry", purse.write_log, self.access, self.view, self.view.slot, cardtime.seconds(when))
            notes.append("log entry written")
        return notes

    # --- identity --------------------------------------------------------------------------------

    def sealed_identity(self, expiry):
        """The identity record with a new expiry, sealed (MAC) with this card's keys."""
        fields = list(self.view.identity[:codec.IDENTITY_MAC])
        fields[codec.IDENTITY_EXPIRY] = expiry
        return purse.seal_identity(self.keys, self.view.uid, self.version, fields)

    def write_identity(self, raw):
        """Write the identity record `raw` (sealed_identity). On a v2 card a new expiry also goes
        into the purse header, as an issuer write of its own (adjust, 0 fen: the balance stays)."""
        self._write("identity rewrite", _write_identity, self.access, raw)
        if self.view.layout != codec.LAYOUT_VERSION:
            expiry = codec.decode_identity(bytes(raw))[codec.IDENTITY_EXPIRY]
            if expiry != self.view.expiry:
                self._write("expiry in the purse header", purse.set_expiry, self.access, self.view, expiry)

    @classmethod
    def rewrite_identity(cls, tag, keyring, version, raw):
        """Finish an identity rewrite torn half-way (its MAC broken, so the card does not open):
        write `raw` (the record the ledger kept, sealed for key `version`) with key B, then open the
        card. Only the blocks that differ are written."""
        access = purse.Access(tag, keyring.for_card(bytes(tag.uid), version), purse.KEY_B)
        try:
            _write_identity(access, raw)
        except MifareError as e:
            exc = WriteInterrupted("card UID %s: the identity rewrite broke off (%s): present it again and run the "
                                   "same command" % (bytes(tag.uid).hex().upper(), e))
            exc.cause = e
            raise exc from None
        return cls(tag, keyring)


def _write_identity(access, raw):
    """Write only the identity blocks that differ (an expiry change touches one block, so a tear
    leaves the old or the new record, or one torn block the flow rewrites from the ledger)."""
    for i in range(layout.RECORD_BLOCKS):
        block = layout.IDENTITY_BLOCK + i
        want = bytes(raw[i * codec.MF_BLOCK_SIZE:(i + 1) * codec.MF_BLOCK_SIZE])
        if bytes(access.read(block)) != want:
            access.write(block, want)


__all__ = ["IssuerCard", "card_txn", "ISSUER_TERMINAL", "COMMITTED", "ABSENT", "UNKNOWN"]
