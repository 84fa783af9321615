"""Where the ledger lives and how its schema is brought up to date.

Default: SQLite at platformdirs user_data_dir("icpurse")/ledger.db (WAL, synchronous=FULL, foreign keys on, every
transaction BEGIN IMMEDIATE so concurrent writers queue instead of interleaving). PostgreSQL by
URL: `--db URL` or env ICPURSE_DB (postgresql://... uses the psycopg 3 driver).

A SQLite ledger is one workstation's file and its owner is trusted (docs/security.md): a new file
is created readable and writable by its owner only (0600; SQLite gives its -wal and -shm files
the same mode), in a folder created 0700. On PostgreSQL the server enforces who may do what
(migration 0003c, docs/back-office.md).
"""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

ENV_VAR = "ICPURSE_DB"
MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x1C9A0D18
READ_ONLY = "icpurse_read_only"  # execution option of the ledger's query sessions
SQLITE_CACHE_KIB = -131072  # PRAGMA cache_size: negative = KiB (128 MB per connection, at most)
SQLITE_MMAP_BYTES = 256 << 20  # PRAGMA mmap_size


def default_url() -> str:
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("icpurse"))
    return "sqlite:///%s" % (folder / "ledger.db")


def resolve_url(url: str | None = None) -> str:
    """Explicit URL, else $ICPURSE_DB, else the default SQLite file; a bare path means SQLite."""
    url = url or os.environ.get(ENV_VAR) or default_url()
    if "://" not in url:
        url = "sqlite:///%s" % Path(url).expanduser().resolve()
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def create_ledger_engine(url: str, echo: bool = False, password: str | None = None) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            _create_private(Path(u.database))
        engine = create_engine(u, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            # FULL: a commit is on disk before we act on it (acknowledge a reader's journal, which
            # then drops the records; write a card). WAL + NORMAL keeps the file consistent across a
            # power cut but may lose the last commits (docs/back-office.md, "Durability").
            cur.execute("PRAGMA synchronous=FULL")
            # a city day's reconciliation reads and writes a million-row index range: a page cache
            # of 128 MB (instead of 2 MB) keeps the indexes it walks in memory; memory-mapped reads
            # and in-memory temporary b-trees (sorts, GROUP BY) save copies. None changes durability.
            cur.execute("PRAGMA cache_size=%d" % SQLITE_CACHE_KIB)
            cur.execute("PRAGMA mmap_size=%d" % SQLITE_MMAP_BYTES)
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # writers take the write lock up front; read-only sessions (READ_ONLY option) do not
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if password is not None and u.password is None:
        u = u.set(password=password)
    return create_engine(u, echo=echo, pool_pre_ping=True)


def session_operator(engine: Engine) -> str | None:
    """PostgreSQL: the operator whose own login role this engine connects as (migration 0003c's
    `icpurse_session_operator()`), None for the ledger's owner; SQLite: None (one trusted owner)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regproc('icpurse_session_operator')")).scalar() is None:
            return None
        return conn.execute(text("SELECT icpurse_session_operator()")).scalar()


def _create_private(path: Path) -> None:
    """Create the SQLite file (and its folder) for its owner only, before SQLite opens it."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    os.chmod(path, 0o600)  # whatever the umask


def ledger_exists(url: str, *, engine: Engine | None = None, before_connect: bool = False) -> bool:
    """True when `url` names a ledger that was created (`icpurse ledger init` or a first writing
    command): an SQLite file, or a database holding the ledger's schema (asked through `engine` when
    given: an operator's own PostgreSQL login). Nothing is created or migrated by asking.
    `before_connect`: only what can be told without connecting (an SQLite file that is not there);
    True otherwise."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:":
            return False
        if not Path(u.database).is_file():
            return False
    if before_connect:
        return True
    own = engine is None
    if own:
        engine = create_engine(u) if u.get_backend_name() != "sqlite" else create_engine(u, connect_args={"timeout": 30})
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() is not None
    except Exception:  # noqa: BLE001 - a server that does not answer, a file that is not SQLite: no ledger here
        return False
    finally:
        if own:
            engine.dispose()


def _alembic_config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (alembic programmatic API)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two workstations starting at once migrate one after the other
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        command.upgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
