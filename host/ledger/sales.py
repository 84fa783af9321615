"""Sale, payment and activation (`Ledger.sales`): 销售, 收款, 开通.

Internal control: a card is activated only after finance confirmed the payment, by an operator
whose role differs from the seller's; the refusal is audited. `payment_rules` (the profile's
non-cash and credit-card rules) applies to top-ups too.
"""
from __future__ import annotations

from sqlalchemy import select

from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger import stock
from icpurse.host.ledger.cards import HolderInfo, add_holder, card_row
from icpurse.host.ledger.errors import (
    CapExceededError, InvalidStateError, NonCashRequiredError, RealNameRequiredError, RoleError,
    SeparationOfDutiesError,
)
from icpurse.host.ledger.models import Card, JournalEntry, Operator, Sale
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.programmes import load_programme
from icpurse.host.ledger.views import CardView, SaleView, card_view
from icpurse.host.programmes import load_profile
from icpurse.host.programmes.model import PAYMENT_METHODS
from icpurse.protocol.money import fmt_yuan

ACTIVATOR_ROLES = ("finance", "issuer-admin")


def _open_sale(s, card: Card) -> Sale:
    sale = s.execute(select(Sale).where(Sale.card_id == card.id).order_by(Sale.id.desc())).scalars().first()
    if sale is None:
        raise InvalidStateError("card %s has not been sold" % card.card_number)
    return sale


class Sales:
    """Sales, payment confirmation and activation (`Ledger.sales`)."""

    def __init__(self, uow):
        self.uow = uow

    def record_sale(self, seller: Operator | str, card_number: str, *, payment_method: str = "cash",
                    buyer: str = "individual", remote: bool = False, holder: HolderInfo | None = None,
                    purchase_total: int | None = None, payer_account: str | None = None,
                    agent: HolderInfo | None = None, for_another: bool = False) -> SaleView:
        """销售: a seller sells a card at its face value. Real-name and non-cash rules of the profile
        apply (`purchase_total` = the whole purchase this card is part of, for the thresholds).

        Records the rules require: a non-cash payment names the payer's account (`payer_account`);
        where real-name capture applies and the person at the counter buys for someone else (a unit,
        or `for_another` person), the agent's (经办人) name, ID number and contact (`agent`)."""
        if payment_method not in PAYMENT_METHODS:
            raise ValueError("unknown payment method %r" % payment_method)
        if buyer not in ("individual", "unit"):
            raise ValueError("buyer is individual or unit, got %r" % buyer)

        def do(s):
            op = operator_row(s, seller, ("seller",), "sell a card")
            card = card_row(s, card_number)
            prog = load_programme(s, card.programme_id)
            profile = load_profile(prog.profile)
            amount = card.face_value
            total = purchase_total if purchase_total is not None else amount
            cap = prog.effective_cap(card.kind, profile)
            if cap is not None and amount > cap:
                raise CapExceededError("card %s: %s exceeds the %s-card cap of %s" % (
                    card_number, fmt_yuan(amount), card.kind, fmt_yuan(cap)))
            payment_rules(prog, profile, payment_method, buyer, remote, total, payer_account)
            need_name = card.kind == "named" or (
                _threshold(prog.real_name_anonymous_threshold, profile.real_name_anonymous_threshold) is not None
                and total >= _threshold(prog.real_name_anonymous_threshold, profile.real_name_anonymous_threshold))
            if need_name and holder is None:
                raise RealNameRequiredError("card %s: real-name capture required (%s)" % (
                    card_number, "named card" if card.kind == "named" else "anonymous purchase of %s" % fmt_yuan(total)))
            if need_name and (buyer == "unit" or for_another) and agent is None:
                raise RealNameRequiredError("card %s: bought %s: the agent's (经办人) name, ID number and contact are "
                                            "required too" % (card_number, "by a unit" if buyer == "unit" else
                                                              "for another person"))
            payer_account_rule(payment_method, payer_account)
            stock.move(self.uow, card.stock, "sold")
            h = add_holder(self.uow, s, holder) if holder is not None else None
            agent_row = add_holder(self.uow, s, agent) if agent is not None else None
            if card.kind == "named":
                card.holder_id = h.id
            sale = Sale(card_id=card.id, seller_id=op.id, amount=amount, payment_method=payment_method,
                        buyer_kind=buyer, remote=remote, buyer_holder_id=h.id if h else None,
                        payer_account=payer_account, agent_holder_id=agent_row.id if agent_row else None,
                        state="recorded", created_at=self.uow.now())
            s.add(sale)
            s.flush()
            self.uow.audit(s, op, "card.sell", card=card_number, sale=sale.id, amount=amount,
                           payment_method=payment_method, buyer=buyer, remote=remote, real_name=h is not None,
                           agent=agent_row is not None, payer_account=bool(payer_account))
            return _sale_view(s, sale, card)

        return self.uow.run("card.sell", seller, do, card=card_number)

    def confirm_payment(self, finance: Operator | str, card_number: str, reference: str = "") -> SaleView:
        """收款: finance confirms the sale's money was received; books cash/bank against the card's
        prepaid liability. The finance operator may not be the seller."""
        def do(s):
            op = operator_row(s, finance, ("finance",), "confirm a payment")
            card = card_row(s, card_number)
            sale = _open_sale(s, card)
            if sale.state != "recorded":
                raise InvalidStateError("card %s: sale %d is %s, not awaiting payment" % (card_number, sale.id, sale.state))
            if op.id == sale.seller_id:
                raise SeparationOfDutiesError("%s sold card %s and cannot also confirm its payment" % (
                    op.username, card_number))
            stock.move(self.uow, card.stock, "paid")
            sale.state, sale.confirmed_by, sale.confirmed_at = "paid", op.id, self.uow.now()
            bk.book(s, "sale:%d" % sale.id, "sale", [
                bk.Line(bk.account(s, bk.payment_account(sale.payment_method)), sale.amount),
                bk.Line(bk.prepaid_account(s, card), -sale.amount),
            ], self.uow.now(), card=card, operator_id=op.id, memo=reference)
            self.uow.audit(s, op, "card.confirm_payment", card=card_number, sale=sale.id, amount=sale.amount,
                           reference=reference)
            return _sale_view(s, sale, card)

        return self.uow.run("card.confirm_payment", finance, do, card=card_number)

    def face_value_entry(self, card_number: str) -> int | None:
        """The id of the journal entry that booked the card's face value (its sale's payment,
        confirmed by finance), or None when no payment was confirmed for the card (a replacement
        card carries a balance moved to it, not a face value). The card's ISSUE credit carries it."""
        with self.uow.read() as s:
            card = card_row(s, card_number)
            sale = s.execute(select(Sale).where(Sale.card_id == card.id, Sale.state.in_(("paid", "activated")))
                             .order_by(Sale.id.desc())).scalars().first()
            if sale is None:
                return None
            return s.execute(select(JournalEntry.id).where(JournalEntry.idempotency_key == "sale:%d" % sale.id)
                             ).scalar_one_or_none()

    def activate(self, card_number: str, operator: Operator | str) -> CardView:
        """开通: only after payment is confirmed, and by an operator whose role differs from the seller's."""
        def do(s):
            op = operator_row(s, operator)
            card = card_row(s, card_number)
            sale = _open_sale(s, card)
            seller = s.get(Operator, sale.seller_id)
            if op.id == seller.id or op.role == seller.role:
                raise SeparationOfDutiesError(
                    "card %s was sold by %s (%s); activation needs an operator of another role, not %s (%s)" % (
                        card_number, seller.username, seller.role, op.username, op.role))
            if op.role not in ACTIVATOR_ROLES:
                raise RoleError("activate a card: operator %s has role %s; needs %s" % (
                    op.username, op.role, " or ".join(ACTIVATOR_ROLES)))
            if sale.state != "paid":
                raise InvalidStateError("card %s: payment not confirmed by finance (sale is %s)" % (
                    card_number, sale.state))
            stock.move(self.uow, card.stock, "activated")
            sale.state, sale.activated_by, sale.activated_at = "activated", op.id, self.uow.now()
            self.uow.audit(s, op, "card.activate", card=card_number, sale=sale.id, seller=seller.username)
            return card_view(card)

        return self.uow.run("card.activate", operator, do, card=card_number)


def _sale_view(s, sale, card) -> SaleView:
    seller = s.get(Operator, sale.seller_id)
    return SaleView(sale.id, card.card_number, seller.username, sale.amount, sale.payment_method, sale.state)


def _threshold(programme_value, profile_value):
    """The stricter (lower) of two optional thresholds."""
    values = [v for v in (programme_value, profile_value) if v is not None]
    return min(values) if values else None


def payer_account_rule(method, payer_account):
    """A non-cash payment is recorded with the payer's account (name and number): the profile's
    record-keeping rule for non-cash payments."""
    if method != "cash" and not (payer_account or "").strip():
        raise NonCashRequiredError("a %s payment must be recorded with the payer's account name and number "
                                   "(--payer-account)" % method.replace("_", " "))


def payment_rules(prog, profile, method, buyer, remote, total, payer_account):
    """The programme's payment methods and the profile's non-cash rules for a purchase of `total` fen."""
    if method not in prog.payment_methods:
        raise NonCashRequiredError("programme %s does not accept %s" % (prog.id, method))
    if method == "credit_card" and profile.credit_card_forbidden:
        raise NonCashRequiredError("the %s profile forbids buying or topping up with a credit card" % profile.id)
    if method != "cash":
        return
    unit = _threshold(prog.non_cash_unit_threshold, profile.non_cash_unit_threshold)
    indiv = _threshold(prog.non_cash_individual_threshold, profile.non_cash_individual_threshold)
    remote_rule = prog.non_cash_remote if prog.non_cash_remote is not None else profile.non_cash_remote
    if buyer == "unit" and unit is not None and total >= unit:
        raise NonCashRequiredError("a unit buying %s must pay by non-cash means (from %s)" % (fmt_yuan(total), fmt_yuan(unit)))
    if buyer == "individual" and indiv is not None and total >= indiv:
        raise NonCashRequiredError("an individual buying %s must pay by non-cash means (from %s)" % (
            fmt_yuan(total), fmt_yuan(indiv)))
    if remote and (remote_rule or profile.non_cash_remote):
        raise NonCashRequiredError("a remote sale must be paid by non-cash means")
