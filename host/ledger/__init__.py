"""The issuer's ledger: double-entry prepaid liability per card in integer fen, card stock, cards,
named holders (ID numbers encrypted at rest), operators and roles, terminals, top-ups, a versioned
blacklist and a hash-chained audit log. SQLite by default, PostgreSQL by URL; alembic migrations.

    ledger = open_ledger()            # or open_ledger("postgresql://...") / $ICPURSE_DB
    ledger.books.trial_balance()      # one service per job: service.py lists them

Nothing outside this package queries the database: every read and change goes through a service.
"""
from icpurse.host.ledger.audit import AuditBreak, AuditKeyError
from icpurse.host.ledger.db import ENV_VAR, default_url, resolve_url
from icpurse.host.ledger.errors import (
    AuthenticationError, BlacklistedError, CapExceededError, DataKeyError, IdempotencyConflict, InvalidStateError,
    LedgerError, LoginError, NonCashRequiredError, NotFound, ProgrammeViolationError, RealNameRequiredError, Refused,
    RoleError, SeparationOfDutiesError, UnbalancedEntryError,
)
from icpurse.host.ledger.cards import HolderInfo
from icpurse.host.ledger.models import ROLES
from icpurse.host.ledger.service import Ledger, NoLedger, open_ledger
from icpurse.host.ledger.stock import StockCount
from icpurse.host.ledger.views import PersonalisationView

__all__ = [
    "open_ledger", "Ledger", "NoLedger", "LoginError", "HolderInfo", "StockCount", "PersonalisationView", "AuditBreak",
    "AuditKeyError", "ENV_VAR", "default_url", "resolve_url",
    "ROLES",
    "LedgerError", "Refused", "NotFound", "SeparationOfDutiesError", "RoleError", "AuthenticationError",
    "InvalidStateError", "CapExceededError", "ProgrammeViolationError", "BlacklistedError", "RealNameRequiredError",
    "NonCashRequiredError", "IdempotencyConflict", "UnbalancedEntryError", "DataKeyError",
]
