"""Kiosk top-ups (business-rules §2.3): pending → card write → confirmed; write failed → reversed;
outcome unknown → unconfirmed, settled later by re-confirmation; void only when confirmed, the
same business day, before the cut-off, for the full amount.

Money is booked at `pending` (the back office posts the purchase first) under the key
``topup:<txn_id>``; a reversal or void books the opposite entry under its own key. Re-sending a
transaction id returns the first top-up: never a double credit.
"""
from __future__ import annotations

from sqlalchemy import select

from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger.core import LedgerCore
from icpurse.host.ledger.errors import (
    BlacklistedError, CapExceededError, IdempotencyConflict, InvalidStateError, NotFound,
)
from icpurse.host.ledger.issuance import _payment_rules
from icpurse.host.ledger.models import Operator, Topup
from icpurse.host.ledger.views import TopupView, topup_view
from icpurse.host.programmes import load_profile
from icpurse.host.programmes.model import fmt_yuan

TOPUP_CARD_STATES = ("activated", "in_use")


class TopupMixin(LedgerCore):
    def book_topup_pending(self, card_number: str, amount: int, txn_id: str, *, operator: Operator | str | None = None,
                           terminal: str | None = None, payment_method: str = "cash", card_seq: int | None = None,
                           card_balance: int | None = None) -> TopupView:
        """Book a top-up before writing the card. Same txn_id again: the same top-up, nothing booked."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("a top-up amount is a positive integer number of fen, got %r" % (amount,))

        def do(s):
            existing = s.execute(select(Topup).where(Topup.txn_id == txn_id)).scalar_one_or_none()
            card = self._card(s, card_number)
            if existing is not None:
                if existing.card_id != card.id or existing.amount != amount:
                    raise IdempotencyConflict("transaction %s was already used for another top-up" % txn_id)
                return topup_view(existing)
            op = self._operator(s, operator, ("seller", "finance", "issuer-admin", "terminal-operator"),
                                "top up a card") if operator is not None else None
            term = self._terminal(s, terminal) if terminal is not None else None
            if term is not None and term.status != "enabled":
                raise InvalidStateError("terminal %s is disabled" % terminal)
            if card.stock.state not in TOPUP_CARD_STATES:
                raise InvalidStateError("card %s is %s; only activated cards can be topped up" % (
                    card_number, card.stock.state))
            if self._is_blacklisted(s, card_number):
                raise BlacklistedError("card %s is blacklisted" % card_number)
            prog = self._programme(s, card.programme_id)
            profile = load_profile(prog.profile)
            if not prog.reloadable:
                raise InvalidStateError("programme %s cards cannot be topped up" % prog.id)
            _payment_rules(prog, profile, payment_method, "individual", False, amount, None)
            open_ = s.execute(select(Topup.txn_id).where(Topup.card_id == card.id,
                                                         Topup.state.in_(("pending", "unconfirmed")))).scalars().all()
            if open_:
                raise InvalidStateError("card %s has a top-up not yet confirmed on the card (%s); settle it first" % (
                    card_number, ", ".join(open_)))
            balance = bk.outstanding(s, card)
            cap = prog.effective_cap(card.kind, profile)
            if cap is not None and balance + amount > cap:
                raise CapExceededError("card %s: balance %s + top-up %s = %s exceeds the %s-card cap of %s" % (
                    card_number, fmt_yuan(balance), fmt_yuan(amount), fmt_yuan(balance + amount), card.kind,
                    fmt_yuan(cap)))
            now = self.now()
            t = Topup(txn_id=txn_id, card_id=card.id, terminal_id=term.id if term else None,
                      operator_id=op.id if op else None, amount=amount, payment_method=payment_method,
                      state="pending", card_seq_before=card_seq, card_balance_before=card_balance,
                      business_date=self.business_date(now), created_at=now)
            s.add(t)
            s.flush()
            bk.book(s, "topup:%s" % txn_id, "topup", [
                bk.Line(bk.account(s, bk.payment_account(payment_method)), amount),
                bk.Line(bk.prepaid_account(s, card), -amount),
            ], now, card=card, operator_id=op.id if op else None)
            self._audit(s, op, "topup.pending", card=card_number, terminal=terminal, txn=txn_id, amount=amount)
            return topup_view(t)

        return self._run("topup.pending", operator, do, card=card_number, terminal=terminal,
                         details={"txn": txn_id, "amount": amount})

    def _topup(self, s, txn_id: str) -> Topup:
        t = s.execute(select(Topup).where(Topup.txn_id == txn_id)).scalar_one_or_none()
        if t is None:
            raise NotFound("no top-up %s" % txn_id)
        return t

    def _settle(self, action, txn_id, operator, fn):
        def do(s):
            t = self._topup(s, txn_id)
            op = self._operator(s, operator) if operator is not None else None
            result = fn(s, t, op)
            return result

        return self._run(action, operator, do, details={"txn": txn_id})

    def book_topup_confirm(self, txn_id: str, *, card_seq: int | None = None,
                           operator: Operator | str | None = None) -> TopupView:
        """The card write succeeded (or re-confirmation found it on the card). Idempotent."""
        def fn(s, t, op):
            if t.state == "confirmed":
                return topup_view(t)
            if t.state not in ("pending", "unconfirmed"):
                raise InvalidStateError("top-up %s is %s; it cannot be confirmed" % (txn_id, t.state))
            before = t.state
            t.state, t.card_seq_after, t.settled_at, t.settled_by = "confirmed", card_seq, self.now(), op.id if op else None
            if t.card.stock.state == "activated":
                self._move(t.card.stock, "in_use")
            self._audit(s, op, "topup.confirm", card=t.card.card_number, txn=txn_id, before=before, card_seq=card_seq)
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
            self._audit(s, op, "topup.unconfirmed", card=t.card.card_number, txn=txn_id)
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
            t.state, t.settled_at, t.settled_by = "reversed", self.now(), op.id if op else None
            self._audit(s, op, "topup.reverse", card=t.card.card_number, txn=txn_id, amount=t.amount, reason=reason)
            return topup_view(t)

        return self._settle("topup.reverse", txn_id, operator, fn)

    def book_topup_void(self, txn_id: str, operator: Operator | str, *, card_present: bool) -> TopupView:
        """撤销: only a confirmed top-up, the same business day, before the cut-off, the full amount,
        with the card present (the caller writes the void to the card before booking it here)."""
        def fn(s, t, op):
            if op is None:
                raise InvalidStateError("a void needs an operator")
            if t.state == "voided":
                return topup_view(t)
            if t.state != "confirmed":
                raise InvalidStateError("top-up %s is %s; only a confirmed top-up can be voided" % (txn_id, t.state))
            now = self.now()
            local = now.astimezone(self.business_tz)
            if local.date() != t.business_date:
                raise InvalidStateError("top-up %s is from %s; a void is only possible the same day (after that: "
                                        "refund or adjustment)" % (txn_id, t.business_date))
            if local.time() >= self.daily_cutoff:
                raise InvalidStateError("the daily cut-off (%s) has passed; top-up %s can no longer be voided" % (
                    self.daily_cutoff.strftime("%H:%M"), txn_id))
            if not card_present:
                raise InvalidStateError("a void needs the card present")
            self._book_back(s, t, "void", op)
            t.state, t.settled_at, t.settled_by = "voided", now, op.id
            self._audit(s, op, "topup.void", card=t.card.card_number, txn=txn_id, amount=t.amount)
            return topup_view(t)

        return self._settle("topup.void", txn_id, operator, fn)

    def _book_back(self, s, t: Topup, kind: str, op) -> None:
        bk.book(s, "topup:%s:%s" % (t.txn_id, kind), "topup_" + kind, [
            bk.Line(bk.prepaid_account(s, t.card), t.amount),
            bk.Line(bk.account(s, bk.payment_account(t.payment_method)), -t.amount),
        ], self.now(), card=t.card, operator_id=op.id if op else None)

    def topup(self, txn_id: str) -> TopupView:
        with self.session() as s:
            return topup_view(self._topup(s, txn_id))

    def unconfirmed_topups(self) -> list[TopupView]:
        """Top-ups still pending or unconfirmed (the unconfirmed-transaction query)."""
        with self.session() as s:
            return [topup_view(t) for t in s.execute(select(Topup).where(Topup.state.in_(("pending", "unconfirmed")))
                                                       .order_by(Topup.id)).scalars()]
