"""The load tests run on SQLite (WAL) and on PostgreSQL, as the ledger tests do (support/ledger.py)."""
from support.ledger import ledger_url  # noqa: F401 (fixture)
