"""The issuer's ledger: double-entry prepaid liability per card in integer fen, card stock, cards,
named holders (ID numbers encrypted at rest), operators and roles, terminals, top-ups, a versioned
blacklist and a hash-chained audit log. SQLite by default, PostgreSQL by URL; alembic migrations.

    ledger = open_ledger()            # or open_ledger("postgresql://...") / $ICPURSE_DB
"""
from icpurse.host.ledger.audit import AuditBreak
from icpurse.host.ledger.db import ENV_VAR, default_url, resolve_url
from icpurse.host.ledger.errors import (
    AuthenticationError, BlacklistedError, CapExceededError, DataKeyError, IdempotencyConflict, InvalidStateError,
    LedgerError, NonCashRequiredError, NotFound, ProgrammeViolationError, RealNameRequiredError, Refused, RoleError,
    SeparationOfDutiesError, UnbalancedEntryError,
)
from icpurse.host.ledger.issuance import HolderInfo, StockCount
from icpurse.host.ledger.service import Ledger, open_ledger
from icpurse.host.ledger.views import PersonalisationView

__all__ = [
    "open_ledger", "Ledger", "HolderInfo", "StockCount", "PersonalisationView", "AuditBreak", "ENV_VAR", "default_url", "resolve_url",
    "LedgerError", "Refused", "NotFound", "SeparationOfDutiesError", "RoleError", "AuthenticationError",
    "InvalidStateError", "CapExceededError", "ProgrammeViolationError", "BlacklistedError", "RealNameRequiredError",
    "NonCashRequiredError", "IdempotencyConflict", "UnbalancedEntryError", "DataKeyError",
]
