"""Ledger test backends: every ledger test runs on SQLite and on a real PostgreSQL.

PostgreSQL: $ICPURSE_TEST_PG (a server URL, e.g. postgresql://user@/postgres?host=/run/postgresql)
if set; otherwise a throwaway cluster is created here (initdb into a temp dir, pg_ctl start on a
unix socket in that dir, no TCP), and stopped and deleted at the end of the session. As root,
initdb refuses to run, so the cluster is run as the `postgres` user via runuser. Each test gets
its own fresh database.
"""
import datetime as dt
import glob
import itertools
import os
import shutil
import subprocess
import tempfile

import pytest

from world import DATA_KEY

_PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_counter = itertools.count(1)


def _pg_bin():
    dirs = sorted(glob.glob(_PG_BIN_GLOB), key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    found = shutil.which("initdb") and shutil.which("pg_ctl")
    return os.path.dirname(shutil.which("initdb")) if found else None


def _as_pg(cmd):
    """Run a PostgreSQL server command; as root via runuser -u postgres (initdb refuses root)."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)


@pytest.fixture(scope="session")
def pg_server():
    """(server URL without database, admin database name). Starts a throwaway cluster if needed."""
    env_url = os.environ.get("ICPURSE_TEST_PG")
    if env_url:
        yield env_url
        return
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian package `postgresql`, %s)" % _PG_BIN_GLOB)
    root = tempfile.mkdtemp(prefix="icpurse-pg-")
    os.chmod(root, 0o777)  # the postgres user writes the cluster and its socket here
    data = os.path.join(root, "data")
    try:
        _as_pg([os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--no-sync", "--locale=C"])
        _as_pg([os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(root, "server.log"), "-w", "-t", "60",
                "-o", "-k %s -c listen_addresses='' -F -c max_connections=50" % root, "start"])
    except subprocess.CalledProcessError as exc:
        log = open(os.path.join(root, "server.log")).read() if os.path.exists(os.path.join(root, "server.log")) else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError("could not start the test PostgreSQL cluster: %s\n%s\n%s" % (
            exc, exc.stdout.decode(errors="replace") if exc.stdout else "", log)) from None
    try:
        yield "postgresql+psycopg://postgres@/postgres?host=%s" % root
    finally:
        try:
            _as_pg([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(root, ignore_errors=True)


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
