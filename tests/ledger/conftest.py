"""Every ledger test runs on SQLite and on a real PostgreSQL (`ledger_url`, support/ledger.py says
where the server comes from); `ledger` opens it with the manual clock (`clock`, tests/conftest.py)."""
import pytest

from support.ledger import AUDIT_KEY, DATA_KEY, ledger_url  # noqa: F401 (fixture)


@pytest.fixture
def ledger(ledger_url, clock):
    from icpurse.host.ledger import open_ledger

    led = open_ledger(ledger_url, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=clock)
    try:
        yield led
    finally:
        led.close()
