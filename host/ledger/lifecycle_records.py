"""Holder lifecycle in the books (`Ledger.lifecycle_records`): report a named card lost
(blacklisted), move its balance to a replacement, redemption/refund (退卡) with ID capture and the
cash limit, refunds of goods to the card, re-activation of an expired card, closing a card.

These methods change only the ledger; the flows of `icpurse.host.lifecycle` do the card writes around them.
Each is one audited transaction; a refusal changes nothing and is audited. Bookings carry stable
idempotency keys (``replace:<old>``, ``redeem:<card>``, ``goods_refund:<key>``) so a flow interrupted
between the ledger and the card can be run again without booking twice.
"""
from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass

from sqlalchemy import func, select

from icpurse.host.ledger import blacklist
from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger import stock
from icpurse.host.ledger.cards import HolderInfo, add_holder, card_row
from icpurse.host.ledger.errors import (
    BlacklistedError, CapExceededError, CashLimitError, IdentityMismatchError, InvalidStateError, LifecycleRefused,
    RealNameRequiredError,
)
from icpurse.host.ledger.models import (
    AuditEntry, Card, GoodsRefundRef, JournalEntry, Operator, ReaderJournalRecord, Sale, StockCard, Terminal,
)
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.programmes import load_programme
from icpurse.host.programmes import load_profile
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan

LIFECYCLE_ROLES = ("issuer-admin", "finance")
PAYOUTS = ("cash", "bank_transfer")
# Profiles that say nothing about redeeming anonymous cards allow it; PBOC forbids it
# ("anonymous: no loss reporting, no redemption"). A profile field `anonymous_redeemable`, when the
# profile schema has one, takes precedence over this table.
ANONYMOUS_REDEEMABLE_DEFAULT = {"pboc": False}
REPLACEABLE_STATES = {"lost": ("lost",), "exchange": ("activated", "in_use", "expired")}
CLOSABLE_STATES = ("activated", "in_use", "lost", "blocked", "expired", "refunded")


@dataclass(frozen=True)
class LossReport:
    card_number: str
    ledger_balance: int
    blacklist_version: int | None  # None: the card was already on the blacklist


@dataclass(frozen=True)
class Replacement:
    old_card: str
    new_card: str
    amount: int  # fen moved from the old card's liability to the new one
    entry_id: int | None  # the booking (None when the balance was 0)
    reason: str  # lost | exchange
    fee: int = 0  # fen: the programme's replacement (or exchange) fee, paid at the counter


@dataclass(frozen=True)
class Redemption:
    card_number: str
    amount: int
    payout: str  # cash | bank_transfer
    entry_id: int
    account_name: str | None
    account_last4: str | None


@dataclass(frozen=True)
class GoodsRefund:
    card_number: str
    amount: int
    to_card: bool
    entry_id: int


def _fen(amount, what):
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("%s is a positive integer number of fen, got %r" % (what, amount))


def anonymous_redeemable(profile) -> bool:
    value = getattr(profile, "anonymous_redeemable", None)
    if value is not None:
        return bool(value)
    return ANONYMOUS_REDEEMABLE_DEFAULT.get(profile.id, True)


def _rules(s, card: Card):
    prog = load_programme(s, card.programme_id)
    return prog, load_profile(prog.profile)


class LifecycleRecords:
    """The holder lifecycle in the books (`Ledger.lifecycle_records`)."""

    def __init__(self, uow):
        self.uow = uow

    # --- helpers ---

    def _check_holder_id(self, card: Card, id_number: str | None) -> None:
        """Named card: the presented ID number must be the registered holder's (keyed HMAC index)."""
        if not id_number or not id_number.strip():
            raise RealNameRequiredError("card %s is named: the holder's ID number is required" % card.card_number)
        if card.holder is None:
            raise IdentityMismatchError("card %s has no registered holder" % card.card_number)
        given = self.uow.cipher().index(id_number)
        if not hmac.compare_digest(given, card.holder.id_number_index):
            raise IdentityMismatchError("the ID presented is not the registered holder's of card %s" % card.card_number)

    def holder_matches(self, card_number: str, id_number: str) -> bool:
        with self.uow.read() as s:
            card = card_row(s, card_number)
            if card.holder is None:
                return False
            return hmac.compare_digest(self.uow.cipher().index(id_number), card.holder.id_number_index)

    def record_card_write(self, operator: Operator | str | None, card_number: str, what: str, seq: int,
                          balance: int, **details) -> None:
        """Audit a card write the lifecycle tools made (and remember the card's new counter/balance)."""
        def do(s):
            op = operator_row(s, operator) if operator is not None else None
            card = card_row(s, card_number)
            if card.last_seen_seq is None or seq >= card.last_seen_seq:
                card.last_seen_seq, card.last_seen_balance = seq, balance
                card.last_seen_at, card.last_seen_source = self.uow.now(), "card"
            self.uow.audit(s, op, "card.write." + what, card=card_number, seq=seq, balance=balance, **details)

        self.uow.run("card.write." + what, operator, do, card=card_number)

    # --- lost and replacement ---

    def report_lost(self, operator: Operator | str, card_number: str, *, id_number: str | None,
                    note: str = "") -> LossReport:
        """挂失: a named card reported lost by its holder (ID checked) -> state `lost`, blacklisted."""
        def do(s):
            op = operator_row(s, operator, LIFECYCLE_ROLES, "report a card lost")
            card = card_row(s, card_number)
            prog, profile = _rules(s, card)
            term = prog.terms[card.kind].lost_reporting
            allowed = term if term is not None else (
                profile.named_loss_reportable if card.kind == "named" else profile.anonymous_loss_reportable)
            if card.kind != "named" or not allowed:
                raise LifecycleRefused("card %s is %s: %s cards cannot be reported lost under programme %s (%s profile)" % (
                    card_number, card.kind, card.kind, prog.id, profile.id))
            self._check_holder_id(card, id_number)
            if card.stock.state == "lost":
                raise InvalidStateError("card %s is already reported lost" % card_number)
            stock.move(self.uow, card.stock, "lost")
            balance = bk.outstanding(s, card)
            version = blacklist.list_card(self.uow, s, op, card, "reported lost by the holder",
                                            {"ledger_balance": balance, "note": note})
            self.uow.audit(s, op, "card.lost", card=card_number, ledger_balance=balance, blacklist_version=version,
                           note=note)
            return LossReport(card_number, balance, version)

        return self.uow.run("card.lost", operator, do, card=card_number)

    def replace_card(self, operator: Operator | str, old_number: str, new_uid: str | bytes,
                     new_number: str | None = None, *, reason: str = "lost", id_number: str | None = None,
                     fee_payment: str = "cash") -> Replacement:
        """A new card for a lost named card (`reason="lost"`) or an exchange (`"exchange"`, e.g. an
        expired anonymous card): the new card gets the old card's LEDGER balance, the old card's
        liability is closed to it, the old card is closed and stays blacklisted. Idempotent.

        The new card is either a personalised stock card already registered (same programme and kind,
        never sold, zero balance; `new_number` may be None) or a stock card without a number, which is
        registered here as `new_number`."""
        if reason not in REPLACEABLE_STATES:
            raise ValueError("reason is lost or exchange, got %r" % (reason,))
        uid = stock.normal_uid(new_uid)
        key = "replace:%s" % old_number

        def do(s):
            op = operator_row(s, operator, LIFECYCLE_ROLES, "replace a card")
            old = card_row(s, old_number)
            existing = s.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
            done = self._replacement_of(s, old_number)
            if done is not None:
                if new_number is not None and done != new_number:
                    raise InvalidStateError("card %s was already replaced by %s" % (old_number, done))
                amount = sum(p.amount for p in existing.postings if p.amount > 0) if existing else 0
                fee_entry = s.execute(select(JournalEntry).where(
                    JournalEntry.idempotency_key == "%s_fee:%s" % (reason, old_number))).scalar_one_or_none()
                fee = sum(p.amount for p in fee_entry.postings if p.amount > 0) if fee_entry else 0
                return Replacement(old_number, done, amount, existing.id if existing else None, reason, fee)
            if old.stock.state not in REPLACEABLE_STATES[reason]:
                raise InvalidStateError("card %s is %s; a %s replacement needs it %s" % (
                    old_number, old.stock.state, reason, " or ".join(REPLACEABLE_STATES[reason])))
            if old.kind == "named":
                self._check_holder_id(old, id_number)
            prog, profile = _rules(s, old)
            if reason == "exchange" and "exchange" not in profile.expired_balance_allowed \
                    and prog.expired_balance != "exchange":
                raise LifecycleRefused("programme %s (%s profile) does not offer exchanging cards" % (prog.id, profile.id))
            sc = s.execute(select(StockCard).where(StockCard.uid == uid)).scalar_one_or_none()
            if sc is None:
                raise InvalidStateError("card UID %s was never received into stock" % uid)
            if sc.state not in ("in_stock", "issued_to_point"):
                raise InvalidStateError("card %s is %s; a replacement must come from stock" % (uid, sc.state))
            new = s.execute(select(Card).where(Card.stock_card_id == sc.id)).scalar_one_or_none()
            if new is not None:  # a personalised stock card
                if new_number is not None and new.card_number != new_number:
                    raise InvalidStateError("card %s is registered as %s, not %s" % (uid, new.card_number, new_number))
                if (new.programme_id, new.kind) != (old.programme_id, old.kind):
                    raise InvalidStateError("card %s is a %s %s card; the replacement must be a %s %s card" % (
                        new.card_number, new.programme_id, new.kind, old.programme_id, old.kind))
                if bk.outstanding(s, new) != 0 or s.execute(select(Sale.id).where(Sale.card_id == new.id)).first():
                    raise InvalidStateError("card %s has been sold or holds money; take a fresh stock card" %
                                            new.card_number)
                new.holder_id = old.holder_id
                number = new.card_number
            else:
                if new_number is None:
                    raise InvalidStateError("card %s has no card number yet: personalise it first" % uid)
                scheme = prog.numbering_scheme()
                number = scheme.validate(new_number) if scheme is not None else new_number
                if s.execute(select(Card).where(Card.card_number == number)).first():
                    raise InvalidStateError("card number %s is already registered" % number)
                new = Card(card_number=number, stock_card_id=sc.id, programme_id=old.programme_id, kind=old.kind,
                           face_value=old.face_value, holder_id=old.holder_id, key_version=old.key_version,
                           registered_at=self.uow.now())
                s.add(new)
                s.flush()
                s.refresh(new)
                self.uow.audit(s, op, "card.register", card=number, uid=uid, programme=old.programme_id, kind=old.kind,
                               face_value=old.face_value, key_version=old.key_version, replaces=old_number)
            # straight from stock to activated: the money is the old card's, already paid and confirmed
            sc.state, sc.updated_at = "activated", self.uow.now()
            amount = bk.outstanding(s, old)
            if amount < 0:
                raise InvalidStateError("card %s has a negative ledger balance (%s): reconcile it first" % (
                    old_number, fmt_yuan(amount)))
            entry = None
            if amount:
                entry, _ = bk.book(s, key, "replacement", [
                    bk.Line(bk.prepaid_account(s, old), amount),
                    bk.Line(bk.prepaid_account(s, new), -amount),
                ], self.uow.now(), card=new, operator_id=op.id, memo="%s replaced by %s (%s)" % (old_number, number, reason))
            else:
                bk.prepaid_account(s, new)
            fee = prog.fees.get("replacement" if reason == "lost" else "exchange", 0)
            if fee:
                bk.book(s, "%s_fee:%s" % (reason, old_number), "fee", [
                    bk.Line(bk.account(s, bk.payment_account(fee_payment)), fee),
                    bk.Line(bk.account(s, "fee_income"), -fee),
                ], self.uow.now(), card=new, operator_id=op.id, memo="%s fee, card %s" % (reason, old_number))
            version = blacklist.list_card(self.uow, s, op, old, "replaced by %s (%s)" % (number, reason),
                                            {"replacement": number})
            stock.move(self.uow, old.stock, "closed")
            self.uow.audit(s, op, "card.replace", card=old_number, new_card=number, amount=amount, reason=reason,
                           entry=entry.id if entry else None, blacklist_version=version, fee=fee)
            return Replacement(old_number, number, amount, entry.id if entry else None, reason, fee)

        return self.uow.run("card.replace", operator, do, card=old_number, details={"new_card": new_number})

    def _replacement_of(self, s, old_number: str) -> str | None:
        rows = s.execute(select(AuditEntry.details).where(AuditEntry.card_number == old_number,
                                                          AuditEntry.action == "card.replace",
                                                          AuditEntry.result == "ok")).scalars().all()
        return json.loads(rows[-1])["new_card"] if rows else None

    def replacement_of(self, old_number: str) -> str | None:
        """The card number that replaced `old_number`, or None."""
        with self.uow.read() as s:
            return self._replacement_of(s, old_number)

    def replacements(self) -> dict[str, tuple[str, int]]:
        """Every replaced card: old number -> (new number, fen its ledger balance moved to the new card)."""
        with self.uow.read() as s:
            rows = s.execute(select(AuditEntry.card_number, AuditEntry.details).where(
                AuditEntry.action == "card.replace", AuditEntry.result == "ok").order_by(AuditEntry.seq)).all()
        out = {}
        for old, details in rows:
            d = json.loads(details)
            out[old] = (d["new_card"], int(d.get("amount") or 0))
        return out

    # --- redemption (退卡) ---

    def redeem_card(self, operator: Operator | str, card_number: str, *, returner_name: str, returner_id: str,
                    payout: str, card_balance: int | None, account_name: str | None = None,
                    account_number: str | None = None, unit_name: str | None = None) -> Redemption:
        """退卡: pay the card's whole ledger balance back to the holder. The returner's ID is captured
        (and, for a named card, must be the holder's); cash only up to the profile's limit, otherwise
        a bank transfer to a same-name account (booked to refunds_payable). `card_balance` is the
        balance read from the card (None only for a card reported lost); it must equal the ledger
        balance, otherwise the card's journals must be reconciled first. The card state becomes
        `refunded`; `finish_redemption` closes it once the card is emptied. Idempotent per card."""
        if payout not in PAYOUTS:
            raise ValueError("payout is cash or bank_transfer, got %r" % (payout,))
        key = "redeem:%s" % card_number

        def do(s):
            op = operator_row(s, operator, LIFECYCLE_ROLES, "redeem a card")
            card = card_row(s, card_number)
            existing = s.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
            if existing is not None:
                amount = sum(p.amount for p in existing.postings if p.amount > 0)
                memo = json.loads(existing.memo or "{}")
                return Redemption(card_number, amount, memo.get("payout", payout), existing.id,
                                  memo.get("account_name"), memo.get("account_last4"))
            prog, profile = _rules(s, card)
            if not returner_name.strip() or not returner_id.strip():
                raise RealNameRequiredError("redemption needs the returner's name and ID number (Art. 21)")
            state = card.stock.state
            if state not in ("activated", "in_use", "expired", "lost"):
                raise InvalidStateError("card %s is %s; it cannot be redeemed" % (card_number, state))
            if state == "lost" and card_balance is not None:
                raise InvalidStateError("card %s is reported lost; redeem it by its ledger balance" % card_number)
            if state != "lost" and card_balance is None:
                raise InvalidStateError("card %s: read the card first (its balance is needed)" % card_number)
            if state != "lost" and blacklist.is_listed(s, card_number):
                raise BlacklistedError("card %s is blacklisted: investigate before paying anything out" % card_number)
            if not (prog.refund.redeemable or profile.redemption_required):
                raise LifecycleRefused("programme %s cards cannot be redeemed" % prog.id)
            if card.kind == "named":
                self._check_holder_id(card, returner_id)
                sale = s.execute(select(Sale).where(Sale.card_id == card.id).order_by(Sale.id)).scalars().first()
                months = prog.refund.redeemable_after_months
                if months is None:
                    months = profile.named_redeemable_after_months
                if months and sale is not None:
                    bought = self.uow.business_date(sale.confirmed_at or sale.created_at)
                    earliest = cardtime.add_months(bought, months)
                    if self.uow.business_date() < earliest:
                        raise LifecycleRefused("card %s was bought on %s; under the %s profile a named card can be "
                                               "redeemed only %d months after purchase, from %s" % (
                                                   card_number, bought, profile.id, months, earliest))
                unit_only = prog.refund.unit_bought_by_unit_only
                if unit_only is None:
                    unit_only = profile.unit_bought_redeemed_by_unit_only
                if unit_only and sale is not None and sale.buyer_kind == "unit":
                    if not unit_name or not card.holder.unit_name or unit_name.strip() != card.holder.unit_name.strip():
                        raise LifecycleRefused("card %s was bought by a unit; only that unit (%s) can redeem it" % (
                            card_number, card.holder.unit_name))
            elif not anonymous_redeemable(profile):
                raise LifecycleRefused("anonymous cards cannot be redeemed under the %s profile; "
                                       "an expired one is re-activated or exchanged" % profile.id)
            balance = bk.outstanding(s, card)
            if card_balance is not None and card_balance != balance:
                raise InvalidStateError("card %s shows %s but the ledger holds %s: collect and reconcile the "
                                        "journals first" % (card_number, fmt_yuan(card_balance), fmt_yuan(balance)))
            if balance <= 0:
                raise InvalidStateError("card %s has no balance to redeem; close it instead" % card_number)
            limits = [x for x in (prog.refund.cash_limit, profile.redemption_cash_limit) if x is not None]
            cash_limit = min(limits) if limits else None
            memo = {"payout": payout, "returner": returner_name}
            if payout == "cash":
                if cash_limit is not None and balance > cash_limit:
                    raise CashLimitError("card %s: %s is over the cash limit of %s; pay it to a same-name bank "
                                         "account" % (card_number, fmt_yuan(balance), fmt_yuan(cash_limit)))
                counter = "cash"
            else:
                if not account_name or not account_number or not account_number.strip():
                    raise InvalidStateError("a bank-transfer refund needs the account name and number")
                same = card.holder.name if card.kind == "named" else returner_name
                if unit_name and card.holder is not None and card.holder.unit_name:
                    same = card.holder.unit_name
                if account_name.strip() != same.strip():
                    raise LifecycleRefused("the refund goes to a same-name account: account holder %r is not %r" % (
                        account_name, same))
                number = "".join(account_number.split())
                memo.update(account_name=account_name.strip(), account_last4=number[-4:],
                            account_enc=base64.b64encode(self.uow.cipher().encrypt(number)).decode("ascii"))
                counter = "refunds_payable"
            returner = add_holder(self.uow, s, HolderInfo(name=returner_name, id_number=returner_id, unit_name=unit_name))
            memo["returner_holder"] = returner.id
            entry, _ = bk.book(s, key, "redemption_" + ("cash" if payout == "cash" else "transfer"), [
                bk.Line(bk.prepaid_account(s, card), balance),
                bk.Line(bk.account(s, counter), -balance),
            ], self.uow.now(), card=card, operator_id=op.id, memo=json.dumps(memo, sort_keys=True, ensure_ascii=False))
            before = card.stock.state
            stock.move(self.uow, card.stock, "refunded")
            self.uow.audit(s, op, "card.redeem", card=card_number, amount=balance, payout=payout, before=before,
                           returner_holder=returner.id, account_last4=memo.get("account_last4"), entry=entry.id)
            return Redemption(card_number, balance, payout, entry.id, memo.get("account_name"), memo.get("account_last4"))

        return self.uow.run("card.redeem", operator, do, card=card_number, details={"payout": payout})

    def finish_redemption(self, operator: Operator | str, card_number: str, *, card_emptied: bool) -> int | None:
        """After the card's closing slot is written (or the card is lost / kept): refunded -> closed,
        and blacklisted so that a restored old dump of it is refused. Returns the blacklist version."""
        def do(s):
            op = operator_row(s, operator, LIFECYCLE_ROLES, "close a redeemed card")
            card = card_row(s, card_number)
            if card.stock.state == "closed":
                return None
            if card.stock.state != "refunded":
                raise InvalidStateError("card %s is %s, not refunded" % (card_number, card.stock.state))
            version = blacklist.list_card(self.uow, s, op, card, "redeemed and closed", {"card_emptied": card_emptied})
            stock.move(self.uow, card.stock, "closed")
            self.uow.audit(s, op, "card.close", card=card_number, via="redemption", card_emptied=card_emptied)
            return version

        return self.uow.run("card.close", operator, do, card=card_number)

    def settle_refund_transfer(self, operator: Operator | str, card_number: str, bank_reference: str) -> JournalEntry:
        """The bank transfer of a redemption was made: refunds_payable -> bank."""
        def do(s):
            op = operator_row(s, operator, ("finance",), "record a refund transfer")
            card = card_row(s, card_number)
            first = s.execute(select(JournalEntry).where(
                JournalEntry.idempotency_key == "redeem:%s" % card_number)).scalar_one_or_none()
            if first is None or first.kind != "redemption_transfer":
                raise InvalidStateError("card %s has no redemption awaiting a bank transfer" % card_number)
            amount = sum(p.amount for p in first.postings if p.amount > 0)
            entry, created = bk.book(s, "redeem:%s:paid" % card_number, "refund_transfer_paid", [
                bk.Line(bk.account(s, "refunds_payable"), amount),
                bk.Line(bk.account(s, "bank"), -amount),
            ], self.uow.now(), card=card, operator_id=op.id, memo=bank_reference)
            if created:
                self.uow.audit(s, op, "card.refund_transfer", card=card_number, amount=amount, reference=bank_reference)
            return entry

        return self.uow.run("card.refund_transfer", operator, do, card=card_number)

    # --- refunds of goods ---

    def refund_goods(self, operator: Operator | str, card_number: str, amount: int, key: str, *,
                     to_card: bool = True, terminal: str | None = None, note: str = "",
                     journal_number: int | None = None) -> GoodsRefund:
        """Goods bought with the card returned: the value goes back to the card (a credit the caller
        writes with kind TXN_REFUND), or, when the card is not available, in cash up to the profile's
        goods-refund limit (Art. 20). `key` identifies the refund (e.g. the original receipt).

        The refund names the store purchase it undoes: `terminal` and the reader's `journal_number`
        of that debit, as collected from the reader. It must be a committed debit of this card, and
        the refunds against one purchase never add up to more than it."""
        _fen(amount, "a refund amount")
        if terminal is None or journal_number is None:
            raise RealNameRequiredError("a goods refund names the store purchase it refunds: the terminal and the "
                                        "journal number on the receipt (--terminal, --journal)")
        bkey = "goods_refund:%s" % key

        def do(s):
            op = operator_row(s, operator, LIFECYCLE_ROLES + ("seller", "terminal-operator"), "refund goods")
            card = card_row(s, card_number)
            existing = s.execute(select(JournalEntry).where(JournalEntry.idempotency_key == bkey)).scalar_one_or_none()
            if existing is not None:
                if existing.card_id != card.id:
                    raise InvalidStateError("refund %s was booked for another card" % key)
                return GoodsRefund(card_number, sum(p.amount for p in existing.postings if p.amount > 0),
                                   existing.kind == "goods_refund", existing.id)
            purchase = _store_purchase(s, card, terminal, journal_number)
            refunded = s.execute(select(func.coalesce(func.sum(GoodsRefundRef.amount), 0)).where(
                GoodsRefundRef.terminal_id == purchase.terminal_id,
                GoodsRefundRef.journal_number == journal_number)).scalar_one()
            if refunded + amount > purchase.amount:
                raise InvalidStateError("purchase %d at terminal %s was %s%s: a refund of %s would exceed it" % (
                    journal_number, terminal, fmt_yuan(purchase.amount),
                    ", %s of it refunded already" % fmt_yuan(refunded) if refunded else "", fmt_yuan(amount)))
            prog, profile = _rules(s, card)
            if to_card:
                if card.stock.state not in ("activated", "in_use"):
                    raise InvalidStateError("card %s is %s; refund to the holder's replacement card or in cash" % (
                        card_number, card.stock.state))
                if blacklist.is_listed(s, card_number):
                    raise BlacklistedError("card %s is blacklisted" % card_number)
                cap = prog.effective_cap(card.kind, profile)
                balance = bk.outstanding(s, card)
                if cap is not None and balance + amount > cap:
                    raise CapExceededError("card %s: balance %s + refund %s exceeds the %s-card cap of %s" % (
                        card_number, fmt_yuan(balance), fmt_yuan(amount), card.kind, fmt_yuan(cap)))
                counter, kind = bk.prepaid_account(s, card), "goods_refund"
            else:
                limit = profile.goods_refund_cash_limit
                if limit is not None and amount > limit:
                    raise CashLimitError("a cash refund of goods is allowed only up to %s (refund of %s goes back to "
                                         "the card)" % (fmt_yuan(limit), fmt_yuan(amount)))
                counter, kind = bk.account(s, "cash"), "goods_refund_cash"
            entry, _ = bk.book(s, bkey, kind, [
                bk.Line(bk.account(s, "redeemed"), amount),
                bk.Line(counter, -amount),
            ], self.uow.now(), card=card, operator_id=op.id, memo=note)
            s.add(GoodsRefundRef(entry_id=entry.id, card_id=card.id, terminal_id=purchase.terminal_id,
                                 journal_number=journal_number, amount=amount))
            self.uow.audit(s, op, "card.refund_goods", card=card_number, terminal=terminal, amount=amount, key=key,
                           to_card=to_card, entry=entry.id, journal_number=journal_number,
                           purchase_amount=purchase.amount)
            return GoodsRefund(card_number, amount, to_card, entry.id)

        return self.uow.run("card.refund_goods", operator, do, card=card_number, terminal=terminal,
                            details={"key": key, "amount": amount})

    # --- expiry and closing ---

    def reactivate_card(self, operator: Operator | str, card_number: str, *, old_expiry: int, new_expiry: int,
                        identity_hex: str) -> None:
        """An expired card with a balance gets a new expiry (the caller rewrites its identity record;
        `identity_hex` = the new sealed record, kept in the audit entry so a torn rewrite can be finished)."""
        def do(s):
            op = operator_row(s, operator, LIFECYCLE_ROLES, "re-activate a card")
            card = card_row(s, card_number)
            prog, profile = _rules(s, card)
            if not ({"reactivate", "extend"} & set(profile.expired_balance_allowed)):
                raise LifecycleRefused("the %s profile does not allow re-activating expired cards; exchange it" % profile.id)
            if card.stock.state not in ("activated", "in_use", "expired"):
                raise InvalidStateError("card %s is %s; it cannot be re-activated" % (card_number, card.stock.state))
            if blacklist.is_listed(s, card_number):
                raise BlacklistedError("card %s is blacklisted" % card_number)
            if new_expiry <= old_expiry:
                raise ValueError("the new expiry must be later than the old one")
            if card.stock.state == "expired":
                stock.move(self.uow, card.stock, "in_use")
            self.uow.audit(s, op, "card.reactivate", card=card_number, old_expiry=old_expiry, new_expiry=new_expiry,
                           identity=identity_hex, ledger_balance=bk.outstanding(s, card))

        self.uow.run("card.reactivate", operator, do, card=card_number, details={"new_expiry": new_expiry})

    def pending_identity(self, card_number: str) -> bytes | None:
        """The identity record of the last re-activation (to finish a torn rewrite), or None."""
        with self.uow.read() as s:
            rows = s.execute(select(AuditEntry.details).where(
                AuditEntry.card_number == card_number, AuditEntry.action == "card.reactivate",
                AuditEntry.result == "ok").order_by(AuditEntry.seq)).scalars().all()
        return bytes.fromhex(json.loads(rows[-1])["identity"]) if rows else None

    def close_card(self, operator: Operator | str, card_number: str, *, card_balance: int | None,
                   reason: str = "closed at the holder's request") -> int | None:
        """Close a card whose ledger balance (and card balance, when the card is present) is zero;
        blacklists it (a restored dump must not be spendable). Returns the blacklist version."""
        def do(s):
            op = operator_row(s, operator, LIFECYCLE_ROLES, "close a card")
            card = card_row(s, card_number)
            if card.stock.state == "closed":
                raise InvalidStateError("card %s is already closed" % card_number)
            if card.stock.state not in CLOSABLE_STATES:
                raise InvalidStateError("card %s is %s; it cannot be closed" % (card_number, card.stock.state))
            balance = bk.outstanding(s, card)
            if balance != 0 or (card_balance or 0) != 0:
                raise InvalidStateError("card %s still holds %s (card: %s): redeem it instead of closing it" % (
                    card_number, fmt_yuan(balance), "not read" if card_balance is None else fmt_yuan(card_balance)))
            version = blacklist.list_card(self.uow, s, op, card, "closed", {"reason": reason})
            before = card.stock.state
            stock.move(self.uow, card.stock, "closed")
            self.uow.audit(s, op, "card.close", card=card_number, before=before, reason=reason)
            return version

        return self.uow.run("card.close", operator, do, card=card_number)


def _store_purchase(s, card, terminal: str, journal_number: int) -> ReaderJournalRecord:
    """The collected reader journal record of a committed store debit of `card`."""
    from icpurse.host import codec

    term = s.execute(select(Terminal).where(Terminal.number == terminal)).scalar_one_or_none()
    if term is None:
        raise InvalidStateError("no terminal %s: the refund names the store terminal of the purchase" % terminal)
    rec = s.execute(select(ReaderJournalRecord).where(ReaderJournalRecord.terminal_id == term.id,
                                                      ReaderJournalRecord.number == journal_number)
                    ).scalar_one_or_none()
    if rec is None:
        raise InvalidStateError("terminal %s has no purchase %d in the collected journal: collect the reader's "
                                "journal first (`icpurse terminal collect %s`), or check the receipt" % (
                                    terminal, journal_number, terminal))
    if rec.kind != codec.TXN_DEBIT or rec.uid != card.stock.uid:
        raise InvalidStateError("record %d of terminal %s is not a purchase made with card %s" % (
            journal_number, terminal, card.card_number))
    if rec.state != codec.JR_COMMITTED:
        # the number on the receipt is the sale's first record (pending); its commit record follows
        rec = s.execute(select(ReaderJournalRecord).where(
            ReaderJournalRecord.terminal_id == term.id, ReaderJournalRecord.txn == rec.txn,
            ReaderJournalRecord.uid == rec.uid, ReaderJournalRecord.kind == codec.TXN_DEBIT,
            ReaderJournalRecord.state == codec.JR_COMMITTED, ReaderJournalRecord.card_seq == rec.card_seq)
        ).scalars().first()
        if rec is None:
            raise InvalidStateError("purchase %d at terminal %s was not committed on the card: nothing to refund"
                                    % (journal_number, terminal))
    return rec
