"""The ledger's unit of work: the one way a service reads and changes the books.

Every service of the ledger (`Ledger.people`, `Ledger.stock`, ... see `service.py`) receives the
same `UnitOfWork` and uses it for every database access:

- `read()`: a session for queries (`with uow.read() as s: ...`), never for changes;
- `run(action, actor, fn, card=..., terminal=..., details=...)`: a state change. `fn(session)` runs
  in ONE writing transaction together with the audit entries it appends (`audit(...)`); a `Refused`
  error rolls the change back and records the refusal in the audit log instead (its own
  transaction), then re-raises. A unique-value race (IntegrityError) reruns `fn`, which then sees
  the row the other writer committed;
- `transaction()`: the bare writing transaction `run` uses (no audit, no retry), for the ledger's
  own tests and tools;
- `now()` (the ledger clock, always aware), `business_date()` (the business calendar: UTC+8 and a
  23:00 cut-off by default), `cipher()` (the holder data cipher; DataKeyError without a data key);
- `audit_key`: the key of the audit chain (from the key set; None: the ledger can be read, not
  written: `audit.AuditKeyError`);
- `bound_operator`: on PostgreSQL, the operator whose own login role this connection is (None: the
  ledger's owner, or SQLite). A bound connection acts only as that operator: `run` refuses any other
  actor, and the database itself refuses audit entries in another name (migration 0003c);
- `default_actor`: the operator signed in at this workstation (the CLI sets it): what a service
  records without naming an operator (a collected journal, an observation, a finding) is recorded
  under that operator (or the bound one), never under no one.

Every writing transaction seals the bookings it made (audit.py): the audit entries it appends do,
and `run` appends a `books.seal` entry when it booked after its last audit entry.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from icpurse.host.ledger import audit
from icpurse.host.ledger.db import READ_ONLY
from icpurse.host.ledger.errors import DataKeyError, Refused, RoleError
from icpurse.host.ledger.holder_crypto import HolderCipher

T = TypeVar("T")
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")
DEFAULT_CUTOFF = dt.time(23, 0)  # daily cut-off (日切) in business time; configurable per ledger
_RETRIES = 3


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class BusinessCalendar:
    """The issuer's business day: its time zone and its daily cut-off (日切)."""

    tz: dt.tzinfo = CHINA_STANDARD_TIME
    cutoff: dt.time = DEFAULT_CUTOFF

    def date(self, when: dt.datetime) -> dt.date:
        return when.astimezone(self.tz).date()


class UnitOfWork:
    """Sessions, the audited transaction, the clock, the business calendar and the holder cipher,
    shared by every ledger service (module docstring)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], dt.datetime] = utc_now,
                 calendar: BusinessCalendar = BusinessCalendar(), cipher: HolderCipher | None = None,
                 audit_key: bytes | None = None):
        self.engine = engine
        self.audit_key = audit.check_audit_key(audit_key)
        self.bound_operator = None  # set by Ledger on PostgreSQL (module docstring)
        self.default_actor = None  # the operator signed in: who records what a service records as "no one"
        self.calendar = calendar
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        self._clock = clock
        self._cipher = cipher

    def now(self) -> dt.datetime:
        when = self._clock()
        if when.tzinfo is None:
            raise ValueError("the ledger clock must return aware datetimes")
        return when

    def business_date(self, when: dt.datetime | None = None) -> dt.date:
        return self.calendar.date(when or self.now())

    def cipher(self) -> HolderCipher:
        """The holder data cipher; DataKeyError when the ledger was opened without a data key."""
        if self._cipher is None:
            raise DataKeyError("this ledger was opened without a data key; holder ID numbers cannot be stored or read")
        return self._cipher

    def read(self) -> Session:
        """A session for queries (`with uow.read() as s: ...`); changes go through `run`."""
        return self._read_sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A writing transaction; on PostgreSQL it holds the writers' lock from its start (audit.lock_writers),
        as SQLite's BEGIN IMMEDIATE does, so read-then-write rules (caps, next blacklist version, audit
        tail, the seal range) see every earlier commit."""
        with self._sessions.begin() as s:
            audit.lock_writers(s)
            yield s

    def _acting(self, actor) -> str | None:
        """The name a change is recorded under: the actor; without one, the connection's operator (bound)
        or the operator signed in (`default_actor`). A bound connection acts as its operator only."""
        name = audit.actor_name(actor) or self.bound_operator or self.default_actor
        if self.bound_operator is not None and name != self.bound_operator:
            raise RoleError("this database login is operator %s's: it cannot act as %s" % (
                self.bound_operator, name or "no operator"))
        return name

    def run(self, action: str, actor, fn: Callable[[Session], T], *, card: str | None = None,
            terminal: str | None = None, details: dict | None = None) -> T:
        """Run `fn` in one transaction; on a Refused error record the refusal (audited) and re-raise."""
        try:
            self._acting(actor)
            for attempt in range(_RETRIES):
                try:
                    with self.transaction() as s:
                        result = fn(s)
                        if audit.unsealed(s):  # booked after its last audit entry: seal it now
                            self.audit(s, actor, audit.SEAL_ACTION, card=card, terminal=terminal, of=action)
                        return result
                except IntegrityError:
                    # a concurrent transaction took the same unique value first (transaction id,
                    # booking key, blacklist version, audit link); rerun: `fn` now sees its row
                    if attempt == _RETRIES - 1:
                        raise
        except Refused as exc:
            name, extra = audit.actor_name(actor) or self.bound_operator or self.default_actor, {}
            if self.bound_operator is not None and name != self.bound_operator:
                name, extra = self.bound_operator, {"as": name}  # the refusal is recorded under who tried
            with self.transaction() as s:
                audit.append(s, self.audit_key, self.now(), name, action, "refused", card, terminal,
                             dict(details or {}, reason=str(exc), error=type(exc).__name__, **extra))
            raise

    def audit(self, s: Session, actor, action: str, *, result: str = "ok", card: str | None = None,
              terminal: str | None = None, booked: list | None = None, **details) -> audit.Appended:
        """Append an audit entry in the caller's transaction (`actor`: an Operator, a name or None);
        `booked`: a bulk writer's bookings as written (audit.append, which says what it wrote)."""
        return audit.append(s, self.audit_key, self.now(), self._acting(actor), action, result, card, terminal, details,
                     booked=booked)
