"""The options every command group shares, defined once: `--db`, `--keystore`, `--reader`,
`--port`, `--operator` (each with its ICPURSE_* environment variable) and `--json`.

They fill in the invocation's session (session.py) instead of being passed to the command, so a
command takes `@pass_session` and asks the session for the ledger, the keys, the reader or the
operator; `--json` is passed as `as_json` as well (the session also needs it: a failure under
--json is printed as a JSON document, group.py).
"""
import click

from icpurse.host.clikit import session as _session
from icpurse.host.ledger.db import ENV_VAR as DB_ENV
from icpurse.keys.keystore import PASSPHRASE_ENV

READER_ENV, KEYSTORE_ENV = "ICPURSE_READER", "ICPURSE_KEYSTORE"
# the --keystore of a command that needs no card keys, only the audit key of a key set
AUDIT_KEY_HELP = ("Key set (a workstation or collector export, env %s): its audit key lets this command record in "
                  "the ledger's keyed audit log. 'demo' = the INSECURE DEMO KEYS." % KEYSTORE_ENV)


def _into_session(attr):
    def callback(ctx, param, value):
        if value is not None:
            setattr(_session.of(ctx), attr, value)
        return value
    return callback


def _shared(*decls, attr, expose=False, **kw):
    return click.option(*decls, callback=_into_session(attr), expose_value=expose, **kw)


def db_option(f):
    return _shared("--db", attr="db", envvar=DB_ENV, default=None, metavar="URL",
                   help="Ledger database: sqlite:///PATH or postgresql://USER@HOST/DB "
                        "(env %s; default: SQLite in the user's data directory)." % DB_ENV)(f)


def keystore_option(required=False, help=None):
    """--keystore FILE | demo: the issuer's keystore (the session opens it on first use)."""
    return _shared("--keystore", attr="keystore", envvar=KEYSTORE_ENV, required=required, metavar="FILE",
                   help=help or "Issuer keystore (env %s; passphrase from %s or a prompt). 'demo' = the built-in "
                                "INSECURE DEMO KEYS (tests and demos only)." % (KEYSTORE_ENV, PASSPHRASE_ENV))


def reader_option(help=None):
    """--reader SPEC: the card reader (host/readers), or the store reader's link for `terminal`."""
    return _shared("--reader", attr="reader_spec", envvar=READER_ENV, default=None, metavar="SPEC",
                   help=help or "pcsc[:NAME] | serial:/dev/ttyUSB0 | sim[:DIR] (env %s); `icpurse readers` lists "
                                "them." % READER_ENV)


def link_options(f):
    """The store reader's USB link: --reader serial:PATH or --port PATH."""
    f = reader_option(help="serial:/dev/ttyUSB0 (the store reader's USB link)")(f)
    return _shared("--port", attr="port", default=None, help="the store reader's serial port")(f)


def operator_option(required=False, help=None):
    return _shared("--operator", attr="operator_name", envvar=_session.OPERATOR_ENV, required=required,
                   metavar="NAME",
                   help=help or "Operator signing in (env %s; password from %s or a prompt)." % (
                       _session.OPERATOR_ENV, _session.PASSWORD_ENV))


def json_option(f=None, help=None):
    """--json: print one JSON document (and errors as one); the command gets `as_json`."""
    option = _shared("--json", "as_json", attr="as_json", expose=True, is_flag=True,
                     help=help or "Print one JSON document (for scripts).")
    return option(f) if f is not None else option


def _existing_ledger(f):
    """The command only reads the ledger: it refuses one that does not exist."""
    import functools

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        _session.of().ledger_must_exist = True
        return f(*args, **kwargs)
    return wrapper


def uses(db=False, keystore=False, reader=False, link=False, operator=False, json=False, *, reader_help=None,
         operator_help=None, json_help=None):
    """A command's shared options in one line, and the session as the command's first argument.

    `db`: True, or "existing" for a command that only reads the ledger (it refuses a ledger that
    does not exist instead of creating an empty one); `keystore`, `operator`: False (not taken),
    True (optional) or "required"; `reader`: the card
    reader's --reader; `link`: the store reader's --reader / --port; `json`: --json (`as_json`).
    Listed in --help after the command's own options: reader, keystore, db, operator, json.
    `db` brings an optional --keystore along: whatever records to the ledger needs the audit key of
    a key set (session.py)."""
    def deco(f):
        if db == "existing":
            f = _existing_ledger(f)
        f = _session.pass_session(f)
        if json:
            f = json_option(f, help=json_help)
        if operator:
            f = operator_option(required=operator == "required", help=operator_help)(f)
        if db:
            f = db_option(f)
        if keystore:
            f = keystore_option(required=keystore == "required")(f)
        elif db:
            f = keystore_option(help=AUDIT_KEY_HELP)(f)
        if reader:
            f = reader_option(help=reader_help)(f)
        if link:
            f = link_options(f)
        return f
    return deco
