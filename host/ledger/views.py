"""Plain, immutable results of the ledger API (no ORM objects escape a transaction)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorView:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    pending: str | None = None  # 'add' | 'role': awaiting a second issuer-admin's approval
    pending_role: str | None = None
    db_role: str | None = None  # PostgreSQL: its own database login


@dataclass(frozen=True)
class CardView:
    card_number: str
    uid: str
    programme_id: str
    kind: str
    face_value: int
    state: str
    key_version: int
    holder_name: str | None
    last_seen_seq: int | None
    last_seen_balance: int | None
    last_seen_at: dt.datetime | None
    last_seen_source: str | None


@dataclass(frozen=True)
class SaleView:
    id: int
    card_number: str
    seller: str
    amount: int
    payment_method: str
    state: str


@dataclass(frozen=True)
class TopupView:
    txn_id: str
    card_number: str
    amount: int
    state: str
    payment_method: str
    terminal: str | None
    business_date: dt.date
    created_at: dt.datetime
    card_seq_before: int | None
    card_seq_after: int | None
    id: int = 0  # the ledger's number of the top-up; the card's slot carries it (24 bits) as `txn`
    void_state: str | None = None  # None | pending | unconfirmed | confirmed | cancelled
    void_card_seq_before: int | None = None
    card_balance_before: int | None = None  # the balance read from the card before the top-up
    settled_at: dt.datetime | None = None
    payment_confirmed: bool = True  # a non-cash payment counts once finance confirmed it (cash: at once)


@dataclass(frozen=True)
class TerminalView:
    number: str
    outlet: str
    merchant: str
    status: str
    key_version: int
    fixed_price: int | None
    kind: str = "store"  # store | kiosk
    last_sign_in_at: dt.datetime | None = None


@dataclass(frozen=True)
class ProgrammeView:
    id: str
    name: str
    profile: str
    violations: tuple[str, ...]
    override_reason: str | None


@dataclass(frozen=True)
class PersonalisationView:
    uid: str
    card_number: str
    programme_id: str
    kind: str
    face_value: int
    state: str  # started | done | damaged
    key_version: int
    identity: tuple  # identity fields without MAC, codec order (card_number as bytes)
    card_time: int
    attempts: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    note: str


def operator_view(o) -> OperatorView:
    return OperatorView(o.id, o.username, o.display_name, o.role, o.active, o.pending, o.pending_role, o.db_role)


def card_view(c) -> CardView:
    return CardView(c.card_number, c.stock.uid, c.programme_id, c.kind, c.face_value, c.stock.state, c.key_version,
                    c.holder.name if c.holder else None, c.last_seen_seq, c.last_seen_balance, c.last_seen_at,
                    c.last_seen_source)


def topup_view(t) -> TopupView:
    return TopupView(t.txn_id, t.card.card_number, t.amount, t.state, t.payment_method,
                     t.terminal.number if t.terminal else None,
                     t.business_date, t.created_at, t.card_seq_before, t.card_seq_after, t.id, t.void_state,
                     t.void_card_seq_before, t.card_balance_before, t.settled_at,
                     t.payment_method == "cash" or t.payment_confirmed_by is not None)


def terminal_view(t) -> TerminalView:
    return TerminalView(t.number, t.outlet, t.merchant, t.status, t.key_version, t.fixed_price, t.kind or "store",
                        t.last_sign_in_at)


def personalisation_view(p, identity) -> PersonalisationView:
    c = p.card
    return PersonalisationView(p.uid, c.card_number, c.programme_id, c.kind, c.face_value, p.state, p.key_version,
                               identity, p.card_time, p.attempts, p.started_at, p.finished_at, p.note)
