"""Fixtures of the issuance workstation tests: a ledger (SQLite in the test's folder) with operators
of each role and the example programmes registered, the INSECURE DEMO KEYS as the workstation key
set; and the PC/SC stack fixtures `pcscd` / `start_sim` of tests/sim (imported, not copied)."""
import importlib.util
import sys
from pathlib import Path

import pytest
from issuance_world import DATA_KEY, FakeClock, setup_world

from icpurse.host.issuance.service import Workstation
from icpurse.host.ledger import open_ledger
from icpurse.keys import demo, exports

_SIM_TESTS = Path(__file__).resolve().parents[1] / "sim"
if str(_SIM_TESTS) not in sys.path:
    sys.path.append(str(_SIM_TESTS))  # simproc, used by tests/sim/conftest.py
_spec = importlib.util.spec_from_file_location("sim_test_fixtures", _SIM_TESTS / "conftest.py")
_sim_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sim_fixtures)
pcscd = _sim_fixtures.pcscd
start_sim = _sim_fixtures.start_sim


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(scope="session")
def demo_keyset():
    return exports.workstation_keyset(demo.demo_domain())


@pytest.fixture
def ledger_url(tmp_path):
    return "sqlite:///%s" % (tmp_path / "ledger.db")


@pytest.fixture
def ledger(ledger_url, clock):
    led = open_ledger(ledger_url, data_key=DATA_KEY, clock=clock)
    setup_world(led)
    try:
        yield led
    finally:
        led.close()


@pytest.fixture
def station(ledger, demo_keyset):
    """The workstation as finance (who registers card numbers)."""
    return Workstation(ledger, demo_keyset.to_keysets(), demo_keyset.issuer, "finance")
