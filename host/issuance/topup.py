"""Top-up at the counter, the kiosk way, on the ledger and the one purse implementation
(firmware.purse, the issuer's key B, through host/cards IssuerCard).

Top-up: read the card → ledger `pending` (the money is booked; the idempotency key is the ledger's
transaction id) → card write (ceiling, then the slot = commit point, then balance and log; the slot
carries terminal 0 and the top-up's ledger number as `txn`) → `confirmed`.
- The write was refused before the commit point, or the card, read back at once, still shows the
  slot before it → automatic accounting reversal (账务撤销).
- Anything else (card pulled, reader unplugged, the read-back fails) → `unconfirmed`: listed by
  `unconfirmed()`, settled by `reconfirm()` with the card present, which looks for the top-up on the
  card by the one rule (purse.find_txn: terminal 0 + txn + kind + amount at the counter value
  recorded at `pending`; docs/card-layout.md): found → the card side is finished (key B) and the
  top-up confirmed; provably absent → reversed. Running it again finds nothing open: never a double
  credit.
- No new top-up on a card while one (or a void) is open.

Void (撤销): only a confirmed top-up, the same business day, before the cut-off, the full amount,
the card present. Written to the card like a purchase: a slot of kind VOID that lowers the balance
by the top-up's amount (decrement, which key B may do), with the same ledger states (void pending →
confirmed / cancelled / unconfirmed, settled by `reconfirm` as well: 撤销补确).

Layout v1 -> v2: a v1 card is moved to layout v2 at its top-up (host/issuance/migrate.py, its own
journal in the ledger; `Outcome.migrated`), after any re-key and after the booking (whose rules a
refused top-up must meet before the card is touched; a failed move reverses it); the top-up is then a
v2 issuer write. A move left half-done is finished like a re-key (below).

Key-version rollover: a card of an older key version is re-keyed to the current version first
(host/issuance/rekey.py, its own journal in the ledger), then topped up as above. A re-key left
half-done (card pulled) is finished at the card's next top-up or `icpurse card recover` before
anything else; nothing is booked until the card is whole on the new keys.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace

from icpurse.host import codec
from icpurse.host.cards import (
    ABSENT, COMMITTED, UNKNOWN, CardFlowError, CardProblem, IntegrityProblem, IssuerCard, OperationRefused, card_txn,
)
from icpurse.host.issuance import migrate as mg
from icpurse.host.issuance import rekey as rk
from icpurse.host.ledger import IdempotencyConflict, LedgerError, NotFound, Refused as LedgerRefused
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan

_OPEN_VOID = ("pending", "unconfirmed")
_NOTHING = "Nothing was written or booked."


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
    migrated: bool = False  # the card was moved from layout v1 to v2 before this top-up

    @property
    def ok(self) -> bool:
        return self.state in ("confirmed", "voided")

    def as_dict(self):
        return dict(asdict(self), ok=self.ok)


# --- the card on the reader -------------------------------------------------------------------


def _open(ledger, tag, keys, issuer=None):
    """The presented card (IssuerCard: key B, read and verified), matched with its ledger record."""
    c = IssuerCard(tag, keys, nothing_done=_NOTHING)
    c.check_issuer(issuer)
    try:
        registered = ledger.cards.card(c.number)
    except NotFound:
        raise OperationRefused("card %s (UID %s) is not registered in this ledger. %s" % (
            c.number, c.uid_hex, _NOTHING)) from None
    if registered.uid != c.uid_hex:
        raise IntegrityProblem("card number %s is registered for UID %s, but this card's UID is %s (a copy?): "
                               "nothing was written or booked; report the card" % (c.number, registered.uid, c.uid_hex))
    return c


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
    ledger does for its own refusals."""

    def __init__(self, ledger, operator, action, card_number=None, txn_id=None):
        self.ledger, self.operator, self.action = ledger, operator, action
        self.card_number, self.txn_id = card_number, txn_id

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or not isinstance(exc, CardFlowError) or exc.audited:
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
           current_version: int | None = None, records: dict | None = None, migrate: bool = True) -> Outcome:
    """Top up the card on the reader (`tag`) by `amount` fen. `keys`: the workstation KeyRing;
    `card`: the card number the operator expects (checked against the card); `txn_id`: the
    idempotency key (re-sending it continues or returns the same top-up, never a second one).

    Returns the Outcome (confirmed / reversed / unconfirmed); raises OperationRefused, CardProblem or
    IntegrityProblem (host/cards) when nothing was written or booked (every refusal is audited).
    `records`: what the ledger keeps with the top-up (`book_topup_pending`'s payer_account,
    holder_id_number, agent, kiosk). `migrate`: a layout v1 card is moved to layout v2 first
    (host/issuance/migrate.py, its own journal; `Outcome.migrated`); False tops it up as v1."""
    with _audit_refusals(ledger, operator, "topup.refused", card) as ctx:
        return _top_up(ctx, ledger, tag, keys, amount, operator, card, txn_id, payment_method, terminal, issuer,
                       current_version, records or {}, migrate)


def _top_up(ctx, ledger, tag, keys, amount, operator, card, txn_id, payment_method, terminal, issuer, current_version,
            records, migrate):
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise OperationRefused("a top-up amount is a positive integer number of fen, got %r" % (amount,))
    _resume_rekey(ledger, tag, keys, operator)
    c = _open(ledger, tag, keys, issuer)
    ctx.card_number = c.number
    if card is not None and card != c.number:
        raise OperationRefused("the card on the reader is %s, not %s. %s" % (c.number, card, _NOTHING))
    if txn_id is not None:
        done = _resend(ledger, c, txn_id, amount, operator)
        if done is not None:
            return done
    open_ = _open_items(ledger, c.number)
    if open_:
        raise OperationRefused("card %s has %s not yet settled on the card: run `icpurse topup reconfirm` with this "
                               "card on the reader first. %s" % (c.number, ", ".join(_describe(t) for t in open_),
                                                                 _NOTHING))
    refuse_rolled_back(ledger, c, operator)
    current = current_version if current_version is not None else max(keys.versions())
    now = ledger.now()
    today = cardtime.day(now)
    expiry = c.view.expiry
    if expiry and today > expiry:
        raise OperationRefused("card %s expired on %s: re-activate or exchange it first (its balance is kept). %s" % (
            c.number, cardtime.to_date(expiry), _NOTHING))
    rekeyed = ""
    if c.version < current:
        # re-key first (its own journal), then the top-up on the new keys
        rk.rekey_card(ledger, tag, keys, c.number, current, operator, "Nothing was booked.")
        try:
            c.reopen()
        except CardFlowError as e:
            raise CardProblem("card %s was re-keyed to key version %d but could not be read again (%s): present it "
                              "again. Nothing was booked." % (c.number, current, e)) from None
        rekeyed = " (the card was re-keyed to key version %d first)" % current
    key = txn_id or "topup-%s" % uuid.uuid4().hex
    try:
        pending = ledger.topup_records.book_topup_pending(c.number, amount, key, operator=operator, terminal=terminal,
                                            payment_method=payment_method, card_seq=c.view.seq,
                                            card_balance=c.view.balance, **records)
    except (LedgerRefused, IdempotencyConflict) as e:
        raise _audited(OperationRefused("%s. Nothing was %s." % (
            e, "booked%s" % rekeyed if rekeyed else "written or booked"))) from None
    migrated = False
    if migrate and c.view.layout == codec.LAYOUT_VERSION:
        # layout v1 -> v2 after the booking's checks (a refused top-up leaves the card as it is) and
        # before the top-up's own write, which is then a v2 issuer write. The move has its own
        # journal; the booking recorded the v1 counter, which `_settle` maps through that journal.
        # The move failing means the top-up's write never began: the booking goes back.
        reversed_ = "The top-up booked was reversed (账务撤销); nothing was credited."
        try:
            mg.migrate_card(ledger, tag, keys, c.number, operator, reversed_)
            try:
                c.reopen()
            except CardFlowError as e:
                raise CardProblem("card %s was moved to layout v2 but could not be read again (%s): present it "
                                  "again. %s" % (c.number, e, reversed_)) from None
        except CardFlowError as e:
            ledger.topup_records.book_topup_reverse(key, operator=operator, reason="the card was not moved to layout "
                                                                                   "v2 first: %s" % e)
            raise
        migrated = True
        rekeyed += " (the card was moved from layout v1 to v2 first, balance %s carried)" % fmt_yuan(c.view.balance)
    try:
        c.recover()  # roll a torn balance block forward first (the card's own state)
        slot = c.credit(amount, codec.TXN_LOAD, card_txn(pending.id), now)
    except Exception as e:  # noqa: BLE001 - whatever broke after the write may have been sent: unknown
        if not _refused(e):
            return replace(_after_failure(ledger, c, ledger.topup_records.topup(key), operator, e), migrated=migrated)
        # refused before the commit point: the card holds what it held, so the booking goes back
        ledger.topup_records.book_topup_reverse(key, operator=operator, reason="card refused the write: %s" % e.reason)
        return Outcome("topup", key, c.number, amount, "reversed", c.view.balance, c.view.seq,
                       "the card refused the write (%s); the booking was reversed (账务撤销). Nothing was credited.%s"
                       % (e.reason, rekeyed), migrated)
    ledger.topup_records.book_topup_confirm(key, card_seq=slot[codec.PURSE_SLOT_SEQ], operator=operator)
    _seen(ledger, c)
    return Outcome("topup", key, c.number, amount, "confirmed", c.view.balance, c.view.seq,
                   "card %s topped up by %s; balance %s%s" % (c.number, fmt_yuan(amount), fmt_yuan(c.view.balance),
                                                              rekeyed), migrated)


def refuse_rolled_back(ledger, c, operator):
    """Before crediting: the card's counter must not be below the highest the ledger saw for it
    (audit.card.highest_seen). A lower one is a card written back to an older dump (or a clone): it is
    refused — crediting it would re-seal the rolled-back state — and put on the exception list."""
    from icpurse.host.audit.card import highest_seen

    top, where = highest_seen(ledger, c.number, c.uid_hex)
    if top is None or c.view.seq >= top:
        return
    try:
        ledger.store.add_exception(
            "topup_rollback:%s:%d:%d" % (c.number, c.view.seq, top), "rollback",
            "card %s presented for a top-up with counter %d, below %d seen before (%s): rolled back or cloned" % (
                c.number, c.view.seq, top, where), card_number=c.number, amount=c.view.balance,
            evidence={"card_seq": c.view.seq, "card_balance": c.view.balance, "highest_seen": top, "where": where,
                      "operator": operator if isinstance(operator, str) else getattr(operator, "username", None)},
            proposal="blacklist")
    except LedgerError:
        pass  # the refusal below is what the counter needs
    raise IntegrityProblem("card %s was rolled back: its counter is %d, the ledger saw %d before (%s). It is not "
                           "credited (that would seal the old state again). %s Keep the card and call the back office: "
                           "it is on the exception list (`icpurse reconcile exceptions`)." % (
                               c.number, c.view.seq, top, where, _NOTHING))


def _refused(exc):
    """True if the purse's rules refused the card write: nothing of it was written."""
    return isinstance(exc, CardFlowError) and exc.refusal is not None


def _resend(ledger, c, txn_id, amount, operator):
    """The same transaction again: its result, or its settlement; None if it is new."""
    try:
        t = ledger.topup_records.topup(txn_id)
    except NotFound:
        return None
    if t.card_number != c.number or t.amount != amount:
        raise OperationRefused("transaction %s was already used for %s on card %s. %s" % (
            txn_id, fmt_yuan(t.amount), t.card_number, _NOTHING))
    if t.state in ("pending", "unconfirmed"):
        return _settle(ledger, c, t, operator)
    if t.state == "reversed":
        raise OperationRefused("transaction %s was reversed; a new top-up needs a new transaction id" % txn_id)
    return Outcome("topup", t.txn_id, c.number, t.amount, t.state, c.view.balance, c.view.seq,
                   "transaction %s is already %s; nothing done again" % (txn_id, t.state))


# --- key-version rollover ----------------------------------------------------------------------


def _resume_rekey(ledger, tag, keys, operator):
    """Finish a re-key of the card on the reader left half-done; refuse a card whose re-key was
    found damaged (rekey.resume_rekey); then finish a move to layout v2 that reached the card
    (migrate.resume_migration): a card left between the two does not open otherwise."""
    rk.resume_rekey(ledger, tag, keys, operator, "Nothing was booked.")
    mg.resume_migration(ledger, tag, keys, operator, "Nothing was booked.")


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
        raise OperationRefused("no top-up %s in the ledger" % txn_id) from None
    ctx.card_number = t.card_number
    if amount is not None and amount != t.amount:
        raise OperationRefused("a void takes back the full amount of top-up %s (%s), not %s; for a part, use a refund "
                               "or adjustment. %s" % (txn_id, fmt_yuan(t.amount), fmt_yuan(amount), _NOTHING))
    _resume_rekey(ledger, tag, keys, operator)
    c = _open(ledger, tag, keys, issuer)
    if c.number != t.card_number:
        raise OperationRefused("top-up %s was made on card %s; the card on the reader is %s. %s" % (
            txn_id, t.card_number, c.number, _NOTHING))
    if t.state == "voided":
        return Outcome("void", txn_id, c.number, t.amount, "voided", c.view.balance, c.view.seq,
                       "top-up %s is already voided; nothing done again" % txn_id)
    open_ = _open_items(ledger, c.number)
    if open_:
        raise OperationRefused("card %s has %s not yet settled on the card: run `icpurse topup reconfirm` first. %s" % (
            c.number, ", ".join(_describe(x) for x in open_), _NOTHING))
    if t.state == "confirmed" and c.view.balance < t.amount:
        raise OperationRefused("card %s holds %s, less than the %s of top-up %s (already spent): a void is for the full "
                               "amount; use a refund or adjustment. %s" % (
                                   c.number, fmt_yuan(c.view.balance), fmt_yuan(t.amount), txn_id, _NOTHING))
    try:
        ledger.topup_records.book_void_pending(txn_id, operator, card_present=True, card_seq=c.view.seq)
    except LedgerRefused as e:
        raise _audited(OperationRefused("%s. %s" % (e, _NOTHING))) from None
    try:
        c.recover()
        slot = c.void(t.amount, card_txn(t.id), ledger.now())
    except Exception as e:  # noqa: BLE001 - outcome unknown
        if not _refused(e):
            return _after_failure(ledger, c, ledger.topup_records.topup(txn_id), operator, e)
        ledger.topup_records.book_void_cancel(txn_id, operator=operator, reason="card refused the write: %s" % e.reason)
        return Outcome("void", txn_id, c.number, t.amount, "void_cancelled", c.view.balance, c.view.seq,
                       "the card refused the void (%s); top-up %s stays confirmed" % (e.reason, txn_id))
    ledger.topup_records.book_void_confirm(txn_id, card_seq=slot[codec.PURSE_SLOT_SEQ], operator=operator)
    _seen(ledger, c)
    return Outcome("void", txn_id, c.number, t.amount, "voided", c.view.balance, c.view.seq,
                   "top-up %s voided: %s taken back from card %s (balance %s); hand the money back" % (
                       txn_id, fmt_yuan(t.amount), c.number, fmt_yuan(c.view.balance)))


# --- refund / adjustment after the cut-off (four eyes, written like a void) -----------------------


def apply_adjustment(ledger, tag, keys, adjustment_id: int, operator, *, issuer: int | None = None) -> Outcome:
    """Write an approved refund or adjustment of a top-up to its card (the card on the reader), like
    a void: a refund or debit takes the amount off the card (a VOID slot), a credit adds it (a LOAD
    slot); issuer terminal 0, `txn` = the adjustment's number. The money is booked when the card
    shows it. Run again after an interruption: it first looks for its own write on the card
    (found: confirmed; provably absent: back to approved, written again; unknown: unconfirmed)."""
    with _audit_refusals(ledger, operator, "topup.adjust_refused") as ctx:
        return _apply_adjustment(ctx, ledger, tag, keys, adjustment_id, operator, issuer)


def _adjustment_kind(a):
    return codec.TXN_VOID if a.takes_back else codec.TXN_LOAD


def _apply_adjustment(ctx, ledger, tag, keys, adjustment_id, operator, issuer):
    a = ledger.adjustments.adjustment(adjustment_id)
    ctx.card_number, ctx.txn_id = a.card_number, a.txn_id
    _resume_rekey(ledger, tag, keys, operator)
    c = _open(ledger, tag, keys, issuer)
    if c.number != a.card_number:
        raise OperationRefused("refund/adjustment %d is for card %s; the card on the reader is %s. %s" % (
            adjustment_id, a.card_number, c.number, _NOTHING))
    what = "%s of %s (%s)" % (a.kind, a.txn_id, fmt_yuan(a.amount))
    if a.state == "confirmed":
        return Outcome("adjustment", a.txn_id, c.number, a.amount, "confirmed", c.view.balance, c.view.seq,
                       "%s is already on the card; nothing done again" % what)
    if a.state in ("pending", "unconfirmed"):
        seq = a.card_seq_before + 1 if a.card_seq_before is not None else None
        found = c.find(_adjustment_kind(a), card_txn(a.id), a.amount, seq)
        if found == COMMITTED:
            note = _finish(c, seq, ledger)
            ledger.adjustments.confirm(operator, adjustment_id)
            _seen(ledger, c)
            return Outcome("adjustment", a.txn_id, c.number, a.amount, "confirmed", c.view.balance, c.view.seq,
                           "the card shows the %s: confirmed%s" % (what, note))
        if found != ABSENT or seq is None:
            return Outcome("adjustment", a.txn_id, c.number, a.amount, "undecided", c.view.balance, c.view.seq,
                           "card %s has moved on and no longer tells whether the %s reached it: settle it from the "
                           "reader journals at reconciliation" % (c.number, what))
        ledger.adjustments.settle(operator, adjustment_id, "cancelled", "the card does not show it")
    open_ = _open_items(ledger, c.number)
    if open_:
        raise OperationRefused("card %s has %s not yet settled on the card: run `icpurse topup reconfirm` first. %s" % (
            c.number, ", ".join(_describe(x) for x in open_), _NOTHING))
    try:
        ledger.adjustments.start(operator, adjustment_id, card_seq=c.view.seq, card_balance=c.view.balance)
    except LedgerRefused as e:
        raise _audited(OperationRefused("%s. %s" % (e, _NOTHING))) from None
    try:
        c.recover()
        if a.takes_back:
            c.void(a.amount, card_txn(a.id), ledger.now())
        else:
            c.credit(a.amount, codec.TXN_LOAD, card_txn(a.id), ledger.now(), _cap(ledger, c.number))
    except Exception as e:  # noqa: BLE001 - whatever broke after the write may have been sent: unknown
        if _refused(e):
            ledger.adjustments.settle(operator, adjustment_id, "cancelled", "card refused the write: %s" % e.reason)
            return Outcome("adjustment", a.txn_id, c.number, a.amount, "cancelled", c.view.balance, c.view.seq,
                           "the card refused the %s (%s); nothing was booked" % (what, e.reason))
        ledger.adjustments.settle(operator, adjustment_id, "unconfirmed", str(e))
        return Outcome("adjustment", a.txn_id, c.number, a.amount, "unconfirmed", None, None,
                       "the card write was interrupted (%s): put card %s back on the reader and run `icpurse topup "
                       "apply %d` again" % (e, c.number, adjustment_id))
    ledger.adjustments.confirm(operator, adjustment_id)
    _seen(ledger, c)
    money = "hand %s back to the payer" % fmt_yuan(a.amount) if a.kind == "refund" else "the books are corrected"
    return Outcome("adjustment", a.txn_id, c.number, a.amount, "confirmed", c.view.balance, c.view.seq,
                   "%s written to card %s (balance %s): %s" % (what, c.number, fmt_yuan(c.view.balance), money))


def _cap(ledger, card_number):
    from icpurse.host.programmes import load_profile

    view = ledger.cards.card(card_number)
    prog = ledger.programmes.programme(view.programme_id)
    return prog.effective_cap(view.kind, load_profile(prog.profile)) or 0


# --- unknown outcomes and re-confirmation (补确认 / 撤销补确) -------------------------------------


def unconfirmed(ledger):
    """Top-ups and voids whose card write is not confirmed (the unconfirmed-transaction query)."""
    return ledger.topup_records.unconfirmed_topups()


def reconfirm(ledger, tag, keys, operator=None, *, issuer: int | None = None) -> list[Outcome]:
    """Settle every open top-up or void of the card on the reader from what the card shows.
    Idempotent: a second run finds nothing open and changes nothing."""
    if operator is not None:
        _resume_rekey(ledger, tag, keys, operator)  # a card left half re-keyed does not read otherwise
    c = _open(ledger, tag, keys, issuer)
    out = [_settle(ledger, c, t, operator) for t in _open_items(ledger, c.number)]
    return out


def _after_failure(ledger, c, item, operator, exc):
    """The card write broke off. A card error from a reader that still answers: read the card back
    at once and settle from what it shows. Otherwise (or if the read-back fails): unconfirmed."""
    if isinstance(exc, CardProblem):
        try:
            c.reopen()
            result = _settle(ledger, c, item, operator)
        except CardFlowError:
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
                       type(exc.cause or exc).__name__, exc.cause or exc, item.card_number,
                       "void" if is_void else "top up"))


def _settle(ledger, c, item, operator) -> Outcome:
    is_void = item.void_state in _OPEN_VOID
    kind = codec.TXN_VOID if is_void else codec.TXN_LOAD
    before = item.void_card_seq_before if is_void else item.card_seq_before
    before = mg.counter_after_move(ledger, item.card_number, before)
    seq = before + 1 if before is not None else None
    found = c.find(kind, card_txn(item.id), item.amount, seq)
    if found == ABSENT and seq is None:
        found = UNKNOWN  # booked without the card's counter: absence cannot be concluded (docs/card-layout.md)
    action = "void" if is_void else "topup"
    if found == COMMITTED:
        note = _finish(c, seq, ledger)
        if is_void:
            ledger.topup_records.book_void_confirm(item.txn_id, card_seq=seq, operator=operator)
            state, msg = "voided", "the card shows the void of %s: confirmed (撤销补确); hand the money back" % (
                item.txn_id)
        else:
            ledger.topup_records.book_topup_confirm(item.txn_id, card_seq=seq, operator=operator)
            state, msg = "confirmed", "the card shows top-up %s: confirmed (补确认)" % item.txn_id
        _seen(ledger, c)
        return Outcome(action, item.txn_id, c.number, item.amount, state, c.view.balance, c.view.seq, msg + note)
    if found == ABSENT:
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


def _finish(c, seq, ledger):
    """Finish the card side of a committed transaction (balance block, log entry): IssuerCard.finish."""
    try:
        notes = c.finish(seq, ledger.now())
    except CardFlowError as e:
        if not _refused(e):
            raise
        notes = ["the card needs attention: %s (`icpurse card recover`)" % e.reason]
    return "; " + ", ".join(notes) if notes else ""


def _seen(ledger, c):
    try:
        ledger.cards.record_card_seen(c.number, c.view.seq, c.view.balance, "topup")
    except LedgerError:
        pass  # a memo for reconciliation; the booking itself is done


__all__ = ["top_up", "void", "unconfirmed", "reconfirm", "apply_adjustment", "Outcome"]
