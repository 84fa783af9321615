"""Report tests read one issuer history (reports_world.py). Its `world` (the ledger file) overrides
the store world of tests/conftest.py in this folder."""
import pytest
import reports_world as w


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """A ledger with several business days over two quarters of bookings, built once (read-only)."""
    folder = tmp_path_factory.mktemp("reports-world")
    w.build(folder / "ledger.db")
    return folder / "ledger.db"


@pytest.fixture(scope="session")
def facts(world):
    from icpurse.host.reports.facts import load_facts

    led = w.open_world(world)
    try:
        return load_facts(led, now=w.AFTER)
    finally:
        led.close()
