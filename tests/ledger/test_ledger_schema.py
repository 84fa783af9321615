"""Schema and storage: migrations create exactly the modelled schema on both backends; SQLite runs
with WAL, synchronous=FULL and foreign keys; the default location and $ICPURSE_DB."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from icpurse.host.ledger import ENV_VAR, open_ledger, resolve_url

from support.ledger import AUDIT_KEY
from icpurse.host.ledger.db import current_revision, head_revision
from icpurse.host.ledger.models import Base


def test_migrations_match_models(ledger):
    with ledger.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    assert current_revision(ledger.engine) == head_revision()


def test_reopening_migrates_nothing_and_keeps_data(ledger_url, clock):
    first = open_ledger(ledger_url, audit_key=AUDIT_KEY, clock=clock)
    first.people.add_operator("admin", "correct horse battery", "issuer-admin")
    first.close()
    again = open_ledger(ledger_url, audit_key=AUDIT_KEY, clock=clock)
    try:
        assert [o.username for o in again.people.operators()] == ["admin"]
        assert again.audit.verify_audit_log() is None
    finally:
        again.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path, clock):
    led = open_ledger("sqlite:///%s" % (tmp_path / "l.db"), audit_key=AUDIT_KEY, clock=clock)
    try:
        with led.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # FULL (2): every commit synced to the WAL before it returns (NORMAL, 1, may lose the last
            # commits on a power cut: a reader acknowledged after one would have dropped its records)
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        led.close()


def test_money_columns_are_big_integers(ledger):
    # 50 billion yuan in fen does not fit 32 bits; it must round-trip exactly on both backends
    big = 5_000_000_000_000
    with ledger.engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (code, name, type, category) VALUES ('x', 'x', 'asset', 'x')"))
        conn.execute(text("INSERT INTO journal_entries (idempotency_key, kind, created_at, memo) "
                          "VALUES ('k', 't', CURRENT_TIMESTAMP, '')"))
        conn.execute(text("INSERT INTO postings (entry_id, line, account_id, amount) VALUES "
                          "((SELECT id FROM journal_entries), 1, (SELECT id FROM accounts), :a)"), {"a": big})
    assert ledger.books.trial_balance()["x"] == big
    assert ledger.books.unbalanced_entries() != []  # and the check query sees the one-sided entry


def test_url_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_url() == "sqlite:///%s" % (tmp_path / "xdg" / "icpurse" / "ledger.db")
    monkeypatch.setenv(ENV_VAR, "postgresql://u:p@db.example/icp")
    assert resolve_url() == "postgresql+psycopg://u:p@db.example/icp"
    assert resolve_url("sqlite:////x/y.db") == "sqlite:////x/y.db"
    assert resolve_url(str(tmp_path / "a.db")) == "sqlite:///%s" % (tmp_path / "a.db")


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path, clock):
    led = open_ledger("sqlite:///%s" % (tmp_path / "l.db"), audit_key=AUDIT_KEY, clock=clock)
    try:
        led.people.add_operator("admin", "correct horse battery", "issuer-admin")
        with led.engine.connect() as writer:
            writer.execute(text("UPDATE operators SET display_name = 'x'"))  # holds the write lock (BEGIN IMMEDIATE)
            assert writer.in_transaction()
            assert [o.username for o in led.people.operators()] == ["admin"]  # WAL: a reader proceeds at once
            assert led.books.outstanding_balance() == 0
            writer.rollback()
    finally:
        led.close()
