"""Ledger test backends: every ledger test runs on SQLite and on a real PostgreSQL.

PostgreSQL: $ICPURSE_TEST_PG (a server URL, e.g. postgresql://user@/postgres?host=/run/postgresql)
if set; otherwise a throwaway cluster is created here (initdb into a temp dir, pg_ctl start on a
unix socket in that dir, no TCP), and stopped and deleted at the end of the session. As root,
initdb refuses to run, so the cluster is run as the `postgres` user via runuser. Each test gets
its own fresh database.
"""
import datetime as dt
import itertools
import os

import pytest

from world import DATA_KEY

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server():
    """A server URL (without a database of ours): $ICPURSE_TEST_PG, or a throwaway cluster started
    for the session (hil/pgcluster.py; fsync off, it is thrown away)."""
    from icpurse.hil import pgcluster

    try:
        cluster = pgcluster.server(os.environ.get("ICPURSE_TEST_PG"), fast=True)
        url = cluster.__enter__()
    except pgcluster.Unavailable as e:
        pytest.skip("%s (set ICPURSE_TEST_PG to use an existing server)" % e)
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)


def _fresh_pg_database(server_url):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(server_url)
    name = "icpurse_t%d_%d" % (os.getpid(), next(_counter))
    conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "%s"' % name)
    return u.set(database=name).render_as_string(hide_password=False), conninfo, name


def _drop_pg_database(conninfo, name):
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    """A URL of an empty ledger database, on each backend in turn."""
    if request.param == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "ledger.db")
        return
    server = request.getfixturevalue("pg_server")
    url, conninfo, name = _fresh_pg_database(server)
    try:
        yield url
    finally:
        _drop_pg_database(conninfo, name)


class FakeClock:
    """A controllable clock (no real sleeps): starts 2026-03-02 10:00 China Standard Time."""

    def __init__(self, start=dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc)):
        self.t = start

    def __call__(self):
        return self.t

    def advance(self, **kw):
        self.t += dt.timedelta(**kw)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def ledger(ledger_url, clock):
    from icpurse.host.ledger import open_ledger

    led = open_ledger(ledger_url, data_key=DATA_KEY, clock=clock)
    try:
        yield led
    finally:
        led.close()
