"""Fixtures of the issuance workstation tests: a ledger (SQLite in the test's folder) with operators
of each role and the example programmes registered, the INSECURE DEMO KEYS as the workstation key
set. The manual `clock` and the PC/SC stack fixtures `pcscd` / `start_sim` come from tests/conftest.py."""
import pytest
from issuance_world import DATA_KEY, setup_world

from icpurse.host.issuance.service import Workstation
from icpurse.host.ledger import open_ledger
from icpurse.keys import demo, exports
from support.ledger import AUDIT_KEY, sqlite_url


@pytest.fixture(scope="session")
def demo_keyset():
    return exports.workstation_keyset(demo.demo_domain())


@pytest.fixture
def ledger_url(tmp_path):
    return sqlite_url(tmp_path)


@pytest.fixture
def ledger(ledger_url, clock):
    led = open_ledger(ledger_url, audit_key=AUDIT_KEY, data_key=DATA_KEY, clock=clock)
    setup_world(led)
    try:
        yield led
    finally:
        led.close()


@pytest.fixture
def station(ledger, demo_keyset):
    """The workstation as finance (who registers card numbers)."""
    return Workstation(ledger, demo_keyset.to_keysets(), demo_keyset.issuer, "finance")
