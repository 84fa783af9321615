"""Fixtures every suite may use, and the rule that ties hardware stacks to their markers.

Imports: pyproject.toml's pytest `pythonpath` puts tests/ (the `support` package),
tests/firmware (the dual-run helpers: mpytest, purse_fixtures, reader_fixtures, ...) and
tests/fuzz/targets (the atheris targets) on the import path; a suite's own helper modules
(`world`, `issuance_world`, ...) are found next to its tests (pytest's default import mode puts a
test module's folder on the path). tests/ has no __init__.py on purpose: the repository root is
the `icpurse` package, so a package tests/ would be imported as part of it.

Fixtures defined once in support/ and registered here:
  clock       the manual ledger clock (support.clock.ManualClock at 2026-03-02 10:00 CST)
  world       the store world (support.store.World) of the terminal, audit and reconciliation
              suites; tests/reports overrides it with its report history
  pg_server   one PostgreSQL server for the whole session (support.ledger)
  start_sim   `icpurse sim serve` subprocesses (support.simproc)
  pcscd       pcscd with the vpcd driver (support.simproc)
  acr122u_reader  the vpcd reader named as a real ACR122U, checked in pcscd's list (support.simproc)

Test-only low costs, set here for the whole run (and the `icpurse` subprocesses it starts), each
documented where it is read and logged as a warning when first used: operator passwords hashed at a
low argon2id cost (ICPURSE_TEST_WEAK_PASSWORD_HASH, host/ledger/passwords.py) and keystores at any
scrypt N (ICPURSE_TEST_WEAK_KDF, keys/keystore.py). The tests of those policies unset them.
"""
import os

import pytest

os.environ["ICPURSE_TEST_WEAK_PASSWORD_HASH"] = "1"
os.environ["ICPURSE_TEST_WEAK_KDF"] = "1"

from support.clock import ManualClock
from support.ledger import pg_server  # noqa: F401 (fixture)
from support.simproc import acr122u_reader, pcscd, start_sim  # noqa: F401 (fixtures)
from support.store import world  # noqa: F401 (fixture)

# fixture -> the marker a test using it must carry, so `-m "not <marker>"` deselects every such test
_NEEDS_MARKER = {"pcscd": "pcsc"}


@pytest.fixture(autouse=True, scope="session")
def _no_user_config(tmp_path_factory):
    """The tests never read the developer's own configuration file (host/clikit/config.py)."""
    import os

    os.environ["ICPURSE_CONFIG"] = str(tmp_path_factory.mktemp("config") / "none.toml")


@pytest.fixture
def clock():
    return ManualClock()


def pytest_collection_modifyitems(config, items):
    missing = ["%s (uses %s, lacks @pytest.mark.%s)" % (item.nodeid, fixture, marker)
               for item in items
               for fixture, marker in _NEEDS_MARKER.items()
               if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None]
    if missing:
        raise pytest.UsageError("tests need their hardware marker:\n  " + "\n  ".join(missing))
