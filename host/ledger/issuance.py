"""Programmes, stock (验收入库、领用、发出、销售、盘点), card registration, sale, payment and activation.

Internal control (business-rules §2.1): a card is activated only after finance confirmed the
payment, by an operator whose role differs from the seller's; the refusal is audited.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import func, select

from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger.core import LedgerCore
from icpurse.host.ledger.errors import (
    CapExceededError, InvalidStateError, NonCashRequiredError, NotFound, ProgrammeViolationError,
    RealNameRequiredError, RoleError, SeparationOfDutiesError,
)
from icpurse.host.ledger.models import (
    Card, Holder, JournalEntry, Operator, ProgrammeRecord, Sale, SalesPoint, StockBatch, StockCard,
)
from icpurse.host.ledger.views import CardView, ProgrammeView, SaleView, card_view
from icpurse.host.programmes import Programme, check_programme, load_profile, parse_programme
from icpurse.host.programmes.model import PAYMENT_METHODS
from icpurse.protocol.money import fmt_yuan

# Allowed lifecycle moves (business-rules §2.1); every card is traceable from receipt to closure.
TRANSITIONS = {
    "in_stock": {"issued_to_point", "lost"},
    "issued_to_point": {"in_stock", "sold", "lost"},
    "sold": {"paid", "issued_to_point"},
    "paid": {"activated", "refunded"},
    "activated": {"in_use", "lost", "blocked", "expired", "refunded", "closed"},
    "in_use": {"lost", "blocked", "expired", "refunded", "closed"},
    "lost": {"blocked", "refunded", "closed"},
    "blocked": {"in_use", "refunded", "closed"},
    "expired": {"in_use", "refunded", "closed"},
    "refunded": {"closed"},
    "closed": set(),
}
ACTIVATOR_ROLES = ("finance", "issuer-admin")


@dataclass(frozen=True)
class HolderInfo:
    """Real-name data captured at a named-card sale (or a large anonymous purchase)."""

    name: str
    id_number: str
    contact: str = ""
    id_type: str = "resident-id"
    unit_name: str | None = None

    def __repr__(self):  # never print the ID number
        return "HolderInfo(name=%r, id_type=%r, id_number=<hidden>)" % (self.name, self.id_type)


@dataclass
class StockCount:
    """Result of a stock count (盘点) at the warehouse or one sales point."""

    location: str
    expected: int
    counted: int
    missing: list[str] = field(default_factory=list)  # in the ledger here, not physically present
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (uid, where the ledger has it)
    unknown: list[str] = field(default_factory=list)  # present, never received into stock
    unidentified: int = 0  # expected cards received by count only (UIDs not known yet)
    unidentified_present: list[str] = field(default_factory=list)  # present UIDs taken as those cards

    @property
    def missing_unidentified(self) -> int:
        """Cards received by count that were not found."""
        return self.unidentified - len(self.unidentified_present)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.unknown or self.missing_unidentified)


def normal_uid(uid: str | bytes) -> str:
    if isinstance(uid, (bytes, bytearray)):
        return bytes(uid).hex().upper()
    text = "".join(uid.split()).replace(":", "").upper()
    if not text or len(text) > 20 or any(c not in "0123456789ABCDEF" for c in text) or len(text) % 2:
        raise ValueError("a card UID is 4, 7 or 10 bytes of hex, got %r" % (uid,))
    return text


class IssuanceMixin(LedgerCore):
    # --- programmes ---

    def register_programme(self, admin: Operator | str, programme: Programme, override_reason: str | None = None) -> ProgrammeView:
        """Register a programme for issuing. A programme that breaks its profile is refused unless an
        override with a reason is given; the override and the violations it accepts are audited."""
        violations = check_programme(programme)
        rules = [v.rule for v in violations]
        definition = json.dumps(programme.raw, sort_keys=True, ensure_ascii=False)

        def do(s):
            a = self._operator(s, admin, ("issuer-admin",), "register a programme")
            if violations and not (override_reason and override_reason.strip()):
                raise ProgrammeViolationError(
                    "programme %s breaks the %s profile (%s); issuing under it needs an override with a reason" % (
                        programme.id, programme.profile, ", ".join(rules)), violations)
            rec = s.get(ProgrammeRecord, programme.id)
            if rec is not None:
                if rec.definition != definition:
                    raise InvalidStateError("programme %s is already registered with a different definition; "
                                            "give the new version a new id" % programme.id)
                return _programme_view(rec)
            rec = ProgrammeRecord(id=programme.id, name=programme.name, profile=programme.profile,
                                  definition=definition, violations=json.dumps(rules),
                                  override_reason=override_reason if violations else None,
                                  registered_at=self.now(), registered_by=a.id)
            s.add(rec)
            s.flush()
            if violations:
                self._audit(s, a, "programme.override", programme=programme.id, profile=programme.profile,
                            violations=[{"rule": v.rule, "message": v.message} for v in violations],
                            reason=override_reason)
            else:
                self._audit(s, a, "programme.register", programme=programme.id, profile=programme.profile)
            return _programme_view(rec)

        return self._run("programme.register", admin, do,
                         details={"programme": programme.id, "violations": rules})

    def programme(self, programme_id: str) -> Programme:
        with self.session() as s:
            return self._programme(s, programme_id)

    def _programme(self, s, programme_id: str) -> Programme:
        rec = s.get(ProgrammeRecord, programme_id)
        if rec is None:
            raise NotFound("programme %s is not registered in this ledger" % programme_id)
        return parse_programme(json.loads(rec.definition), "ledger programme %s" % programme_id)

    # --- stock ---

    def add_sales_point(self, admin: Operator | str, code: str, name: str) -> SalesPoint:
        def do(s):
            a = self._operator(s, admin, ("issuer-admin",), "add a sales point")
            if s.execute(select(SalesPoint).where(SalesPoint.code == code)).first():
                raise InvalidStateError("sales point %s already exists" % code)
            p = SalesPoint(code=code, name=name)
            s.add(p)
            s.flush()
            self._audit(s, a, "stock.add_sales_point", code=code, name=name)
            return p

        return self._run("stock.add_sales_point", admin, do, details={"code": code})

    def receive_stock(self, operator: Operator | str, batch_reference: str, uids=(), note: str = "",
                      count: int | None = None) -> StockBatch:
        """验收入库: blank cards received into stock as one batch, by UID; or by `count` alone when the
        UIDs are not known yet (each card is then identified when first read, `bind_stock_uid`)."""
        uids = [normal_uid(u) for u in uids]
        if len(set(uids)) != len(uids):
            raise ValueError("the batch lists a UID twice")
        if count is not None:
            if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
                raise ValueError("a batch count is a positive number of cards, got %r" % (count,))
            if count < len(uids):
                raise ValueError("the batch lists %d UIDs but declares only %d cards" % (len(uids), count))
        elif not uids:
            raise ValueError("receive cards by UID or give their count")

        def do(s):
            op = self._operator(s, operator, ("issuer-admin", "finance"), "receive stock")
            if s.execute(select(StockBatch).where(StockBatch.reference == batch_reference)).first():
                raise InvalidStateError("batch %s was already received" % batch_reference)
            dup = s.execute(select(StockCard.uid).where(StockCard.uid.in_(uids))).scalars().all() if uids else []
            if dup:
                raise InvalidStateError("UIDs already in stock: %s" % ", ".join(sorted(dup)))
            now = self.now()
            batch = StockBatch(reference=batch_reference, received_at=now, received_by=op.id, note=note,
                               declared_count=count)
            s.add(batch)
            s.flush()
            s.add_all(StockCard(uid=u, batch_id=batch.id, state="in_stock", updated_at=now) for u in uids)
            self._audit(s, op, "stock.receive", batch=batch_reference, count=count if count is not None else len(uids),
                        uids=uids)
            return batch

        return self._run("stock.receive", operator, do, details={"batch": batch_reference,
                                                                 "count": count if count is not None else len(uids)})

    def bind_stock_uid(self, operator: Operator | str, batch_reference: str, uid: str | bytes) -> None:
        """Identify one card of a batch received by count: its UID joins the batch, in stock."""
        uid = normal_uid(uid)

        def do(s):
            op = self._operator(s, operator, ("issuer-admin", "finance"), "identify a stock card")
            self._bind_stock_uid(s, op, batch_reference, uid)

        self._run("stock.identify", operator, do, details={"batch": batch_reference, "uid": uid})

    def _bind_stock_uid(self, s, op, batch_reference: str, uid: str) -> StockCard:
        batch = s.execute(select(StockBatch).where(StockBatch.reference == batch_reference)).scalar_one_or_none()
        if batch is None:
            raise NotFound("no stock batch %s" % batch_reference)
        if s.execute(select(StockCard).where(StockCard.uid == uid)).first():
            raise InvalidStateError("card %s is already in the stock ledger" % uid)
        bound = s.execute(select(func.count()).select_from(StockCard).where(StockCard.batch_id == batch.id)).scalar()
        if batch.declared_count is None or bound >= batch.declared_count:
            raise InvalidStateError("batch %s has no unidentified cards left (%s); receive card %s into stock first" % (
                batch_reference, "received by UID" if batch.declared_count is None else
                "all %d identified" % batch.declared_count, uid))
        sc = StockCard(uid=uid, batch_id=batch.id, state="in_stock", updated_at=self.now())
        s.add(sc)
        s.flush()
        self._audit(s, op, "stock.identify", batch=batch_reference, uid=uid)
        return sc

    def _unidentified_in_stock(self, s) -> int:
        """Cards received by count whose UID is not known yet (all still in the warehouse)."""
        total = 0
        for batch in s.execute(select(StockBatch).where(StockBatch.declared_count.is_not(None))).scalars():
            bound = s.execute(select(func.count()).select_from(StockCard).where(StockCard.batch_id == batch.id)).scalar()
            total += max(0, batch.declared_count - bound)
        return total

    def issue_to_point(self, operator: Operator | str, uids, point_code: str) -> int:
        """领用/发出: move cards from the warehouse to a sales point."""
        uids = [normal_uid(u) for u in uids]

        def do(s):
            op = self._operator(s, operator, ("issuer-admin", "finance"), "issue stock to a sales point")
            point = s.execute(select(SalesPoint).where(SalesPoint.code == point_code)).scalar_one_or_none()
            if point is None:
                raise NotFound("no sales point %s" % point_code)
            for u in uids:
                sc = self._stock(s, u)
                self._move(sc, "issued_to_point")
                sc.sales_point_id = point.id
            self._audit(s, op, "stock.issue_to_point", point=point_code, count=len(uids), uids=uids)
            return len(uids)

        return self._run("stock.issue_to_point", operator, do, details={"point": point_code, "count": len(uids)})

    def count_stock(self, operator: Operator | str, present_uids, point_code: str | None = None) -> StockCount:
        """盘点: compare the cards physically present with the ledger (warehouse, or one sales point)."""
        present = {normal_uid(u) for u in present_uids}

        def do(s):
            op = self._operator(s, operator, ("issuer-admin", "finance", "auditor"), "count stock")
            q = select(StockCard)
            if point_code is None:
                q = q.where(StockCard.state == "in_stock")
            else:
                point = s.execute(select(SalesPoint).where(SalesPoint.code == point_code)).scalar_one_or_none()
                if point is None:
                    raise NotFound("no sales point %s" % point_code)
                q = q.where(StockCard.state == "issued_to_point", StockCard.sales_point_id == point.id)
            expected = {sc.uid for sc in s.execute(q).scalars()}
            unidentified = self._unidentified_in_stock(s) if point_code is None else 0
            result = StockCount(location=point_code or "warehouse", expected=len(expected) + unidentified,
                                counted=len(present), missing=sorted(expected - present), unidentified=unidentified)
            for u in sorted(present - expected):
                sc = s.execute(select(StockCard).where(StockCard.uid == u)).scalar_one_or_none()
                if sc is None:
                    # may be one of the cards received by count (their UIDs are not known yet)
                    if len(result.unidentified_present) < unidentified:
                        result.unidentified_present.append(u)
                    else:
                        result.unknown.append(u)
                else:
                    where = sc.state + (" at " + sc.sales_point.code if sc.sales_point else "")
                    result.unexpected.append((u, where))
            self._audit(s, op, "stock.count", result="ok" if result.ok else "differences",
                        location=result.location, expected=result.expected, counted=result.counted,
                        missing=result.missing, unexpected=[list(x) for x in result.unexpected],
                        unknown=result.unknown, unidentified=unidentified,
                        unidentified_present=result.unidentified_present)
            return result

        return self._run("stock.count", operator, do, details={"location": point_code or "warehouse"})

    def _stock(self, s, uid: str) -> StockCard:
        sc = s.execute(select(StockCard).where(StockCard.uid == uid)).scalar_one_or_none()
        if sc is None:
            raise NotFound("card UID %s was never received into stock" % uid)
        return sc

    def _move(self, sc: StockCard, state: str) -> None:
        if state not in TRANSITIONS[sc.state]:
            raise InvalidStateError("card %s is %s; it cannot become %s" % (sc.uid, sc.state, state))
        sc.state = state
        sc.updated_at = self.now()

    def set_card_state(self, operator: Operator | str, card_number: str, state: str, reason: str) -> CardView:
        """A lifecycle move after activation (lost, blocked, expired, refunded, closed, back in use)."""
        def do(s):
            op = self._operator(s, operator, ("issuer-admin", "finance"), "change a card's state")
            card = self._card(s, card_number)
            before = card.stock.state
            self._move(card.stock, state)
            self._audit(s, op, "card.state", card=card_number, before=before, after=state, reason=reason)
            return card_view(card)

        return self._run("card.state", operator, do, card=card_number, details={"state": state})

    # --- cards ---

    def register_card(self, operator: Operator | str, uid: str | bytes, card_number: str, programme_id: str,
                      kind: str, face_value: int, key_version: int = 1) -> CardView:
        """Register a card number once for a stock card (finance registers each number, §1)."""
        uid = normal_uid(uid)

        def do(s):
            op = self._operator(s, operator, ("issuer-admin", "finance"), "register a card")
            card = self._register_card(s, op, uid, card_number, programme_id, kind, face_value, key_version)
            return card_view(card)

        return self._run("card.register", operator, do, card=card_number)

    def _register_card(self, s, op, uid, card_number, programme_id, kind, face_value, key_version) -> Card:
        prog = self._programme(s, programme_id)
        if kind not in prog.kinds:
            raise InvalidStateError("programme %s does not issue %s cards" % (programme_id, kind))
        if face_value not in prog.terms[kind].face_values:
            raise InvalidStateError("programme %s has no %s face value of %s" % (
                programme_id, kind, fmt_yuan(face_value)))
        scheme = prog.numbering_scheme()
        number = card_number
        if scheme is not None:
            number = scheme.validate(card_number)  # CardNumberError names what is wrong
            parts = scheme.parse(number)
            if parts.get("face_value") not in (None, face_value):
                raise InvalidStateError("card number %s encodes face value %s, not %s" % (
                    number, fmt_yuan(parts["face_value"]), fmt_yuan(face_value)))
        sc = self._stock(s, uid)
        if sc.state not in ("in_stock", "issued_to_point"):
            raise InvalidStateError("card %s is %s; only stock cards get a number" % (uid, sc.state))
        if s.execute(select(Card).where(Card.card_number == number)).first():
            raise InvalidStateError("card number %s is already registered" % number)
        if s.execute(select(Card).where(Card.stock_card_id == sc.id)).first():
            raise InvalidStateError("card %s already has a card number" % uid)
        card = Card(card_number=number, stock_card_id=sc.id, programme_id=programme_id, kind=kind,
                    face_value=face_value, key_version=key_version, registered_at=self.now())
        s.add(card)
        s.flush()
        bk.prepaid_account(s, card)
        self._audit(s, op, "card.register", card=number, uid=uid, programme=programme_id, kind=kind,
                    face_value=face_value, key_version=key_version)
        s.refresh(card)
        return card

    def card(self, card_number: str) -> CardView:
        with self.session() as s:
            return card_view(self._card(s, card_number))

    def face_value_entry(self, card_number: str) -> int | None:
        """The id of the journal entry that booked the card's face value (its sale's payment,
        confirmed by finance), or None when no payment was confirmed for the card (a replacement
        card carries a balance moved to it, not a face value). The card's ISSUE credit carries it."""
        with self.session() as s:
            card = self._card(s, card_number)
            sale = s.execute(select(Sale).where(Sale.card_id == card.id, Sale.state.in_(("paid", "activated")))
                             .order_by(Sale.id.desc())).scalars().first()
            if sale is None:
                return None
            return s.execute(select(JournalEntry.id).where(JournalEntry.idempotency_key == "sale:%d" % sale.id)
                             ).scalar_one_or_none()

    def holder_id_number(self, card_number: str) -> str | None:
        """Decrypt a named card's holder ID number (needs the ledger data key)."""
        cipher = self._require_cipher()
        with self.session() as s:
            card = self._card(s, card_number)
            return cipher.decrypt(card.holder.id_number_enc) if card.holder else None

    def record_card_seen(self, card_number: str, seq: int, balance: int, source: str = "card") -> CardView:
        """Remember the newest counter/balance read from the card or a reader journal."""
        def do(s):
            card = self._card(s, card_number)
            if card.last_seen_seq is None or seq >= card.last_seen_seq:
                card.last_seen_seq, card.last_seen_balance = seq, balance
                card.last_seen_at, card.last_seen_source = self.now(), source
                self._audit(s, None, "card.seen", card=card_number, seq=seq, balance=balance, source=source)
            return card_view(card)

        return self._run("card.seen", None, do, card=card_number)

    # --- sale, payment, activation ---

    def _add_holder(self, s, info: HolderInfo) -> Holder:
        cipher = self._require_cipher()
        if not info.name.strip() or not info.id_number.strip():
            raise RealNameRequiredError("real-name capture needs the name and the ID number")
        h = Holder(name=info.name, id_type=info.id_type, id_number_enc=cipher.encrypt(info.id_number),
                   id_number_index=cipher.index(info.id_number), contact=info.contact, unit_name=info.unit_name,
                   created_at=self.now())
        s.add(h)
        s.flush()
        return h

    def record_sale(self, seller: Operator | str, card_number: str, *, payment_method: str = "cash",
                    buyer: str = "individual", remote: bool = False, holder: HolderInfo | None = None,
                    purchase_total: int | None = None, payer_account: str | None = None) -> SaleView:
        """销售: a seller sells a card at its face value. Real-name and non-cash rules of the profile
        apply (`purchase_total` = the whole purchase this card is part of, for the thresholds)."""
        if payment_method not in PAYMENT_METHODS:
            raise ValueError("unknown payment method %r" % payment_method)
        if buyer not in ("individual", "unit"):
            raise ValueError("buyer is individual or unit, got %r" % buyer)

        def do(s):
            op = self._operator(s, seller, ("seller",), "sell a card")
            card = self._card(s, card_number)
            prog = self._programme(s, card.programme_id)
            profile = load_profile(prog.profile)
            amount = card.face_value
            total = purchase_total if purchase_total is not None else amount
            cap = prog.effective_cap(card.kind, profile)
            if cap is not None and amount > cap:
                raise CapExceededError("card %s: %s exceeds the %s-card cap of %s" % (
                    card_number, fmt_yuan(amount), card.kind, fmt_yuan(cap)))
            _payment_rules(prog, profile, payment_method, buyer, remote, total, payer_account)
            need_name = card.kind == "named" or (
                _threshold(prog.real_name_anonymous_threshold, profile.real_name_anonymous_threshold) is not None
                and total >= _threshold(prog.real_name_anonymous_threshold, profile.real_name_anonymous_threshold))
            if need_name and holder is None:
                raise RealNameRequiredError("card %s: real-name capture required (%s)" % (
                    card_number, "named card" if card.kind == "named" else "anonymous purchase of %s" % fmt_yuan(total)))
            self._move(card.stock, "sold")
            h = self._add_holder(s, holder) if holder is not None else None
            if card.kind == "named":
                card.holder_id = h.id
            sale = Sale(card_id=card.id, seller_id=op.id, amount=amount, payment_method=payment_method,
                        buyer_kind=buyer, remote=remote, buyer_holder_id=h.id if h else None,
                        payer_account=payer_account, state="recorded", created_at=self.now())
            s.add(sale)
            s.flush()
            self._audit(s, op, "card.sell", card=card_number, sale=sale.id, amount=amount,
                        payment_method=payment_method, buyer=buyer, remote=remote, real_name=h is not None)
            return _sale_view(s, sale, card)

        return self._run("card.sell", seller, do, card=card_number)

    def _open_sale(self, s, card: Card) -> Sale:
        sale = s.execute(select(Sale).where(Sale.card_id == card.id).order_by(Sale.id.desc())).scalars().first()
        if sale is None:
            raise InvalidStateError("card %s has not been sold" % card.card_number)
        return sale

    def confirm_payment(self, finance: Operator | str, card_number: str, reference: str = "") -> SaleView:
        """收款: finance confirms the sale's money was received; books cash/bank against the card's
        prepaid liability. The finance operator may not be the seller."""
        def do(s):
            op = self._operator(s, finance, ("finance",), "confirm a payment")
            card = self._card(s, card_number)
            sale = self._open_sale(s, card)
            if sale.state != "recorded":
                raise InvalidStateError("card %s: sale %d is %s, not awaiting payment" % (card_number, sale.id, sale.state))
            if op.id == sale.seller_id:
                raise SeparationOfDutiesError("%s sold card %s and cannot also confirm its payment" % (
                    op.username, card_number))
            self._move(card.stock, "paid")
            sale.state, sale.confirmed_by, sale.confirmed_at = "paid", op.id, self.now()
            bk.book(s, "sale:%d" % sale.id, "sale", [
                bk.Line(bk.account(s, bk.payment_account(sale.payment_method)), sale.amount),
                bk.Line(bk.prepaid_account(s, card), -sale.amount),
            ], self.now(), card=card, operator_id=op.id, memo=reference)
            self._audit(s, op, "card.confirm_payment", card=card_number, sale=sale.id, amount=sale.amount,
                        reference=reference)
            return _sale_view(s, sale, card)

        return self._run("card.confirm_payment", finance, do, card=card_number)

    def activate(self, card_number: str, operator: Operator | str) -> CardView:
        """开通: only after payment is confirmed, and by an operator whose role differs from the seller's."""
        def do(s):
            op = self._operator(s, operator)
            card = self._card(s, card_number)
            sale = self._open_sale(s, card)
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
            self._move(card.stock, "activated")
            sale.state, sale.activated_by, sale.activated_at = "activated", op.id, self.now()
            self._audit(s, op, "card.activate", card=card_number, sale=sale.id, seller=seller.username)
            return card_view(card)

        return self._run("card.activate", operator, do, card=card_number)


def _programme_view(rec) -> ProgrammeView:
    return ProgrammeView(rec.id, rec.name, rec.profile, tuple(json.loads(rec.violations)), rec.override_reason)


def _sale_view(s, sale, card) -> SaleView:
    seller = s.get(Operator, sale.seller_id)
    return SaleView(sale.id, card.card_number, seller.username, sale.amount, sale.payment_method, sale.state)


def _threshold(programme_value, profile_value):
    """The stricter (lower) of two optional thresholds."""
    values = [v for v in (programme_value, profile_value) if v is not None]
    return min(values) if values else None


def _payment_rules(prog, profile, method, buyer, remote, total, payer_account):
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
