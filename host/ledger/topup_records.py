"""Top-ups in the books (`Ledger.topup_records`; the kiosk flow that writes the card is
`host/issuance/topup.py`): pending → card write → confirmed; write failed → reversed;
outcome unknown → unconfirmed, settled later by re-confirmation; void only when confirmed, the
same business day, before the cut-off, for the full amount.

Money is booked at `pending` (the back office posts the purchase first) under the key
``topup:<txn_id>``; a reversal or void books the opposite entry under its own key. Re-sending a
transaction id returns the first top-up: never a double credit.

A void written to the card goes through its own states like a purchase: `book_void_pending`
(every void rule checked, nothing booked) → card write → `book_void_confirm` (money booked back,
top-up `voided`); write failed → `book_void_cancel` (the top-up stays confirmed); outcome unknown →
`book_void_unconfirmed`, settled by re-confirmation (撤销补确).
"""
from __future__ import annotations

import hmac

from sqlalchemy import or_, select
from sqlalchemy.orm import object_session

from icpurse.host.ledger import blacklist
from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger import stock
from icpurse.host.ledger.cards import HolderInfo, add_holder, card_row
from icpurse.host.ledger.errors import (
    BlacklistedError, CapExceededError, IdempotencyConflict, IdentityMismatchError, InvalidStateError, NotFound,
    RealNameRequiredError, SeparationOfDutiesError,
)
from icpurse.host.ledger.models import Operator, Topup
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.programmes import load_programme
from icpurse.host.ledger.outlets import effective_cutoff
from icpurse.host.ledger.sales import payer_account_rule, payment_rules
from icpurse.host.ledger.store import terminal_row
from icpurse.host.ledger.views import TopupView, topup_view
from icpurse.host.programmes import load_profile
from icpurse.protocol.money import fmt_yuan

TOPUP_CARD_STATES = ("activated", "in_use")
OPEN_VOID_STATES = ("pending", "unconfirmed")


class TopupRecords:
    """Top-ups and their voids in the books (`Ledger.topup_records`)."""

    def __init__(self, uow):
        self.uow = uow

    def book_topup_pending(self, card_number: str, amount: int, txn_id: str, *, operator: Operator | str | None = None,
                           terminal: str | None = None, payment_method: str = "cash", card_seq: int | None = None,
                           card_balance: int | None = None, payer_account: str | None = None,
                           holder_id_number: str | None = None, agent: HolderInfo | None = None,
                           kiosk: bool = False) -> TopupView:
        """Book a top-up before writing the card. Same txn_id again: the same top-up, nothing booked.
        The cap applies to the post-top-up balance: the higher of the ledger's and the card's
        (`card_balance`, as read from the card) plus the amount.

        Records the rules require: a non-cash payment names the payer's account; a named card's
        top-up captures who tops it up: the holder (`holder_id_number`, checked against the
        registration) or an agent (`agent`: name, ID number, contact). `kiosk`: the top-up is taken
        at a kiosk terminal, which must be a kiosk, enabled and signed in (签到) this business day."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("a top-up amount is a positive integer number of fen, got %r" % (amount,))

        def do(s):
            existing = s.execute(select(Topup).where(Topup.txn_id == txn_id)).scalar_one_or_none()
            card = card_row(s, card_number)
            if existing is not None:
                if existing.card_id != card.id or existing.amount != amount:
                    raise IdempotencyConflict("transaction %s was already used for another top-up" % txn_id)
                return topup_view(existing)
            op = operator_row(s, operator, ("seller", "finance", "issuer-admin", "terminal-operator"),
                              "top up a card") if operator is not None else None
            term = terminal_row(s, terminal) if terminal is not None else None
            if term is not None and term.status != "enabled":
                raise InvalidStateError("terminal %s is disabled: it takes no top-ups (an issuer-admin enables it: "
                                        "`icpurse terminal enable %s`)" % (terminal, terminal))
            if kiosk:
                _kiosk_rules(self.uow, s, term, terminal)
            if card.stock.state not in TOPUP_CARD_STATES:
                raise InvalidStateError("card %s is %s; only activated cards can be topped up" % (
                    card_number, card.stock.state))
            if blacklist.is_listed(s, card_number):
                raise BlacklistedError("card %s is blacklisted" % card_number)
            prog = load_programme(s, card.programme_id)
            profile = load_profile(prog.profile)
            if not prog.reloadable:
                raise InvalidStateError("programme %s cards cannot be topped up" % prog.id)
            payment_rules(prog, profile, payment_method, "individual", False, amount, None)
            _real_name_rules(prog, profile, card, amount)
            payer_account_rule(payment_method, payer_account)
            captured = _capture_real_name(self.uow, s, prog, profile, card, holder_id_number, agent)
            open_ = s.execute(select(Topup.txn_id).where(Topup.card_id == card.id, or_(
                Topup.state.in_(("pending", "unconfirmed")), Topup.void_state.in_(OPEN_VOID_STATES)))).scalars().all()
            if open_:
                raise InvalidStateError("card %s has a top-up or void not yet confirmed on the card (%s); settle it "
                                        "first (re-confirmation)" % (card_number, ", ".join(open_)))
            balance = max(bk.outstanding(s, card), card_balance or 0)
            cap = prog.effective_cap(card.kind, profile)
            if cap is not None and balance + amount > cap:
                raise CapExceededError("card %s: balance %s + top-up %s = %s exceeds the %s-card cap of %s" % (
                    card_number, fmt_yuan(balance), fmt_yuan(amount), fmt_yuan(balance + amount), card.kind,
                    fmt_yuan(cap)))
            now = self.uow.now()
            t = Topup(txn_id=txn_id, card_id=card.id, terminal_id=term.id if term else None,
                      operator_id=op.id if op else None, amount=amount, payment_method=payment_method,
                      payer_account=payer_account, real_name_holder_id=captured, state="pending", card_seq_before=card_seq, card_balance_before=card_balance,
                      business_date=self.uow.business_date(now), created_at=now)
            s.add(t)
            s.flush()
            bk.book(s, "topup:%s" % txn_id, "topup", [
                bk.Line(bk.account(s, _received_into(payment_method, None)), amount),
                bk.Line(bk.prepaid_account(s, card), -amount),
            ], now, card=card, operator_id=op.id if op else None)
            self.uow.audit(s, op, "topup.pending", card=card_number, terminal=terminal, txn=txn_id, amount=amount)
            return topup_view(t)

        return self.uow.run("topup.pending", operator, do, card=card_number, terminal=terminal,
                            details={"txn": txn_id, "amount": amount})

    def _topup(self, s, txn_id: str) -> Topup:
        t = s.execute(select(Topup).where(Topup.txn_id == txn_id)).scalar_one_or_none()
        if t is None:
            raise NotFound("no top-up %s" % txn_id)
        return t

    def _settle(self, action, txn_id, operator, fn):
        def do(s):
            t = self._topup(s, txn_id)
            op = operator_row(s, operator) if operator is not None else None
            result = fn(s, t, op)
            return result

        return self.uow.run(action, operator, do, details={"txn": txn_id})

    def book_topup_confirm(self, txn_id: str, *, card_seq: int | None = None,
                           operator: Operator | str | None = None) -> TopupView:
        """The card write succeeded (or re-confirmation found it on the card). Idempotent."""
        def fn(s, t, op):
            if t.state == "confirmed":
                return topup_view(t)
            if t.state not in ("pending", "unconfirmed"):
                raise InvalidStateError("top-up %s is %s; it cannot be confirmed" % (txn_id, t.state))
            before = t.state
            t.state, t.card_seq_after, t.settled_at, t.settled_by = "confirmed", card_seq, self.uow.now(), op.id if op else None
            if t.card.stock.state == "activated":
                stock.move(self.uow, t.card.stock, "in_use")
            self.uow.audit(s, op, "topup.confirm", card=t.card.card_number, txn=txn_id, before=before, card_seq=card_seq)
            return topup_view(t)

        return self._settle("topup.confirm", txn_id, operator, fn)

    def book_topup_unconfirmed(self, txn_id: str, *, operator: Operator | str | None = None) -> TopupView:
        """The outcome of the card write is unknown (card pulled, link lost): list it for re-confirmation."""
        def fn(s, t, op):
            if t.state == "unconfirmed":
                return topup_view(t)
            if t.state != "pending":
                raise InvalidStateError("top-up %s is %s, not pending" % (txn_id, t.state))
            t.state = "unconfirmed"
            self.uow.audit(s, op, "topup.unconfirmed", card=t.card.card_number, txn=txn_id)
            return topup_view(t)

        return self._settle("topup.unconfirmed", txn_id, operator, fn)

    def book_topup_reverse(self, txn_id: str, *, operator: Operator | str | None = None, reason: str = "") -> TopupView:
        """账务撤销: the card write failed (or re-confirmation found it absent): book the money back."""
        def fn(s, t, op):
            if t.state == "reversed":
                return topup_view(t)
            if t.state not in ("pending", "unconfirmed"):
                raise InvalidStateError("top-up %s is %s; only pending or unconfirmed top-ups are reversed" % (
                    txn_id, t.state))
            self._book_back(s, t, "reversal", op)
            t.state, t.settled_at, t.settled_by = "reversed", self.uow.now(), op.id if op else None
            self.uow.audit(s, op, "topup.reverse", card=t.card.card_number, txn=txn_id, amount=t.amount, reason=reason)
            return topup_view(t)

        return self._settle("topup.reverse", txn_id, operator, fn)

    def _void_rules(self, t: Topup, op, card_present: bool, now) -> None:
        if op is None:
            raise InvalidStateError("a void needs an operator")
        if t.void_state in OPEN_VOID_STATES:
            raise InvalidStateError("a void of top-up %s is already under way (%s); settle it by re-confirmation" % (
                t.txn_id, t.void_state))
        if t.state != "confirmed":
            raise InvalidStateError("top-up %s is %s; only a confirmed top-up can be voided" % (t.txn_id, t.state))
        local = now.astimezone(self.uow.calendar.tz)
        if local.date() != t.business_date:
            raise InvalidStateError("top-up %s is from %s; a void is only possible the same day (after that: "
                                    "refund or adjustment: `icpurse topup refund`)" % (t.txn_id, t.business_date))
        cutoff, _ = effective_cutoff(s_of(t), self.uow.calendar.cutoff, programme=t.card.programme_id,
                                     outlet=t.terminal.outlet if t.terminal is not None else None)
        if local.time() >= cutoff:
            raise InvalidStateError("the daily cut-off (%s) has passed; top-up %s can no longer be voided (only a "
                                    "refund or adjustment now: `icpurse topup refund`)" % (cutoff.strftime("%H:%M"),
                                                                                           t.txn_id))
        if not card_present:
            raise InvalidStateError("a void needs the card present")

    def book_topup_void(self, txn_id: str, operator: Operator | str, *, card_present: bool) -> TopupView:
        """撤销: only a confirmed top-up, the same business day, before the cut-off, the full amount,
        with the card present (the caller writes the void to the card before booking it here)."""
        def fn(s, t, op):
            if t.state == "voided":
                return topup_view(t)
            now = self.uow.now()
            self._void_rules(t, op, card_present, now)
            self._book_back(s, t, "void", op)
            t.state, t.settled_at, t.settled_by = "voided", now, op.id
            self.uow.audit(s, op, "topup.void", card=t.card.card_number, txn=txn_id, amount=t.amount)
            return topup_view(t)

        return self._settle("topup.void", txn_id, operator, fn)

    def book_void_pending(self, txn_id: str, operator: Operator | str, *, card_present: bool,
                          card_seq: int | None = None) -> TopupView:
        """撤销, before the card write: every void rule (confirmed, same business day, before the
        cut-off, full amount, card present) is checked here; `card_seq` is the card's counter before
        the void. Nothing is booked until the card shows the void (`book_void_confirm`)."""
        def fn(s, t, op):
            now = self.uow.now()
            self._void_rules(t, op, card_present, now)
            t.void_state, t.void_card_seq_before, t.void_started_at, t.void_by = "pending", card_seq, now, op.id
            self.uow.audit(s, op, "topup.void_pending", card=t.card.card_number, txn=txn_id, amount=t.amount,
                           card_seq=card_seq)
            return topup_view(t)

        return self._settle("topup.void_pending", txn_id, operator, fn)

    def book_void_confirm(self, txn_id: str, *, card_seq: int | None = None,
                          operator: Operator | str | None = None) -> TopupView:
        """The void is on the card (written now, or found by re-confirmation): book the money back and
        mark the top-up voided. Idempotent."""
        def fn(s, t, op):
            if t.state == "voided":
                return topup_view(t)
            if t.void_state not in OPEN_VOID_STATES:
                raise InvalidStateError("top-up %s has no void under way" % txn_id)
            before = t.void_state
            self._book_back(s, t, "void", op)
            t.state, t.void_state, t.settled_at = "voided", "confirmed", self.uow.now()
            t.settled_by = op.id if op else t.void_by
            self.uow.audit(s, op, "topup.void", card=t.card.card_number, txn=txn_id, amount=t.amount, before=before,
                           card_seq=card_seq)
            return topup_view(t)

        return self._settle("topup.void", txn_id, operator, fn)

    def book_void_unconfirmed(self, txn_id: str, *, operator: Operator | str | None = None) -> TopupView:
        """The outcome of the void's card write is unknown: list it for re-confirmation (撤销补确)."""
        def fn(s, t, op):
            if t.void_state == "unconfirmed":
                return topup_view(t)
            if t.void_state != "pending":
                raise InvalidStateError("top-up %s has no pending void" % txn_id)
            t.void_state = "unconfirmed"
            self.uow.audit(s, op, "topup.void_unconfirmed", card=t.card.card_number, txn=txn_id)
            return topup_view(t)

        return self._settle("topup.void_unconfirmed", txn_id, operator, fn)

    def book_void_cancel(self, txn_id: str, *, operator: Operator | str | None = None, reason: str = "") -> TopupView:
        """The void did not reach the card (write refused or failed, or re-confirmation found the card
        without it): the top-up stays confirmed, nothing is booked. Idempotent."""
        def fn(s, t, op):
            if t.void_state == "cancelled":
                return topup_view(t)
            if t.void_state not in OPEN_VOID_STATES:
                raise InvalidStateError("top-up %s has no void under way" % txn_id)
            t.void_state = "cancelled"
            self.uow.audit(s, op, "topup.void_cancel", card=t.card.card_number, txn=txn_id, reason=reason)
            return topup_view(t)

        return self._settle("topup.void_cancel", txn_id, operator, fn)

    def record_topup_refusal(self, operator: Operator | str | None, action: str, reason: str, *,
                             card_number: str | None = None, txn_id: str | None = None) -> None:
        """A top-up or void refused at the counter from what the card shows (another issuer's card,
        an older key version, a partial void, ...): audited like the ledger's own refusals."""
        def do(s):
            self.uow.audit(s, operator, action, result="refused", card=card_number, txn=txn_id, reason=reason)

        self.uow.run(action, None, do, card=card_number)

    def _book_back(self, s, t: Topup, kind: str, op) -> None:
        bk.book(s, "topup:%s:%s" % (t.txn_id, kind), "topup_" + kind, [
            bk.Line(bk.prepaid_account(s, t.card), t.amount),
            bk.Line(bk.account(s, _received_into(t.payment_method, t.payment_confirmed_by)), -t.amount),
        ], self.uow.now(), card=t.card, operator_id=op.id if op else None)

    def confirm_topup_payment(self, finance: Operator | str, txn_id: str, reference: str = "") -> TopupView:
        """收款确认 of a non-cash top-up: finance confirms the money arrived on the bank account; only then
        does it count as paid (booked from `payments_pending` to `bank`). Not by the operator who took the
        top-up. Idempotent."""
        def do(s):
            op = operator_row(s, finance, ("finance",), "confirm a top-up payment")
            t = self._topup(s, txn_id)
            if t.payment_method == "cash":
                raise InvalidStateError("top-up %s was paid in cash: the counter took it, nothing to confirm" % txn_id)
            if t.payment_confirmed_by is not None:
                return topup_view(t)
            if t.operator_id == op.id:
                raise SeparationOfDutiesError("%s took top-up %s and cannot also confirm its payment" % (
                    op.username, txn_id))
            if t.state in ("reversed", "voided"):
                raise InvalidStateError("top-up %s is %s: its money was booked back" % (txn_id, t.state))
            now = self.uow.now()
            bk.book(s, "topup:%s:paid" % txn_id, "topup_payment", [
                bk.Line(bk.account(s, "bank"), t.amount),
                bk.Line(bk.account(s, "payments_pending"), -t.amount),
            ], now, card=t.card, operator_id=op.id, memo=reference)
            t.payment_confirmed_by, t.payment_confirmed_at = op.id, now
            self.uow.audit(s, op, "topup.confirm_payment", card=t.card.card_number, txn=txn_id, amount=t.amount,
                           method=t.payment_method, reference=reference)
            return topup_view(t)

        return self.uow.run("topup.confirm_payment", finance, do, details={"txn": txn_id})

    def unpaid_topups(self) -> list[TopupView]:
        """Non-cash top-ups whose payment finance has not confirmed yet (still counted as not received)."""
        with self.uow.read() as s:
            q = select(Topup).where(Topup.payment_method != "cash", Topup.payment_confirmed_by.is_(None),
                                    Topup.state.in_(("pending", "confirmed", "unconfirmed"))).order_by(Topup.id)
            return [topup_view(t) for t in s.execute(q).scalars()]

    def topup(self, txn_id: str) -> TopupView:
        with self.uow.read() as s:
            return topup_view(self._topup(s, txn_id))

    def unconfirmed_topups(self) -> list[TopupView]:
        """Top-ups still pending or unconfirmed, and top-ups whose void is (the unconfirmed-transaction
        query)."""
        with self.uow.read() as s:
            q = select(Topup).where(or_(Topup.state.in_(("pending", "unconfirmed")),
                                        Topup.void_state.in_(OPEN_VOID_STATES))).order_by(Topup.id)
            return [topup_view(t) for t in s.execute(q).scalars()]

    def confirmed_topups(self) -> list[TopupView]:
        """Every confirmed top-up, in the order they were taken."""
        with self.uow.read() as s:
            q = select(Topup).where(Topup.state == "confirmed").order_by(Topup.id)
            return [topup_view(t) for t in s.execute(q).scalars()]

    def card_topups(self, card_number: str) -> list[TopupView]:
        """Every top-up of one card, oldest first."""
        with self.uow.read() as s:
            card = card_row(s, card_number)
            return [topup_view(t) for t in s.execute(select(Topup).where(Topup.card_id == card.id)
                                                     .order_by(Topup.id)).scalars()]


def _received_into(method: str, confirmed_by) -> str:
    """The account a top-up's money sits in: cash at once; any other method in `payments_pending` until
    finance confirmed it (then `bank`)."""
    if method == "cash":
        return "cash"
    return "bank" if confirmed_by is not None else "payments_pending"


def _real_name_rules(prog, profile, card, amount) -> None:
    """Real-name capture for every named-card top-up (the holder captured at the sale), and for an
    anonymous top-up at or above the profile's threshold (not taken at a kiosk: sell a named card)."""
    named_rule = prog.real_name_named if prog.real_name_named is not None else profile.real_name_named
    if card.kind == "named" and named_rule and card.holder_id is None:
        raise RealNameRequiredError("card %s is a named card without a registered holder; real-name capture "
                                    "is required for every top-up" % card.card_number)
    thresholds = [v for v in (prog.real_name_anonymous_threshold, profile.real_name_anonymous_threshold)
                  if v is not None]
    if card.kind != "named" and thresholds and amount >= min(thresholds):
        raise RealNameRequiredError("an anonymous top-up of %s needs real-name capture (from %s)" % (
            fmt_yuan(amount), fmt_yuan(min(thresholds))))


def s_of(row):
    """The session a loaded row belongs to (the caller's transaction)."""
    return object_session(row)


def _kiosk_rules(uow, s, term, number) -> None:
    """A kiosk top-up: the terminal is a kiosk, enabled, signed in (签到) this business day."""
    from icpurse.host.ledger.models import TerminalSignIn

    if term is None:
        raise InvalidStateError("a top-up is taken at a kiosk terminal: give its 8-digit number (--terminal)")
    if term.kind != "kiosk":
        raise InvalidStateError("terminal %s is a store reader, not a top-up kiosk" % number)
    today = uow.business_date()
    last = s.execute(select(TerminalSignIn.at).where(TerminalSignIn.terminal_id == term.id)
                     .order_by(TerminalSignIn.id.desc()).limit(1)).scalar_one_or_none()
    if last is None or uow.business_date(last) != today:
        raise InvalidStateError("kiosk %s has not signed in today (签到): `icpurse terminal sign-in %s` first"
                                % (number, number))


def _capture_real_name(uow, s, prog, profile, card, holder_id_number, agent):
    """Who tops up a named card: the holder (ID checked against the registration) or an agent
    (a new real-name record). Returns the holders row id kept with the top-up, or None."""
    named_rule = prog.real_name_named if prog.real_name_named is not None else profile.real_name_named
    if card.kind != "named" or not named_rule:
        return add_holder(uow, s, agent).id if agent is not None else None
    if agent is not None:
        return add_holder(uow, s, agent).id
    if not (holder_id_number or "").strip():
        raise RealNameRequiredError("card %s is a named card: real-name capture at every top-up: the holder's ID "
                                    "number (--holder-id), or the agent's name, ID number and contact (--agent-name, "
                                    "--agent-id, --agent-contact)" % card.card_number)
    if card.holder is None:
        raise RealNameRequiredError("card %s is named but has no registered holder" % card.card_number)
    if not hmac.compare_digest(uow.cipher().index(holder_id_number), card.holder.id_number_index):
        raise IdentityMismatchError("the ID presented is not the registered holder's of card %s: an agent tops "
                                    "up with their own details (--agent-name, --agent-id)" % card.card_number)
    return card.holder_id
