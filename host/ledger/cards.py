"""Cards and holders (`Ledger.cards`): a card number is registered once for a stock card (with its
prepaid liability account), named holders are kept with their ID number encrypted (AES-GCM under
the ledger data key) and an HMAC index, and the newest counter/balance seen on each card.

`card_row` is the look-up by card number every service uses; `register` and `add_holder` are the
in-transaction steps other services build on (personalisation, sales, replacement).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger import stock
from icpurse.host.ledger.errors import InvalidStateError, NotFound, RealNameRequiredError
from icpurse.host.ledger.models import Card, Holder, Operator, StockCard
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.programmes import load_programme
from icpurse.host.ledger.views import CardView, card_view
from icpurse.protocol.money import fmt_yuan

CARD_ROLES = ("issuer-admin", "finance")


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


def card_row(s, card_number: str) -> Card:
    """The registered card `card_number`; NotFound if there is none."""
    card = s.execute(select(Card).where(Card.card_number == card_number)).scalar_one_or_none()
    if card is None:
        raise NotFound("no card %s in the ledger" % card_number)
    return card


def register(uow, s, op, uid, card_number, programme_id, kind, face_value, key_version) -> Card:
    """Register `card_number` for the stock card `uid` in the caller's transaction (audited), with
    its prepaid liability account."""
    prog = load_programme(s, programme_id)
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
    sc = stock.stock_row(s, uid)
    if sc.state not in ("in_stock", "issued_to_point"):
        raise InvalidStateError("card %s is %s; only stock cards get a number" % (uid, sc.state))
    if s.execute(select(Card).where(Card.card_number == number)).first():
        raise InvalidStateError("card number %s is already registered" % number)
    if s.execute(select(Card).where(Card.stock_card_id == sc.id)).first():
        raise InvalidStateError("card %s already has a card number" % uid)
    card = Card(card_number=number, stock_card_id=sc.id, programme_id=programme_id, kind=kind,
                face_value=face_value, key_version=key_version, registered_at=uow.now())
    s.add(card)
    s.flush()
    bk.prepaid_account(s, card)
    uow.audit(s, op, "card.register", card=number, uid=uid, programme=programme_id, kind=kind,
              face_value=face_value, key_version=key_version)
    s.refresh(card)
    return card


def add_holder(uow, s, info: HolderInfo) -> Holder:
    """A holder row for `info` in the caller's transaction (ID number encrypted, HMAC-indexed)."""
    cipher = uow.cipher()
    if not info.name.strip() or not info.id_number.strip():
        raise RealNameRequiredError("real-name capture needs the name and the ID number")
    h = Holder(name=info.name, id_type=info.id_type, id_number_enc=cipher.encrypt(info.id_number),
               id_number_index=cipher.index(info.id_number), contact=info.contact, unit_name=info.unit_name,
               created_at=uow.now())
    s.add(h)
    s.flush()
    return h


class Cards:
    """Registered cards, their holders and what was seen on them (`Ledger.cards`)."""

    def __init__(self, uow):
        self.uow = uow

    def register_card(self, operator: Operator | str, uid: str | bytes, card_number: str, programme_id: str,
                      kind: str, face_value: int, key_version: int = 1) -> CardView:
        """Register a card number once for a stock card (finance registers each number)."""
        uid = stock.normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, CARD_ROLES, "register a card")
            card = register(self.uow, s, op, uid, card_number, programme_id, kind, face_value, key_version)
            return card_view(card)

        return self.uow.run("card.register", operator, do, card=card_number)

    def set_card_state(self, operator: Operator | str, card_number: str, state: str, reason: str) -> CardView:
        """A lifecycle move after activation (lost, blocked, expired, refunded, closed, back in use)."""
        def do(s):
            op = operator_row(s, operator, CARD_ROLES, "change a card's state")
            card = card_row(s, card_number)
            before = card.stock.state
            stock.move(self.uow, card.stock, state)
            self.uow.audit(s, op, "card.state", card=card_number, before=before, after=state, reason=reason)
            return card_view(card)

        return self.uow.run("card.state", operator, do, card=card_number, details={"state": state})

    def card(self, card_number: str) -> CardView:
        with self.uow.read() as s:
            return card_view(card_row(s, card_number))

    def card_by_uid(self, uid: str | bytes) -> CardView | None:
        """The registered card with this UID, or None."""
        uid = stock.normal_uid(uid)
        with self.uow.read() as s:
            card = s.execute(select(Card).join(StockCard, Card.stock_card_id == StockCard.id)
                             .where(StockCard.uid == uid)).scalar_one_or_none()
            return card_view(card) if card is not None else None

    def uid_map(self) -> dict[str, str]:
        """UID (hex) -> card number of every registered card."""
        with self.uow.read() as s:
            q = select(StockCard.uid, Card.card_number).join(Card, Card.stock_card_id == StockCard.id)
            return {u: n for u, n in s.execute(q)}

    def last_card_number(self, prefix: str, length: int) -> str | None:
        """The highest registered card number of `length` characters starting with `prefix`
        (numbers of one scheme and prefix sort like their serials)."""
        with self.uow.read() as s:
            return s.execute(select(func.max(Card.card_number)).where(
                Card.card_number.like(prefix + "%"), func.length(Card.card_number) == length)).scalar()

    def holder_id_number(self, card_number: str) -> str | None:
        """Decrypt a named card's holder ID number (needs the ledger data key)."""
        cipher = self.uow.cipher()
        with self.uow.read() as s:
            card = card_row(s, card_number)
            return cipher.decrypt(card.holder.id_number_enc) if card.holder else None

    def record_card_seen(self, card_number: str, seq: int, balance: int, source: str = "card") -> CardView:
        """Remember the newest counter/balance read from the card or a reader journal."""
        def do(s):
            card = card_row(s, card_number)
            if card.last_seen_seq is None or seq >= card.last_seen_seq:
                card.last_seen_seq, card.last_seen_balance = seq, balance
                card.last_seen_at, card.last_seen_source = self.uow.now(), source
                self.uow.audit(s, None, "card.seen", card=card_number, seq=seq, balance=balance, source=source)
            return card_view(card)

        return self.uow.run("card.seen", None, do, card=card_number)
