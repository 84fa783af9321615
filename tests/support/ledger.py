"""Ledger test constants, and the ledger database backends.

Backends: a ledger test that takes `ledger_url` (import the fixture into the suite's conftest)
runs on SQLite and on a real PostgreSQL. PostgreSQL: $ICPURSE_TEST_PG (a server URL, e.g.
postgresql://user@/postgres?host=/run/postgresql) if set; otherwise a throwaway cluster
(hil/pgcluster.py: initdb into a temp dir, a unix socket in that dir, no TCP; run as the `postgres`
user via runuser when we are root, as initdb refuses root), started once per session by the
`pg_server` fixture (tests/conftest.py) and deleted at its end. Each test gets its own database.
"""
import itertools
import os
from pathlib import Path

import pytest

from icpurse.host.programmes import load_programmes
from icpurse.keys import backoffice
from icpurse.keys.demo import demo_domain

ROOT = Path(__file__).resolve().parents[2]  # the repository (= package icpurse)
EXAMPLES = ROOT / "host" / "programmes" / "examples"
PW = "correct horse battery"  # every test operator's password
DATA_KEY = bytes(range(32))  # test-only ledger data key
# the audit chain's key of the INSECURE DEMO KEYS, so a ledger written by `--keystore demo` commands
# verifies in the tests' own ledger objects too
AUDIT_KEY = backoffice.audit_key(demo_domain(1)).material

_counter = itertools.count(1)


def example(name):
    """The one programme of the example file `name` (host/programmes/examples)."""
    (prog,) = load_programmes(EXAMPLES / name)
    return prog


def staff(ledger, people=(), admin="admin", approver="admin2"):
    """A ledger's operators the four-eyes way (host/ledger/people.py): the bootstrap issuer-admin
    `admin`, the bootstrap's second issuer-admin `approver`, then each (name, role) of `people`
    requested by `admin` and approved by `approver`."""
    ledger.people.add_operator(admin, PW, "issuer-admin")
    ledger.people.add_operator(approver, PW, "issuer-admin", by=admin)
    for name, role in people:
        ledger.people.add_operator(name, PW, role, by=admin)
        ledger.people.approve_operator(approver, name)


def sqlite_url(folder):
    return "sqlite:///%s" % (Path(folder) / "ledger.db")


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


def fresh_pg_database(server_url):
    """A new database on the server: (its URL, a conninfo of the server, its name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(server_url)
    name = "icpurse_t%d_%d" % (os.getpid(), next(_counter))
    conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "%s"' % name)
    return u.set(database=name).render_as_string(hide_password=False), conninfo, name


def drop_pg_database(conninfo, name):
    """Drop the database and the roles named after it (its job roles and operator logins, migration
    0003c: role names are cluster-wide)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        roles = [r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) OR "
                                            "starts_with(rolname, %s)", (name + ".", name + "/"))]
        for r in sorted(roles, key=lambda r: r.endswith("/operator")):  # the group last
            conn.execute('DROP ROLE IF EXISTS "%s"' % r)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    """A URL of an empty ledger database, on each backend in turn."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    server = request.getfixturevalue("pg_server")
    url, conninfo, name = fresh_pg_database(server)
    try:
        yield url
    finally:
        drop_pg_database(conninfo, name)
