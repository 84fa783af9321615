"""The load tests run on SQLite (WAL) and on PostgreSQL: the throwaway cluster of tests/ledger/conftest.py
is reused (loaded under its own module name; it also honours $ICPURSE_TEST_PG)."""
import importlib.util
import os
import sys

import pytest

_LEDGER_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ledger")
if _LEDGER_TESTS not in sys.path:
    sys.path.insert(0, _LEDGER_TESTS)  # its `from world import DATA_KEY`
_spec = importlib.util.spec_from_file_location("icpurse_ledger_test_backends", os.path.join(_LEDGER_TESTS, "conftest.py"))
_backends = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_backends)

pg_server = _backends.pg_server


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    """A URL of an empty ledger database, on each backend in turn."""
    if request.param == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "ledger.db")
        return
    server = request.getfixturevalue("pg_server")
    url, conninfo, name = _backends._fresh_pg_database(server)
    try:
        yield url
    finally:
        _backends._drop_pg_database(conninfo, name)
