"""One session per `icpurse` invocation: what a command works with, opened on first use, closed at
exit by the outermost command (group.py).

The shared options (options.py) fill in where things are (`db`, `keystore`, `reader`, `port`,
`operator_name`, `as_json`); a command asks for what it needs (`ledger()`, `domain()`, `keyring()`,
`sign_in()`, `reader()`, `card()`, `link()`), in the order that suits it, and never closes them.

Secrets never come on the command line: the keystore passphrase from ICPURSE_KEYSTORE_PASSPHRASE
or a hidden prompt, the operator's password from ICPURSE_OPERATOR_PASSWORD or a hidden prompt.
`--keystore demo` is the built-in INSECURE DEMO KEYS set (no file, no passphrase).
"""
import functools
import os

import click

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.ledger import open_ledger
from icpurse.host.cards import CardGone
from icpurse.keys import keystore

DEMO = "demo"  # --keystore demo
OPERATOR_ENV, PASSWORD_ENV = "ICPURSE_OPERATOR", "ICPURSE_OPERATOR_PASSWORD"
DATA_KEY_ENV = "ICPURSE_DATA_KEY"
_KEY = "icpurse.session"  # in click's Context.meta, shared by every context of one invocation


class NoCard(CardGone):
    """No card came to the reader in time."""


def demo_banner():
    from icpurse.keys import demo as demo_keys

    click.secho("*** %s: for the demo and tests only, never for real cards ***" % demo_keys.WARNING,
                fg="red", bold=True, err=True)


def keystore_passphrase(new=False):
    return os.environ.get(keystore.PASSPHRASE_ENV) or click.prompt(
        "Keystore passphrase", hide_input=True, confirmation_prompt=new, err=True)


def transport_passphrase(new=False):
    """The passphrase of a key export (keys/exports.py)."""
    from icpurse.keys.exports import TRANSPORT_ENV

    return os.environ.get(TRANSPORT_ENV) or click.prompt(
        "Transport passphrase", hide_input=True, confirmation_prompt=new, err=True)


class Session:
    def __init__(self, db=None, keystore=None, reader=None, operator=None, port=None, as_json=False):
        self.db, self.keystore, self.reader_spec, self.port = db, keystore, reader, port
        self.operator_name, self.as_json = operator, as_json
        self.json_emitted = False  # a command's JSON document is out: a failure after it adds none
        self.ledger_must_exist = False  # a read-only command: never create a ledger (uses(db="existing"))
        self._domain = self._ledger = self._reader = self._link = self._operator = None

    # --- keys --------------------------------------------------------------------------------------

    def open_keystore(self):
        """(domain, passphrase) of --keystore, errors as the keystore module raises them; for the
        commands that manage the keystore itself (`icpurse keys ...`). The demo set has no passphrase."""
        from icpurse.keys import demo as demo_keys

        if self.keystore == DEMO:
            return demo_keys.demo_domain(), None
        if not os.path.exists(self.keystore):
            raise keystore.KeystoreError("no such keystore: %s: check --keystore / ICPURSE_KEYSTORE" % self.keystore)
        passphrase = keystore_passphrase()
        return keystore.load_keystore(self.keystore, passphrase), passphrase

    def domain(self, required=True):
        """The issuer's key domain from --keystore (None when none was given and not `required`)."""
        if self._domain is None:
            if not self.keystore:
                if not required:
                    return None
                raise Failure("no keystore: pass --keystore FILE (or set ICPURSE_KEYSTORE); `--keystore demo` "
                              "uses the INSECURE DEMO KEYS")
            try:
                self._domain, _ = self.open_keystore()
            except keystore.WrongPassphrase:
                raise Failure("wrong keystore passphrase (or a corrupted keystore): nothing was done; check "
                              "ICPURSE_KEYSTORE_PASSPHRASE") from None
            if self._domain.demo:
                demo_banner()
        return self._domain

    def workstation_keys(self):
        """The issuance workstation's role export of the domain (every version it holds)."""
        from icpurse.keys import exports

        return exports.workstation_keyset(self.domain())

    def keyring(self):
        return self.workstation_keys().to_keyring()

    def data_key(self):
        """The ledger data key (holder ID numbers): $ICPURSE_DATA_KEY (hex), else derived from the
        keystore's back-office journal master of its first key version (HKDF, own label), else None."""
        env = os.environ.get(DATA_KEY_ENV)
        if env:
            try:
                return bytes.fromhex(env)
            except ValueError:
                raise Failure("%s must be hex (>= 16 bytes)" % DATA_KEY_ENV) from None
        if not self.keystore:
            return None
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        domain = self.domain()
        master = domain.version(min(domain.versions))["journal"].material
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"icpurse ledger data key").derive(master)

    # --- ledger and operator --------------------------------------------------------------------------

    def ledger(self):
        """The ledger of --db. A read-only command (`uses(db="existing")`) refuses a ledger that does
        not exist (NoLedger: a mistyped --db never reports an empty ledger); the others create it."""
        if self._ledger is None:
            self._ledger = open_ledger(self.db, data_key=self.data_key(), create=not self.ledger_must_exist)
        return self._ledger

    def sign_in(self):
        """The operator signed in (an OperatorView): --operator (or a prompt), password from the
        environment or a hidden prompt; AuthenticationError when wrong (audited by the ledger)."""
        if self._operator is None:
            name = self.operator_name or click.prompt("Operator", err=True)
            password = os.environ.get(PASSWORD_ENV) or click.prompt("Password for %s" % name, hide_input=True,
                                                                    err=True)
            self._operator = self.ledger().people.authenticate_operator(name, password)
        return self._operator

    # --- card reader and store reader ---------------------------------------------------------------

    def reader(self):
        """The card reader of --reader / ICPURSE_READER (NoReader says what to do when there is none)."""
        if self._reader is None:
            from icpurse.host.readers import open_reader

            self._reader = open_reader(self.reader_spec)
        return self._reader

    def card(self, timeout=10.0):
        """The card on the reader, waiting up to `timeout` s."""
        from icpurse.firmware.tag import MifareError, TagGone

        reader = self.reader()
        try:
            return reader.wait_for_card(timeout)
        except TagGone:
            raise NoCard("no card on %s within %.0f s: put the card on the reader and run the command again"
                         % (reader, timeout)) from None
        except MifareError as e:
            raise Failure("the reader cannot use this card (%s): present a MIFARE Classic card" % e,
                          Exit.CARD) from None
        except Exception as e:  # a transparent-mode refusal of an icpurse serial reader, a PC/SC error
            raise Failure("%s cannot read cards: %s. An icpurse serial reader must be configured for issuance "
                          "(transparent card access) first" % (reader, e)) from None

    def link(self):
        """The store reader's USB link (--port PATH or --reader serial:PATH): a LinkClient."""
        if self._link is None:
            from icpurse.host.terminals.client import open_link

            self._link = open_link(self.port, self.reader_spec)
        return self._link

    # --- the end of the invocation --------------------------------------------------------------------

    def close(self):
        """Close what was opened (the reader first: the sim reader saves its card there)."""
        things, self._link, self._reader, self._ledger = (self._link, self._reader, self._ledger), None, None, None
        try:
            for thing in things[:2]:
                if thing is not None:
                    thing.close()
        finally:
            if things[2] is not None:
                things[2].close()


def of(ctx=None):
    """The session of this invocation (made on first use)."""
    ctx = ctx or click.get_current_context()
    session = ctx.meta.get(_KEY)
    if session is None:
        session = ctx.meta[_KEY] = Session()
    return session


def pass_session(f):
    """Decorator: the command receives the session as its first argument."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(of(), *args, **kwargs)
    return wrapper
