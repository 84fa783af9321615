"""A PostgreSQL server for `make bench`: the one named by a URL, or a throwaway cluster (initdb into a
temp dir, unix socket only, no TCP; as root run as the `postgres` user, since initdb refuses root) —
also used by the tests' `pg_server` fixture (tests/support/ledger.py)."""
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class Unavailable(Exception):
    """No PostgreSQL server can be had here (the reason is the message)."""


def _bindir():
    for d in sorted(glob.glob(PG_BIN_GLOB), key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0,
                    reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb and shutil.which("pg_ctl") else None


def _as_pg(cmd):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)


@contextmanager
def server(url=None, fast=False):
    """Yield a server URL (without a database of ours): `url` itself, or a throwaway cluster's.
    `fast`: fsync off (tests: the cluster is thrown away; the bench keeps fsync on)."""
    if url:
        yield url
        return
    bindir = _bindir()
    if bindir is None:
        raise Unavailable("no PostgreSQL server binaries (Debian package `postgresql`) and ICPURSE_BENCH_PG unset")
    root = tempfile.mkdtemp(prefix="icpurse-pg-")
    os.chmod(root, 0o777)  # the postgres user writes the cluster and its socket here
    data = os.path.join(root, "data")
    try:
        _as_pg([os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--no-sync", "--locale=C"])
        # the superuser (tests, bench) is trusted on the socket; every other role - an operator's own
        # login (migration 0003c) - authenticates with its password, as on a real server
        with open(os.path.join(data, "pg_hba.conf"), "w") as f:
            f.write("local all postgres trust\nlocal all all scram-sha-256\n")
        _as_pg([os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(root, "server.log"), "-w", "-t", "60",
                "-o", "-k %s -c listen_addresses=''%s -c max_connections=50" % (root, " -F" if fast else ""),
                "start"])
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable("could not start a throwaway PostgreSQL cluster: %s" % exc) from None
    try:
        yield "postgresql+psycopg://postgres@/postgres?host=%s" % root
    finally:
        try:
            _as_pg([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def database(server_url):
    """A fresh database on the server for the duration; yields its URL, drops it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(server_url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    name = "icpurse_bench_%s" % uuid.uuid4().hex[:12]
    conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "%s"' % name)
    except psycopg.Error as exc:
        raise Unavailable("cannot create a database on %s: %s" % (u.render_as_string(), exc)) from None
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
