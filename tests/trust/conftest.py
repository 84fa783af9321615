"""The back-office trust suite: every attack of issue 13 tried as an insider would, on SQLite and on
a real PostgreSQL (`ledger_url`: support/ledger.py; the throwaway cluster authenticates every role but
its superuser with a password, as a real server does)."""
import pytest

from support.ledger import AUDIT_KEY, DATA_KEY, ledger_url  # noqa: F401 (fixture)
from trust_world import setup


@pytest.fixture
def ledger(ledger_url, clock):
    from icpurse.host.ledger import open_ledger

    led = open_ledger(ledger_url, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=clock)
    setup(led)
    try:
        yield led
    finally:
        led.close()
