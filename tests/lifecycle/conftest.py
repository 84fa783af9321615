import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import lifecycle_world as w  # noqa: E402


@pytest.fixture(scope="session")
def ledger_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("lifecycle-template") / "ledger.db"
    w.build_template(path)
    return path


@pytest.fixture
def clock():
    return w.Clock()


@pytest.fixture
def ledger(ledger_template, tmp_path, clock):
    led = w.open_copy(ledger_template, tmp_path, clock)
    try:
        yield led
    finally:
        led.close()
