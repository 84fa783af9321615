"""PostgreSQL: an operator's own database login (migration 0003c has the job roles and privileges).

An operator authenticates to the server with its own LOGIN role (`<database>.<operator>`), member of
its job role (`<database>/<role>`); the ledger binds that connection to the operator (operators.db_role =
session_user) and the server refuses what the job may not do. The role is made by
`People.create_login` (`icpurse operator login NAME`) on a connection allowed to create roles (the
ledger's owner). The password never travels in clear in SQL: the command sends a SCRAM-SHA-256
verifier computed here (RFC 5802 / RFC 7677, the format PostgreSQL stores), with 600,000 PBKDF2
iterations (the test-only low cost of passwords.py: 4,096, PostgreSQL's own default).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from sqlalchemy import text

from icpurse.host.ledger import passwords

SCRAM_ITERATIONS = 600_000
MAX_NAME = 63  # PostgreSQL identifiers (bytes)


def connects_as_operator(url: str | None) -> bool:
    """True when `url` (or $ICPURSE_DB) is PostgreSQL naming no user: an operator connects with its own login."""
    from sqlalchemy.engine import make_url

    from icpurse.host.ledger.db import resolve_url

    u = make_url(resolve_url(url))
    return u.get_backend_name() == "postgresql" and u.username is None


def login_role(database: str, operator: str) -> str:
    """The default login role of `operator` in ledger database `database`: '<database>.<operator>'."""
    name = "%s.%s" % (database, operator)
    if len(name.encode("utf-8")) > MAX_NAME:
        raise ValueError("the login role %r is longer than %d bytes: choose a shorter one (--db-role)" % (
            name, MAX_NAME))
    return name


def job_role(database: str, role: str) -> str:
    """The job role of operator role `role` in ledger database `database`: '<database>/<role>'."""
    return "%s/%s" % (database, role)


def scram_verifier(password: str, iterations: int | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` ('SCRAM-SHA-256$i:salt$stored:server')."""
    if iterations is None:
        iterations = 4096 if passwords.test_cost_active() else SCRAM_ITERATIONS
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, b64(salt), b64(stored_key), b64(server_key))


def make_login(s, role_name: str, job: str, password: str) -> None:
    """Create (or reset) LOGIN role `role_name` with `password`, member of job role `job` only."""
    exists = s.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role_name}).first()
    verb = "ALTER ROLE %I LOGIN PASSWORD %L" if exists else "CREATE ROLE %I LOGIN PASSWORD %L"
    _run(s, verb, role_name, scram_verifier(password))
    regrant(s, role_name, job)


def _run(s, fmt: str, *args: str) -> None:
    """Execute a utility statement built by the server's own quoting (format %I / %L)."""
    params = {"a%d" % i: a for i, a in enumerate(args)}
    call = "SELECT format(:f%s)" % "".join(", CAST(:a%d AS text)" % i for i in range(len(args)))
    sql = s.execute(text(call), dict(params, f=fmt)).scalar_one()
    s.connection().exec_driver_sql(sql)  # not text(): a verifier's ':' would read as a bind parameter


def set_own_password(s, password: str) -> None:
    """An operator login changes its own server password (a role may alter its own password)."""
    user = s.execute(text("SELECT session_user")).scalar_one()
    _run(s, "ALTER ROLE %I PASSWORD %L", user, scram_verifier(password))


def regrant(s, role_name: str, job: str) -> None:
    """After a role change: the login becomes a member of its new job role only."""
    database = s.execute(text("SELECT current_database()")).scalar_one()
    prefix = database + "/"
    for (old,) in s.execute(text("SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                                 "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r"), {"r": role_name}):
        if old.startswith(prefix):
            _run(s, "REVOKE %I FROM %I", old, role_name)
    _run(s, "GRANT %I TO %I", job_role(database, job), role_name)
