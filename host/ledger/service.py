"""`Ledger`: the issuer's ledger as a set of services over one unit of work, and `open_ledger`.

    ledger = open_ledger(url, data_key=..., clock=...)
    ledger.sales.record_sale("seller", card_number, payment_method="cash")
    ledger.books.outstanding_balance(card_number)

`Ledger` owns the engine, the clock, the business calendar, the holder cipher and the unit of work
(`unit_of_work.UnitOfWork`: read sessions and the audited transaction); every service receives that
same unit of work and nothing else. The services, one module each:

| attribute | module | what |
|---|---|---|
| `people` | `people.py` | operators: roles, passwords, login |
| `programmes` | `programmes.py` | programmes registered for issuing (violations, override) |
| `stock` | `stock.py` | card stock: receive, identify, issue to a sales point, count |
| `cards` | `cards.py` | card numbers, holders, what was last seen on a card |
| `sales` | `sales.py` | sale, payment confirmation, activation |
| `personalisation_records` | `personalisation_records.py` | the personalisation journal, programmes' numbers on cards |
| `topup_records` | `topup_records.py` | top-ups and their voids in the books |
| `blacklist` | `blacklist.py` | the versioned blacklist |
| `store` | `store.py` | terminals, sign-ins, collected journals, day-close batches, observations, exceptions |
| `lifecycle_records` | `lifecycle_records.py` | lost, replacement, redemption, goods refunds, re-activation, closing |
| `rekey_records` | `rekey_records.py` | the re-key journal |
| `migration_records` | `migration_records.py` | the layout-move journal (v1 cards to v2) |
| `books` | `books.py` | balances, trial balance, redemptions, discrepancies, entry read models |
| `reconciliation` | `reconciliation.py` | set-based reads/writes and watermarks of a reconciliation run |
| `audit` | `audit.py` | the hash-chained audit log: verify, head, entries |
| `outlets` | `outlets.py` | sales points, kiosk terminals, terminal status, cut-offs per programme or outlet |
| `adjustments` | `adjustments.py` | refunds and adjustments of top-ups after the cut-off (four eyes) |
| `clearing` | `clearing.py` | the clearing house's daily file (对账): long / short / amount-mismatch items |

The `*_records` services are the books' side of a workstation flow that writes cards
(`host/issuance/personalise.py`, `host/issuance/topup.py`, `host/lifecycle/`, `host/issuance/rekey.py`).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from icpurse.host.ledger.adjustments import Adjustments
from icpurse.host.ledger.audit import AuditLog
from icpurse.host.ledger.blacklist import Blacklist
from icpurse.host.ledger.books import Books
from icpurse.host.ledger.clearing import Clearing
from icpurse.host.ledger.cards import Cards
from icpurse.host.ledger.db import (
    create_ledger_engine, current_revision, ledger_exists, migrate, resolve_url, session_operator,
)
from icpurse.host.ledger.holder_crypto import HolderCipher
from icpurse.host.ledger.errors import LedgerError
from icpurse.host.ledger.lifecycle_records import LifecycleRecords
from icpurse.host.ledger.outlets import Outlets
from icpurse.host.ledger.people import People
from icpurse.host.ledger.personalisation_records import PersonalisationRecords
from icpurse.host.ledger.programmes import Programmes
from icpurse.host.ledger.reconciliation import Reconciliation
from icpurse.host.ledger.migration_records import MigrationRecords
from icpurse.host.ledger.rekey_records import RekeyRecords
from icpurse.host.ledger.sales import Sales
from icpurse.host.ledger.stock import Stock
from icpurse.host.ledger.store import Store
from icpurse.host.ledger.topup_records import TopupRecords
from icpurse.host.ledger.unit_of_work import (
    CHINA_STANDARD_TIME, DEFAULT_CUTOFF, BusinessCalendar, UnitOfWork, utc_now,
)


class NoLedger(LedgerError):
    """There is no ledger at the URL (a mistyped --db, or one never created)."""

    exit_code = 2  # usage: the --db given names no ledger

    def __init__(self, url):
        super().__init__("no ledger at %s: check --db / ICPURSE_DB, or create one with `icpurse ledger init`"
                         % shown_url(url))
        self.url = url


def shown_url(url):
    """A ledger URL as it may be shown (password hidden)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


class Ledger:
    """The issuer's ledger. Every state-changing method writes its audit entry in the same
    transaction; rule refusals raise a `Refused` subclass and are audited too."""

    def __init__(self, engine, *, data_key: bytes | None = None, audit_key: bytes | None = None,
                 clock: Callable[[], dt.datetime] = utc_now, business_tz: dt.tzinfo = CHINA_STANDARD_TIME,
                 daily_cutoff: dt.time = DEFAULT_CUTOFF):
        self.engine = engine
        self.calendar = BusinessCalendar(business_tz, daily_cutoff)
        self.uow = UnitOfWork(engine, clock=clock, calendar=self.calendar,
                              cipher=HolderCipher(data_key) if data_key is not None else None, audit_key=audit_key)
        self.uow.bound_operator = session_operator(engine)
        self.people = People(self.uow)
        self.programmes = Programmes(self.uow)
        self.stock = Stock(self.uow)
        self.cards = Cards(self.uow)
        self.sales = Sales(self.uow)
        self.personalisation_records = PersonalisationRecords(self.uow)
        self.topup_records = TopupRecords(self.uow)
        self.blacklist = Blacklist(self.uow)
        self.store = Store(self.uow)
        self.lifecycle_records = LifecycleRecords(self.uow)
        self.rekey_records = RekeyRecords(self.uow)
        self.migration_records = MigrationRecords(self.uow)
        self.books = Books(self.uow)
        self.reconciliation = Reconciliation(self.uow)
        self.audit = AuditLog(self.uow)
        self.outlets = Outlets(self.uow)
        self.adjustments = Adjustments(self.uow)
        self.clearing = Clearing(self.uow)

    def now(self) -> dt.datetime:
        """The ledger clock (aware)."""
        return self.uow.now()

    def business_date(self, when: dt.datetime | None = None) -> dt.date:
        """The business day of `when` (default: now) in the ledger's business calendar."""
        return self.uow.business_date(when)

    @property
    def acting_operator(self) -> str | None:
        """The operator signed in at this workstation: what a service records without naming an operator
        (a collected journal, an observation, a finding) is recorded under it (UnitOfWork.default_actor)."""
        return self.uow.default_actor

    @acting_operator.setter
    def acting_operator(self, name: str | None) -> None:
        self.uow.default_actor = name

    @property
    def can_record(self) -> bool:
        """False when opened without the audit key: nothing can be recorded, the log not verified."""
        return self.uow.audit_key is not None

    def close(self) -> None:
        self.engine.dispose()


def open_ledger(url: str | None = None, *, data_key: bytes | None = None, audit_key: bytes | None = None,
                clock: Callable[[], dt.datetime] = utc_now, business_tz: dt.tzinfo = CHINA_STANDARD_TIME,
                daily_cutoff: dt.time = DEFAULT_CUTOFF, echo: bool = False, operator: str | None = None,
                password: str | None = None, create: bool = True) -> Ledger:
    """Open (creating if needed) the ledger at `url` (default: $ICPURSE_DB, else SQLite in the user's
    data directory) and migrate its schema to head. `data_key` (>= 16 random bytes, from the key set)
    encrypts holder ID numbers; without it named-card sales are refused. `audit_key` (32 bytes, from
    the key set) keys the audit chain; without it nothing can be recorded.

    PostgreSQL: with `operator` (and its `password`) and a URL naming no user, the connection is that
    operator's own database login (pgroles.login_role); LoginError when the server refuses it.

    `create=False`: a ledger that does not exist yet is not created (NoLedger)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from icpurse.host.ledger import pgroles
    from icpurse.host.ledger.errors import LoginError

    url = resolve_url(url)
    if not create and not ledger_exists(url, before_connect=True):
        raise NoLedger(url)
    u = make_url(url)
    as_operator = u.get_backend_name() == "postgresql" and operator is not None and u.username is None
    if as_operator:
        url = u.set(username=pgroles.login_role(u.database, operator)).render_as_string(hide_password=False)
    engine = create_ledger_engine(url, echo=echo, password=password if as_operator else None)
    try:
        if not create and not (current_revision(engine) is not None if as_operator  # login errors: LoginError
                               else ledger_exists(url, engine=engine)):
            engine.dispose()
            raise NoLedger(url)
        migrate(engine)
    except OperationalError as e:
        engine.dispose()
        if not as_operator:
            raise
        raise LoginError("cannot open the ledger as operator %s: %s. An issuer-admin creates the operator's database "
                         "login with `icpurse operator login %s`" % (
                             operator, str(e.orig).strip().splitlines()[0], operator)) from None
    return Ledger(engine, data_key=data_key, audit_key=audit_key, clock=clock, business_tz=business_tz,
                  daily_cutoff=daily_cutoff)
