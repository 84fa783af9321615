"""Top-up at the counter, the kiosk way (business-rules §2.3), on the ledger and the one purse
implementation (firmware.purse, the issuer's key B).

Top-up: read the card → ledger `pending` (the money is booked; the idempotency key is the ledger's
transaction id) → card write (ceiling, then the slot = commit point, then balance and log; the slot
carries terminal 0 and the top-up's ledger number as `txn`) → `confirmed`.
- The write was refused before the commit point, or the card, read back at once, still shows the
  slot before it → automatic accounting reversal (账务撤销).
- Anything else (card pulled, reader unplugged, the read-back fails) → `unconfirmed`: listed by
  `unconfirmed()`, settled by `reconfirm()` with the card present, which looks for the top-up in the
  card's slots and log (terminal 0 + txn, at the counter value recorded at `pending`): found → the
  card side is finished (key B) and the top-up confirmed; provably absent → reversed. Running it
  again finds nothing open: never a double credit.
- No new top-up on a card while one (or a void) is open (§2.3.9).

Void (撤销): only a confirmed top-up, the same business day, before the cut-off, the full amount,
the card present. Written to the card like a purchase: a slot of kind VOID that lowers the balance
by the top-up's amount (decrement, which key B may do), with the same ledger states (void pending →
confirmed / cancelled / unconfirmed, settled by `reconfirm` as well: 撤销补确).

Key-version rollover: a card of an older key version is re-keyed to the current version first
(host/issuance/rekey.py, its own journal in the ledger), then topped up as above. A re-key left
half-done (card pulled) is finished at the card's next top-up or `icpurse card recover` before
anything else; nothing is booked until the card is whole on the new keys.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.firmware.keyring import NoKey
from icpurse.firmware.mifare import MifareError
from icpurse.host.issuance import rekey as rk
from icpurse.host.ledger import IdempotencyConflict, LedgerError, NotFound, Refused as LedgerRefused
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.numbering import CardNumberError, card_number_from_bcd

TERMINAL_ISSUER = 0  # the slot's terminal number for the issuer's own transactions
_TXN_LIMIT = (1 << 24) - 1  # the slot's `txn` field is 24 bits; 0 means "none"
_OPEN_VOID = ("pending", "unconfirmed")


class TopupError(Exception):
    """Refused or failed; the message says what happened and what to do next. `exit_code` follows
    host/cli.py (1 refused, 4 card problem, 5 integrity problem)."""

    exit_code = 1
    audited = False  # set when the ledger already wrote the refusal to the audit log


class TopupRefused(TopupError):
    """Refused: nothing was written to the card and nothing booked (ledger refusals are audited)."""


class CardProblem(TopupError):
    """No card, a card of another issuer or key version, or a card that does not read."""

    exit_code = 4


class IntegrityProblem(TopupError):
    """The card contradicts itself or the ledger (forged record, UID not the registered one)."""

    exit_code = 5


@dataclass(frozen=True)
class Outcome:
    """What happened to one top-up or void. `state`: confirmed | reversed | unconfirmed (top-up);
    voided | void_cancelled | void_unconfirmed (void); undecided (the card cannot tell any more)."""

    action: str  # topup | void
    txn_id: str
    card_number: str
    amount: int
    state: str
    card_balance: int | None
    card_seq: int | None
    message: str

    @property
    def ok(self) -> bool:
        return self.state in ("confirmed", "voided")

    def as_dict(self):
        return dict(asdict(self), ok=self.ok)


def card_txn(topup_id: int) -> int:
    """The slot's `txn` for a ledger top-up: its ledger number, in 1..2**24-1 (wraps; the counter
    value recorded at `pending` keeps the match unambiguous)."""
    return (topup_id - 1) % _TXN_LIMIT + 1


# --- the card on the reader -------------------------------------------------------------------


class _Card:
    """The presented card, opened with key B and read; matched with its ledger record."""

    def __init__(self, ledger, tag, keys, issuer=None):
        self.tag = tag
        uid = bytes(tag.uid)
        self.uid = uid.hex().upper()
        try:
            self.access, self.keys, self.version = purse.open_card(tag, keys, purse.KEY_B)
            self.view = purse.read_card(self.access, self.keys, self.version)
        except purse.Refused as e:
            if e.code in (codec.R_UNKNOWN_CARD, codec.R_WRONG_KEY_VERSION, codec.R_NOT_ALLOWED):
                raise CardProblem("card %s is not a card of this issuer (or of a key version this workstation does "
                                  "not hold): %s. Nothing was written or booked." % (self.uid, e.message)) from None
            raise IntegrityProblem("card %s does not verify: %s. Nothing was written or booked; report the card "
                                   "(`icpurse card show`)." % (self.uid, e.message)) from None
        except MifareError as e:
            raise CardProblem("card %s could not be read (%s): present it again and keep it on the reader. "
                              "Nothing was written or booked." % (self.uid, e)) from None
        ident = self.view.identity
        if issuer is not None and ident[codec.IDENTITY_ISSUER] != issuer:
            raise CardProblem("card %s belongs to issuer %d, not %d. Nothing was written or booked." % (
                self.uid, ident[codec.IDENTITY_ISSUER], issuer))
        try:
            self.number = card_number_from_bcd(self.view.card_number)
        except CardNumberError as e:
            raise IntegrityProblem("card %s: %s" % (self.uid, e)) from None
        try:
            self.ledger_card = ledger.cards.card(self.number)
        except NotFound:
            raise TopupRefused("card %s (UID %s) is not registered in this ledger. Nothing was written or booked."
                               % (self.number, self.uid)) from None
        if self.ledger_card.uid != self.uid:
            raise IntegrityProblem("card number %s is registered for UID %s, but this card's UID is %s (a copy?): "
                                   "nothing was written or booked; report the card" % (
                                       self.number, self.ledger_card.uid, self.uid))

    def reopen(self, keys):
        """Read the card again from scratch (after a failed command: new session, fresh view)."""
        self.access, self.keys, self.version = purse.open_card(self.tag, keys, purse.KEY_B)
        view = purse.read_card(self.access, self.keys, self.version)
        if view.uid != bytes.fromhex(self.uid) or view.card_number != self.view.card_number:
            raise IntegrityProblem("a different card is on the reader")
        self.view = view


def _open_items(ledger, card_number):
    return [t for t in ledger.topup_records.unconfirmed_topups() if t.card_number == card_number]


def _describe(item):
    if item.void_state in _OPEN_VOID:
        return "void of %s (%s, %s)" % (item.txn_id, fmt_yuan(item.amount), item.void_state)
    return "top-up %s (%s, %s)" % (item.txn_id, fmt_yuan(item.amount), item.state)


def _audited(exc):
    exc.audited = True
    return exc


class _audit_refusals:
    """Write a refusal made here (from what the card shows) to the ledger's audit log, as the
    ledger does for its own refusals (business-rules §2.4)."""

    def __init__(self, ledger, operator, action, card_number=None, txn_id=None):
        self.ledger, self.operator, self.action = ledger, operator, action
        self.card_number, self.txn_id = card_number, txn_id

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or not isinstance(exc, TopupError) or exc.audited:
            return False
        try:
            self.ledger.topup_records.record_topup_refusal(self.operator, self.action, str(exc),
                                             card_number=self.card_number,
                                             txn_id=self.txn_id)
        except LedgerError:
            pass  # the refusal itself is what the operator needs to see
        return False


# --- top-up ------------------------------------------------------------------------------------


def top_up(ledger, tag, keys, amount: int, operator, *, card: str | None = None, txn_id: str | None = None,
           payment_method: str = "cash", terminal: str | None = None, issuer: int | None = None,
           current_version: int | None = None) -> Outcome:
    """Top up the card on the reader (`tag`) by `amount` fen. `keys`: the workstation KeyRing;
    `card`: the card number the operator expects (checked against the card); `txn_id`: the
    idempotency key (re-sending it continues or returns the same top-up, never a second one).

    Returns the Outcome (confirmed / reversed / unconfirmed); raises TopupRefused, CardProblem or
    IntegrityProblem when nothing was written or booked (every refusal is audited)."""
    with _audit_refusals(ledger, operator, "topup.refused", card) as ctx:
        return _top_up(ctx, ledger, tag, keys, amount, operator, card, txn_id, payment_method, terminal, issuer,
                       current_version)


def _top_up(ctx, ledger, tag, keys, amount, operator, card, txn_id, payment_method, terminal, issuer, current_version):
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise TopupRefused("a top-up amount is a positive integer number of fen, got %r" % (amount,))
    finish_rekey(ledger, tag, keys, operator)
    c = _Card(ledger, tag, keys, issuer)
    ctx.card_number = c.number
    if card is not None and card != c.number:
        raise TopupRefused("the card on the reader is %s, not %s. Nothing was written or booked." % (c.number, card))
    if txn_id is not None:
        done = _resend(ledger, c, keys, txn_id, amount, operator)
        if done is not None:
            return done
    open_ = _open_items(ledger, c.number)
    if open_:
        raise TopupRefused("card %s has %s not yet settled on the card: run `icpurse topup reconfirm` with this card "
                           "on the reader first. Nothing was written or booked." % (
                               c.number, ", ".join(_describe(t) for t in open_)))
    current = current_version if current_version is not None else max(keys.versions())
    now = ledger.now()
    seconds, today = cardtime.seconds(now), cardtime.day(now)
    expiry = c.view.expiry
    if expiry and today > expiry:
        raise TopupRefused("card %s expired on %s: re-activate or exchange it first (its balance is kept). "
                           "Nothing was written or booked." % (c.number, cardtime.to_date(expiry)))
    rekeyed = ""
    if c.version < current:
        # re-key first (its own journal), then the top-up on the new keys
        _rekey(ledger, tag, keys, c.number, current, operator)
        try:
            c.reopen(keys)
        except (MifareError, purse.Refused) as e:
            raise CardProblem("card %s was re-keyed to key version %d but could not be read again (%s): present it "
                              "again. Nothing was booked." % (c.number, current, e)) from None
        rekeyed = " (the card was re-keyed to key version %d first)" % current
    key = txn_id or "topup-%s" % uuid.uuid4().hex
    try:
        pending = ledger.topup_records.book_topup_pending(c.number, amount, key, operator=operator, terminal=terminal,
                                            payment_method=payment_method, card_seq=c.view.seq,
                                            card_balance=c.view.balance)
    except (LedgerRefused, IdempotencyConflict) as e:
        raise _audited(TopupRefused("%s. Nothing was %s." % (
            e, "booked%s" % rekeyed if rekeyed else "written or booked"))) from None
    try:
        purse.recover(c.access, c.view)  # roll a torn balance block forward first (the card's own state)
        plan = purse.plan_credit(c.view, amount, purse.Policy(), today, codec.TXN_LOAD, TERMINAL_ISSUER,
                                 card_txn(pending.id))
        slot = purse.commit(c.access, c.view, plan, seconds)
    except purse.Refused as e:
        # refused before the commit point: the card holds what it held, so the booking goes back
        ledger.topup_records.book_topup_reverse(key, operator=operator, reason="card refused the write: %s" % e.message)
        return Outcome("topup", key, c.number, amount, "reversed", c.view.balance, c.view.seq,
                       "the card refused the write (%s); the booking was reversed (账务撤销). Nothing was credited."
                       % e.message)
    except Exception as e:  # noqa: BLE001 - whatever broke after the write may have been sent: unknown
        return _after_failure(ledger, c, keys, ledger.topup_records.topup(key), operator, e)
    ledger.topup_records.book_topup_confirm(key, card_seq=slot[codec.PURSE_SLOT_SEQ], operator=operator)
    _seen(ledger, c)
    return Outcome("topup", key, c.number, amount, "confirmed", c.view.balance, c.view.seq,
                   "card %s topped up by %s; balance %s%s" % (c.number, fmt_yuan(amount), fmt_yuan(c.view.balance),
                                                              rekeyed))


def _resend(ledger, c, keys, txn_id, amount, operator):
    """The same transaction again (§2.3.9): its result, or its settlement; None if it is new."""
    try:
        t = ledger.topup_records.topup(txn_id)
    except NotFound:
        return None
    if t.card_number != c.number or t.amount != amount:
        raise TopupRefused("transaction %s was already used for %s on card %s. Nothing was written or booked." % (
            txn_id, fmt_yuan(t.amount), t.card_number))
    if t.state in ("pending", "unconfirmed"):
        return _settle(ledger, c, t, operator)
    if t.state == "reversed":
        raise TopupRefused("transaction %s was reversed; a new top-up needs a new transaction id" % txn_id)
    return Outcome("topup", t.txn_id, c.number, t.amount, t.state, c.view.balance, c.view.seq,
                   "transaction %s is already %s; nothing done again" % (txn_id, t.state))


# --- key-version rollover ----------------------------------------------------------------------


def finish_rekey(ledger, tag, keys, operator) -> str | None:
    """Finish a re-key of the card on the reader that was left half-done (its journal says
    started); refuse a card whose re-key was found damaged. Returns 'resumed' or None."""
    card = ledger.cards.card_by_uid(bytes(tag.uid))
    if card is None:
        return None
    j = ledger.rekey_records.rekey_journal(card.card_number)
    if j is None or j.state == "done":
        return None
    return _rekey(ledger, tag, keys, card.card_number, j.new_version, operator)


def _rekey(ledger, tag, keys, number, version, operator):
    try:
        return rk.rekey(ledger, tag, keys, number, version, operator)
    except rk.RekeyDamaged as e:
        raise CardProblem("card %s cannot be re-keyed to key version %d: %s. Set the card aside (exchange it); its "
                          "balance, %s, stays in the ledger. Nothing was booked." % (
                              number, version, e, fmt_yuan(ledger.books.outstanding_balance(number)))) from None
    except rk.RekeyIntegrity as e:
        raise IntegrityProblem("card %s: %s" % (number, e)) from None
    except purse.Refused as e:
        raise IntegrityProblem("card %s does not verify for its re-key: %s. Nothing was written or booked; report "
                               "the card" % (number, e.message)) from None
    except NoKey as e:
        raise CardProblem("card %s cannot be re-keyed: %s" % (number, e)) from None
    except MifareError as e:
        raise CardProblem("card %s left the reader while it was re-keyed to key version %d (%s): present it again "
                          "and keep it on the reader (top up again, or `icpurse card recover`): the re-key is "
                          "finished first. Nothing was booked." % (number, version, e)) from None


# --- void --------------------------------------------------------------------------------------


def void(ledger, tag, keys, txn_id: str, operator, *, amount: int | None = None, issuer: int | None = None) -> Outcome:
    """撤销 of the confirmed top-up `txn_id`, with its card on the reader: the full amount only
    (`amount`, if given, must be it), the same business day, before the daily cut-off."""
    with _audit_refusals(ledger, operator, "topup.void_refused", None, txn_id) as ctx:
        return _void(ctx, ledger, tag, keys, txn_id, operator, amount, issuer)


def _void(ctx, ledger, tag, keys, txn_id, operator, amount, issuer):
    try:
        t = ledger.topup_records.topup(txn_id)
    except NotFound:
        raise TopupRefused("no top-up %s in the ledger" % txn_id) from None
    ctx.card_number = t.card_number
    if amount is not None and amount != t.amount:
        raise TopupRefused("a void takes back the full amount of top-up %s (%s), not %s; for a part, use a refund or "
                           "adjustment. Nothing was written or booked." % (txn_id, fmt_yuan(t.amount), fmt_yuan(amount)))
    finish_rekey(ledger, tag, keys, operator)
    c = _Card(ledger, tag, keys, issuer)
    if c.number != t.card_number:
        raise TopupRefused("top-up %s was made on card %s; the card on the reader is %s. Nothing was written or "
                           "booked." % (txn_id, t.card_number, c.number))
    if t.state == "voided":
        return Outcome("void", txn_id, c.number, t.amount, "voided", c.view.balance, c.view.seq,
                       "top-up %s is already voided; nothing done again" % txn_id)
    open_ = _open_items(ledger, c.number)
    if open_:
        raise TopupRefused("card %s has %s not yet settled on the card: run `icpurse topup reconfirm` first. Nothing "
                           "was written or booked." % (c.number, ", ".join(_describe(x) for x in open_)))
    if t.state == "confirmed" and c.view.balance < t.amount:
        raise TopupRefused("card %s holds %s, less than the %s of top-up %s (already spent): a void is for the full "
                           "amount; use a refund or adjustment. Nothing was written or booked." % (
                               c.number, fmt_yuan(c.view.balance), fmt_yuan(t.amount), txn_id))
    try:
        ledger.topup_records.book_void_pending(txn_id, operator, card_present=True, card_seq=c.view.seq)
    except LedgerRefused as e:
        raise _audited(TopupRefused("%s. Nothing was written or booked." % e)) from None
    seconds = cardtime.seconds(ledger.now())
    try:
        purse.recover(c.access, c.view)
        plan = purse.plan_void(c.view, t.amount, TERMINAL_ISSUER, card_txn(t.id))
        slot = purse.commit(c.access, c.view, plan, seconds)
    except purse.Refused as e:
        ledger.topup_records.book_void_cancel(txn_id, operator=operator, reason="card refused the write: %s" % e.message)
        return Outcome("void", txn_id, c.number, t.amount, "void_cancelled", c.view.balance, c.view.seq,
                       "the card refused the void (%s); top-up %s stays confirmed" % (e.message, txn_id))
    except Exception as e:  # noqa: BLE001 - outcome unknown
        return _after_failure(ledger, c, keys, ledger.topup_records.topup(txn_id), operator, e)
    ledger.topup_records.book_void_confirm(txn_id, card_seq=slot[codec.PURSE_SLOT_SEQ], operator=operator)
    _seen(ledger, c)
    return Outcome("void", txn_id, c.number, t.amount, "voided", c.view.balance, c.view.seq,
                   "top-up %s voided: %s taken back from card %s (balance %s); hand the money back" % (
                       txn_id, fmt_yuan(t.amount), c.number, fmt_yuan(c.view.balance)))


# --- unknown outcomes and re-confirmation (补确认 / 撤销补确) -------------------------------------


def unconfirmed(ledger):
    """Top-ups and voids whose card write is not confirmed (the unconfirmed-transaction query)."""
    return ledger.topup_records.unconfirmed_topups()


def reconfirm(ledger, tag, keys, operator=None, *, issuer: int | None = None) -> list[Outcome]:
    """Settle every open top-up or void of the card on the reader from what the card shows.
    Idempotent: a second run finds nothing open and changes nothing."""
    if operator is not None:
        finish_rekey(ledger, tag, keys, operator)  # a card left half re-keyed does not read otherwise
    c = _Card(ledger, tag, keys, issuer)
    out = [_settle(ledger, c, t, operator) for t in _open_items(ledger, c.number)]
    return out


def _after_failure(ledger, c, keys, item, operator, exc):
    """The card write broke off. A card error from a reader that still answers: read the card back
    at once and settle from what it shows. Otherwise (or if the read-back fails): unconfirmed."""
    if isinstance(exc, MifareError):
        try:
            c.reopen(keys)
            result = _settle(ledger, c, item, operator)
        except (MifareError, purse.Refused, TopupError):
            result = None
        if result is not None and result.state != "undecided":
            return result
    is_void = item.void_state in _OPEN_VOID
    if is_void:
        ledger.topup_records.book_void_unconfirmed(item.txn_id, operator=operator)
    else:
        ledger.topup_records.book_topup_unconfirmed(item.txn_id, operator=operator)
    return Outcome("void" if is_void else "topup", item.txn_id, item.card_number, item.amount,
                   "void_unconfirmed" if is_void else "unconfirmed", None, None,
                   "the card write was interrupted (%s: %s): the outcome is unknown. Put card %s back on the reader "
                   "and run `icpurse topup reconfirm`; do not %s again before that." % (
                       type(exc).__name__, exc, item.card_number, "void" if is_void else "top up"))


def _settle(ledger, c, item, operator) -> Outcome:
    is_void = item.void_state in _OPEN_VOID
    kind = codec.TXN_VOID if is_void else codec.TXN_LOAD
    before = item.void_card_seq_before if is_void else item.card_seq_before
    found = _find(c, before, kind, card_txn(item.id), item.amount)
    action = "void" if is_void else "topup"
    if found == "committed":
        note = _finish(c, before + 1 if before is not None else None, ledger)
        if is_void:
            ledger.topup_records.book_void_confirm(item.txn_id, card_seq=before + 1 if before is not None else None,
                                     operator=operator)
            state, msg = "voided", "the card shows the void of %s: confirmed (撤销补确); hand the money back" % (
                item.txn_id)
        else:
            ledger.topup_records.book_topup_confirm(item.txn_id, card_seq=before + 1 if before is not None else None,
                                      operator=operator)
            state, msg = "confirmed", "the card shows top-up %s: confirmed (补确认)" % item.txn_id
        _seen(ledger, c)
        return Outcome(action, item.txn_id, c.number, item.amount, state, c.view.balance, c.view.seq, msg + note)
    if found == "absent":
        if is_void:
            ledger.topup_records.book_void_cancel(item.txn_id, operator=operator, reason="the card does not show the void")
            state, msg = "void_cancelled", "the card does not show the void of %s: cancelled; the top-up stays " \
                                           "confirmed" % item.txn_id
        else:
            ledger.topup_records.book_topup_reverse(item.txn_id, operator=operator, reason="the card does not show the top-up")
            state, msg = "reversed", "the card does not show top-up %s: booking reversed (账务撤销)" % item.txn_id
        return Outcome(action, item.txn_id, c.number, item.amount, state, c.view.balance, c.view.seq, msg)
    if item.state == "pending" or item.void_state == "pending":
        if is_void:
            ledger.topup_records.book_void_unconfirmed(item.txn_id, operator=operator)
        else:
            ledger.topup_records.book_topup_unconfirmed(item.txn_id, operator=operator)
    return Outcome(action, item.txn_id, c.number, item.amount, "undecided", c.view.balance, c.view.seq,
                   "card %s has moved on (counter %d) and no longer records whether %s happened: settle it from the "
                   "reader journals at reconciliation" % (c.number, c.view.seq, _describe(item)))


def _find(c, before, kind, txn, amount):
    """'committed' if the card carries the transaction (terminal 0, txn, kind, amount, at counter
    before + 1), 'absent' if it provably does not, 'unknown' if the card no longer tells."""
    view, target = c.view, (before + 1 if before is not None else None)

    def ours(kind_, amount_, terminal_, txn_):
        return kind_ == kind and amount_ == amount and terminal_ == TERMINAL_ISSUER and txn_ == txn

    if before is not None and view.seq < before:
        raise IntegrityProblem("card %s shows counter %d, below the %d it showed before this transaction (an old "
                               "copy of the card?): nothing settled; report the card" % (c.number, view.seq, before))
    if target is not None and view.seq < target:
        return "absent"  # the card never got past the counter value before it
    for i in (0, 1):
        slot = view.slots[i] if view.slots[i] is not None else purse.read_slot(c.access, c.keys, view, i)
        if slot is None or (target is not None and slot[codec.PURSE_SLOT_SEQ] != target):
            continue
        if ours(slot[codec.PURSE_SLOT_KIND], slot[codec.PURSE_SLOT_AMOUNT], slot[codec.PURSE_SLOT_TERMINAL],
                slot[codec.PURSE_SLOT_TXN]):
            return "committed"
        if target is not None:
            return "absent"  # another transaction took that counter value
    for e in purse.read_log(c.access, c.keys, view):
        if target is not None and e[codec.LOG_ENTRY_SEQ] != target:
            continue
        if ours(e[codec.LOG_ENTRY_KIND], e[codec.LOG_ENTRY_AMOUNT], e[codec.LOG_ENTRY_TERMINAL], e[codec.LOG_ENTRY_TXN]):
            return "committed"
        if target is not None:
            return "absent"
    return "unknown"


def _finish(c, seq, ledger):
    """Finish the card side of a committed transaction: balance block (key B raises the ceiling and
    writes it if needed) and the log entry, when the transaction is still the card's newest."""
    notes = []
    view = c.view
    try:
        purse.recover(c.access, view)
        if view.repaired:
            notes.append("balance block completed")
        if seq is not None and view.seq == seq:
            if not any(e[codec.LOG_ENTRY_SEQ] == seq for e in purse.read_log(c.access, c.keys, view)):
                purse.write_log(c.access, view, view.slot, cardtime.seconds(ledger.now()))
                notes.append("log entry written")
    except purse.Refused as e:
        notes.append("the card needs attention: %s (`icpurse card recover`)" % e.message)
    return "; " + ", ".join(notes) if notes else ""


def _seen(ledger, c):
    try:
        ledger.cards.record_card_seen(c.number, c.view.seq, c.view.balance, "topup")
    except LedgerError:
        pass  # a memo for reconciliation; the booking itself is done


__all__ = [
    "top_up", "void", "unconfirmed", "reconfirm", "Outcome", "TopupError", "TopupRefused", "finish_rekey",
    "CardProblem", "IntegrityProblem", "card_txn",
]
