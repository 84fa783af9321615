"""Refunds and adjustments of confirmed top-ups after the cut-off (`Ledger.adjustments`).

A void (撤销) is possible only the same business day before the cut-off; after that a top-up is
corrected by a refund (money back to the payer, taken off the card) or an adjustment (a debit or a
credit that corrects a wrong amount). Both follow the same path:

1. `request` by one operator, with a reason (nothing booked, nothing written);
2. `approve` by a second operator of a finance or issuer-admin role (four eyes: never the one who
   asked), or `reject`;

Who (docs/back-office.md): any counter role (seller, terminal-operator, finance, issuer-admin) asks
and, with the card present, writes it; only finance or an issuer-admin other than the asker
approves. A refund is money out: without that second operator's approval nothing is written or
booked (on PostgreSQL the server refuses it too: migration 0004b_operations_pg_roles). A non-cash
top-up is refunded or adjusted only after finance confirmed its payment (`topup confirm-payment`):
money that was never seen to arrive is not paid back.
3. `start` with the card on the reader: every rule checked again, the card's counter recorded
   (state `pending`), then the workstation writes it to the card like a void (issuer terminal 0,
   `txn` = the adjustment's number);
4. `confirm` once the card shows it (the money is booked only now), `cancel` when the card refused
   or does not show it, `unconfirmed` when the outcome is unknown (settled by running the write
   again with the card present: it looks for its own transaction on the card first).
"""
from __future__ import annotations

from dataclasses import dataclass
import datetime as dt

from sqlalchemy import func, select

from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger.errors import InvalidStateError, NotFound, SeparationOfDutiesError
from icpurse.host.ledger.models import Operator, Topup, TopupAdjustment
from icpurse.host.ledger.outlets import effective_cutoff
from icpurse.host.ledger.people import operator_row
from icpurse.protocol.money import fmt_yuan

REQUEST_ROLES = ("seller", "finance", "issuer-admin", "terminal-operator")
APPROVER_ROLES = ("finance", "issuer-admin")
KINDS = ("refund", "debit", "credit")  # refund / debit: off the card; credit: onto the card
_TAKES_BACK = ("refund", "debit")
_OPEN = ("requested", "approved", "pending", "unconfirmed")


@dataclass(frozen=True)
class AdjustmentView:
    id: int
    txn_id: str  # the top-up adjusted
    card_number: str
    kind: str
    amount: int
    reason: str
    state: str
    requested_by: str
    approved_by: str | None
    card_seq_before: int | None
    requested_at: dt.datetime

    @property
    def takes_back(self) -> bool:
        return self.kind in _TAKES_BACK


def _view(s, a: TopupAdjustment) -> AdjustmentView:
    req = s.get(Operator, a.requested_by)
    app = s.get(Operator, a.approved_by) if a.approved_by else None
    return AdjustmentView(a.id, a.topup.txn_id, a.topup.card.card_number, a.kind, a.amount, a.reason, a.state,
                          req.username, app.username if app else None, a.card_seq_before, a.requested_at)


class Adjustments:
    """Top-up refunds and adjustments with four eyes (`Ledger.adjustments`)."""

    def __init__(self, uow):
        self.uow = uow

    def _row(self, s, adjustment_id: int) -> TopupAdjustment:
        a = s.get(TopupAdjustment, adjustment_id)
        if a is None:
            raise NotFound("no refund or adjustment %d (list them with `icpurse topup adjustments`)" % adjustment_id)
        return a

    def _taken_back(self, s, t: Topup, excluding: int | None = None) -> int:
        q = select(func.coalesce(func.sum(TopupAdjustment.amount), 0)).where(
            TopupAdjustment.topup_id == t.id, TopupAdjustment.kind.in_(_TAKES_BACK),
            TopupAdjustment.state.in_(_OPEN + ("confirmed",)))
        if excluding is not None:
            q = q.where(TopupAdjustment.id != excluding)
        return int(s.execute(q).scalar_one())

    def request(self, operator: Operator | str, txn_id: str, kind: str, amount: int, reason: str) -> AdjustmentView:
        if kind not in KINDS:
            raise ValueError("an adjustment is a refund, a debit or a credit, got %r" % (kind,))
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("an amount is a positive integer number of fen, got %r" % (amount,))
        if not (reason or "").strip():
            raise ValueError("a refund or adjustment needs a reason (--reason)")

        def do(s):
            op = operator_row(s, operator, REQUEST_ROLES, "request a top-up refund or adjustment")
            t = s.execute(select(Topup).where(Topup.txn_id == txn_id)).scalar_one_or_none()
            if t is None:
                raise NotFound("no top-up %s" % txn_id)
            if t.state != "confirmed":
                raise InvalidStateError("top-up %s is %s; only a confirmed top-up is refunded or adjusted" % (
                    txn_id, t.state))
            if t.payment_method != "cash" and t.payment_confirmed_by is None:
                # money out (or a correction) of money finance has not seen arrive: the booking would
                # leave `payments_pending` short when the payment is confirmed
                raise InvalidStateError("top-up %s was paid by %s and finance has not confirmed the payment yet: "
                                        "`icpurse topup confirm-payment %s` first" % (txn_id, t.payment_method, txn_id))
            now = self.uow.now()
            local = now.astimezone(self.uow.calendar.tz)
            cutoff, where = effective_cutoff(s, self.uow.calendar.cutoff, programme=t.card.programme_id,
                                             outlet=t.terminal.outlet if t.terminal is not None else None)
            if local.date() == t.business_date and local.time() < cutoff:
                raise InvalidStateError("top-up %s can still be voided today (cut-off %s, %s): `icpurse topup void "
                                        "%s` with the card on the reader" % (txn_id, cutoff.strftime("%H:%M"), where,
                                                                             txn_id))
            if kind in _TAKES_BACK:
                left = t.amount - self._taken_back(s, t)
                if amount > left:
                    raise InvalidStateError("top-up %s was %s; %s of it can still be taken back, not %s" % (
                        txn_id, fmt_yuan(t.amount), fmt_yuan(left), fmt_yuan(amount)))
            a = TopupAdjustment(topup_id=t.id, kind=kind, amount=amount, reason=reason, state="requested",
                                requested_by=op.id, requested_at=now)
            s.add(a)
            s.flush()
            self.uow.audit(s, op, "topup.adjust_request", card=t.card.card_number, txn=txn_id, id=a.id, kind=kind,
                           amount=amount, reason=reason)
            return _view(s, a)

        return self.uow.run("topup.adjust_request", operator, do, details={"txn": txn_id, "kind": kind,
                                                                           "amount": amount})

    def approve(self, operator: Operator | str, adjustment_id: int, *, approve: bool = True,
                reason: str = "") -> AdjustmentView:
        """The second pair of eyes: another operator than the requester, of a finance or
        issuer-admin role, approves (or rejects) the request."""
        def do(s):
            op = operator_row(s, operator, APPROVER_ROLES, "approve a top-up refund or adjustment")
            a = self._row(s, adjustment_id)
            if a.state != "requested":
                raise InvalidStateError("refund/adjustment %d is %s, not awaiting approval" % (adjustment_id, a.state))
            if op.id == a.requested_by:
                raise SeparationOfDutiesError("%s asked for refund/adjustment %d and cannot also approve it (four "
                                              "eyes)" % (op.username, adjustment_id))
            a.state = "approved" if approve else "rejected"
            a.approved_by, a.approved_at = op.id, self.uow.now()
            self.uow.audit(s, op, "topup.adjust_approve" if approve else "topup.adjust_reject",
                           card=a.topup.card.card_number, txn=a.topup.txn_id, id=a.id, reason=reason)
            return _view(s, a)

        return self.uow.run("topup.adjust_approve", operator, do, details={"id": adjustment_id, "approve": approve})

    def start(self, operator: Operator | str, adjustment_id: int, *, card_seq: int, card_balance: int) -> AdjustmentView:
        """Before the card write: approved, the card holds what a take-back takes, the counter kept."""
        def do(s):
            op = operator_row(s, operator, REQUEST_ROLES, "write a top-up refund or adjustment")
            a = self._row(s, adjustment_id)
            if a.state != "approved":
                raise InvalidStateError("refund/adjustment %d is %s; it is written to the card once approved" % (
                    adjustment_id, a.state))
            if a.kind in _TAKES_BACK and card_balance < a.amount:
                raise InvalidStateError("card %s holds %s, less than the %s to take back: a refund to the card "
                                        "holder needs the money on the card" % (
                                            a.topup.card.card_number, fmt_yuan(card_balance), fmt_yuan(a.amount)))
            a.state, a.card_seq_before = "pending", card_seq
            self.uow.audit(s, op, "topup.adjust_pending", card=a.topup.card.card_number, txn=a.topup.txn_id, id=a.id,
                           card_seq=card_seq)
            return _view(s, a)

        return self.uow.run("topup.adjust_pending", operator, do, details={"id": adjustment_id})

    def confirm(self, operator: Operator | str | None, adjustment_id: int) -> AdjustmentView:
        """The card shows it: book the money (idempotent)."""
        def do(s):
            op = operator_row(s, operator) if operator is not None else None
            a = self._row(s, adjustment_id)
            if a.state == "confirmed":
                return _view(s, a)
            if a.state not in ("pending", "unconfirmed"):
                raise InvalidStateError("refund/adjustment %d is %s, not being written" % (adjustment_id, a.state))
            t = a.topup
            lines = [bk.Line(bk.prepaid_account(s, t.card), a.amount),
                     bk.Line(bk.account(s, bk.payment_account(t.payment_method)), -a.amount)]
            if a.kind == "credit":
                lines = [bk.Line(line.account, -line.amount) for line in lines]
            entry, _ = bk.book(s, "topup:%s:adjustment:%d" % (t.txn_id, a.id), "topup_" + a.kind, lines,
                               self.uow.now(), card=t.card, operator_id=op.id if op else None, memo=a.reason)
            a.state, a.settled_at, a.entry_id = "confirmed", self.uow.now(), entry.id
            self.uow.audit(s, op, "topup.adjust_confirm", card=t.card.card_number, txn=t.txn_id, id=a.id,
                           kind=a.kind, amount=a.amount, entry=entry.id)
            return _view(s, a)

        return self.uow.run("topup.adjust_confirm", operator, do, details={"id": adjustment_id})

    def settle(self, operator: Operator | str | None, adjustment_id: int, state: str, reason: str = "") -> AdjustmentView:
        """`cancelled` (the card refused it or does not show it: back to approved, may be written
        again) or `unconfirmed` (outcome unknown)."""
        if state not in ("cancelled", "unconfirmed"):
            raise ValueError("settle as cancelled or unconfirmed, got %r" % (state,))

        def do(s):
            op = operator_row(s, operator) if operator is not None else None
            a = self._row(s, adjustment_id)
            if a.state not in ("pending", "unconfirmed"):
                raise InvalidStateError("refund/adjustment %d is %s, not being written" % (adjustment_id, a.state))
            # a write that did not reach the card leaves the approval standing: it may be written again
            a.state = "unconfirmed" if state == "unconfirmed" else "approved"
            if state == "cancelled":
                a.card_seq_before = None
            self.uow.audit(s, op, "topup.adjust_" + state, card=a.topup.card.card_number, txn=a.topup.txn_id,
                           id=a.id, reason=reason)
            return _view(s, a)

        return self.uow.run("topup.adjust_settle", operator, do, details={"id": adjustment_id, "state": state})

    def adjustment(self, adjustment_id: int) -> AdjustmentView:
        with self.uow.read() as s:
            return _view(s, self._row(s, adjustment_id))

    def adjustments(self, state: str | None = None) -> list[AdjustmentView]:
        with self.uow.read() as s:
            q = select(TopupAdjustment).order_by(TopupAdjustment.id)
            if state is not None:
                q = q.where(TopupAdjustment.state == state)
            return [_view(s, a) for a in s.execute(q).scalars()]
