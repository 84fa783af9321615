"""Lifecycle tests: each test's ledger is a copy of a template built once (lifecycle_world.py), on
the manual `clock` (tests/conftest.py; 2026-03-02 10:00 CST, lifecycle_world.START)."""
import lifecycle_world as w
import pytest


@pytest.fixture(scope="session")
def ledger_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("lifecycle-template") / "ledger.db"
    w.build_template(path)
    return path


@pytest.fixture
def ledger(ledger_template, tmp_path, clock):
    led = w.open_copy(ledger_template, tmp_path, clock)
    try:
        yield led
    finally:
        led.close()
