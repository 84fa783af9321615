"""Ledger core: engine and sessions, the clock, operator look-up, and the audited transaction helper.

Every state change runs through `_run`: the change and its audit entry commit in one transaction;
a `Refused` error rolls the change back and records the refusal in the audit log instead.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from icpurse.host.ledger import audit
from icpurse.host.ledger.db import READ_ONLY
from icpurse.host.ledger.errors import DataKeyError, NotFound, Refused, RoleError
from icpurse.host.ledger.holder_crypto import HolderCipher
from icpurse.host.ledger.models import Card, Operator

T = TypeVar("T")
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")
DEFAULT_CUTOFF = dt.time(23, 0)  # daily cut-off (日切) in business time; configurable per ledger
_RETRIES = 3


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LedgerCore:
    def __init__(self, engine: Engine, *, data_key: bytes | None = None, clock: Callable[[], dt.datetime] = utc_now,
                 business_tz: dt.tzinfo = CHINA_STANDARD_TIME, daily_cutoff: dt.time = DEFAULT_CUTOFF):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        self._cipher = HolderCipher(data_key) if data_key is not None else None
        self._clock = clock
        self.business_tz = business_tz
        self.daily_cutoff = daily_cutoff

    # --- plumbing ---

    def now(self) -> dt.datetime:
        when = self._clock()
        if when.tzinfo is None:
            raise ValueError("the ledger clock must return aware datetimes")
        return when

    def business_date(self, when: dt.datetime | None = None) -> dt.date:
        return (when or self.now()).astimezone(self.business_tz).date()

    def session(self) -> Session:
        """A session for queries (`with ledger.session() as s: ...`); changes go through the API."""
        return self._read_sessions()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    @staticmethod
    def _serialise_writers(s: Session) -> None:
        """PostgreSQL: one writing transaction at a time (as SQLite's BEGIN IMMEDIATE gives), so
        read-then-write rules (caps, next blacklist version, audit tail) see every earlier commit."""
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit.WRITER_LOCK})

    def close(self) -> None:
        self.engine.dispose()

    def _run(self, action: str, actor: Operator | str | None, fn: Callable[[Session], T], *,
             card: str | None = None, terminal: str | None = None, details: dict | None = None) -> T:
        """Run `fn` in one transaction; on a Refused error record the refusal (audited) and re-raise."""
        try:
            for attempt in range(_RETRIES):
                try:
                    with self._tx() as s:
                        self._serialise_writers(s)
                        return fn(s)
                except IntegrityError:
                    # a concurrent transaction took the same unique value first (transaction id,
                    # booking key, blacklist version, audit link); rerun: `fn` now sees its row
                    if attempt == _RETRIES - 1:
                        raise
        except Refused as exc:
            with self._tx() as s:
                self._serialise_writers(s)
                audit.append(s, self.now(), _name(actor), action, "refused", card, terminal,
                             dict(details or {}, reason=str(exc), error=type(exc).__name__))
            raise

    def _audit(self, s: Session, actor: Operator | str | None, action: str, *, result: str = "ok",
               card: str | None = None, terminal: str | None = None, **details) -> None:
        audit.append(s, self.now(), _name(actor), action, result, card, terminal, details)

    def _operator(self, s: Session, op: Operator | str, roles: tuple[str, ...] | None = None,
                  action: str = "") -> Operator:
        name = op if isinstance(op, str) else op.username
        row = s.execute(select(Operator).where(Operator.username == name)).scalar_one_or_none()
        if row is None:
            raise NotFound("no operator %r" % _name(op))
        if not row.active:
            raise RoleError("operator %s is disabled" % row.username)
        if roles is not None and row.role not in roles:
            raise RoleError("%s: operator %s has role %s; needs %s" % (
                action or "this action", row.username, row.role, " or ".join(roles)))
        return row

    def _card(self, s: Session, card_number: str) -> Card:
        card = s.execute(select(Card).where(Card.card_number == card_number)).scalar_one_or_none()
        if card is None:
            raise NotFound("no card %s in the ledger" % card_number)
        return card

    def _require_cipher(self) -> HolderCipher:
        if self._cipher is None:
            raise DataKeyError("this ledger was opened without a data key; holder ID numbers cannot be stored or read")
        return self._cipher

    # --- audit log ---

    def verify_audit_log(self) -> audit.AuditBreak | None:
        """None when the whole chain verifies, else the first broken link."""
        with self.session() as s:
            return audit.verify(s)

    def audit_head(self) -> tuple[int, str]:
        with self.session() as s:
            return audit.head(s)

    def audit_entries(self, card: str | None = None, action: str | None = None) -> list:
        from icpurse.host.ledger.models import AuditEntry

        with self.session() as s:
            q = select(AuditEntry).order_by(AuditEntry.seq)
            if card is not None:
                q = q.where(AuditEntry.card_number == card)
            if action is not None:
                q = q.where(AuditEntry.action == action)
            return list(s.execute(q).scalars())


def _name(actor) -> str | None:
    if actor is None:
        return None
    return actor if isinstance(actor, str) else actor.username
