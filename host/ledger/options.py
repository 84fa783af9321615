"""The shared `--db` option: a ledger URL, else $ICPURSE_DB, else SQLite in the user's data directory."""
import click

from icpurse.host.ledger.db import ENV_VAR


def db_option(f):
    """Decorator for commands that open the ledger: adds `db` (str | None) to their arguments;
    pass it to `open_ledger(db)`."""
    return click.option("--db", "db", envvar=ENV_VAR, default=None, metavar="URL",
                        help="Ledger database: sqlite:///PATH or postgresql://USER@HOST/DB "
                             "(env %s; default: SQLite in the user's data directory)." % ENV_VAR)(f)
