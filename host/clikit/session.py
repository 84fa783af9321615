"""One session per `icpurse` invocation: what a command works with, opened on first use, closed at
exit by the outermost command (group.py).

The shared options (options.py) fill in where things are (`db`, `keystore`, `reader`, `port`,
`operator_name`, `as_json`); a command asks for what it needs (`ledger()`, `keys(role)`,
`keyring()`, `sign_in()`, `reader()`, `card()`, `link()`), in the order that suits it, and never
closes them.

Keys: daily work runs on role-scoped key sets (keys/exports.py). `--keystore FILE` names the file
holding them: a workstation, collector or reader export (transport passphrase) — or the keystore
itself (the masters; only the key ceremonies `icpurse keys ...` need those: any other command given
the keystore says it holds more than it needs, and uses only its own role's part). A command asks
`keys("workstation" | "collector" | "reader")`; an export of another role is refused, saying which
one to export. Every command that records anything needs the audit key of its key set (the ledger's
audit chain is keyed), so `--keystore` is offered wherever `--db` is. `--keystore demo` is the
built-in INSECURE DEMO KEYS (no file, no passphrase): each command takes its role's set of it.

Secrets never come on the command line: the keystore passphrase from ICPURSE_KEYSTORE_PASSPHRASE
(an export's from ICPURSE_TRANSPORT_PASSPHRASE) or a hidden prompt, the operator's password from
ICPURSE_OPERATOR_PASSWORD or a hidden prompt. On PostgreSQL the operator's password also opens the
operator's own database login (`icpurse operator login`, docs/back-office.md).
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
        self._material = self._password = None
        self._warned = False

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

    def key_material(self):
        """What --keystore holds: a KeyDomain (the keystore or the demo set) or a RoleExport; None
        without --keystore."""
        if self._material is None and self.keystore:
            from icpurse.keys import exports

            if self.keystore == DEMO:
                self._material = self.domain()
            else:
                if not os.path.exists(self.keystore):
                    raise keystore.KeystoreError("no such keystore: %s: check --keystore / ICPURSE_KEYSTORE"
                                                 % self.keystore)
                content = keystore.read_envelope(self.keystore).get("content")
                if content in exports.EXPORT_CONTENTS:
                    try:
                        self._material = exports.load_export(self.keystore, transport_passphrase())
                    except keystore.WrongPassphrase:
                        raise Failure("wrong transport passphrase (or a corrupted export): nothing was done; "
                                      "check ICPURSE_TRANSPORT_PASSPHRASE") from None
                    if self._material.demo:
                        demo_banner()
                else:
                    self._material = self.domain()
        return self._material

    def _more_than_needed(self, what):
        if not self._warned:
            self._warned = True
            click.secho("note: %s holds the issuer's master keys; this command needs only %s. Daily work runs on "
                        "a role export (`icpurse keys export --role ...`): keep the keystore for key ceremonies."
                        % (self.keystore, what), fg="yellow", err=True)

    def keys(self, role, terminal=None):
        """The key set of `role` ('workstation', 'collector' or 'reader' with `terminal`) from --keystore
        (module docstring): the export itself, or that part of the keystore (said so: it holds more)."""
        from icpurse.keys import exports

        material = self.key_material()
        if material is None:
            raise Failure("no key set: pass --keystore FILE, a %s export (or set ICPURSE_KEYSTORE); `--keystore "
                          "demo` uses the INSECURE DEMO KEYS" % role)
        if not isinstance(material, exports.RoleExport):
            if self.keystore != DEMO:  # the built-in demo set: each command takes its role's part quietly
                self._more_than_needed("the %s key set (%s)" % (role, exports.WHAT_FOR[role]))
            return exports.keyset(material, role, terminal)
        if material.role != role:
            raise Failure("%s is a %s key set; this command needs the %s key set (%s): `icpurse keys export --role "
                          "%s%s`" % (self.keystore, material.role, role, exports.WHAT_FOR[role], role,
                                     " --terminal N" if role == "reader" else ""))
        if role == "reader" and terminal is not None and material.terminal != terminal:
            raise Failure("%s is the key set of terminal %08d, not %08d" % (self.keystore, material.terminal,
                                                                            terminal))
        return material

    def workstation_keys(self):
        """The issuance workstation's key set (every version it holds)."""
        return self.keys("workstation")

    def keyring(self):
        return self.workstation_keys().to_keyring()

    def audit_key(self):
        """The audit chain's key from whatever key set --keystore holds (None without one)."""
        from icpurse.keys import backoffice

        material = self.key_material()
        if material is None:
            return None
        if hasattr(material, "audit_key"):
            return material.audit_key()
        return backoffice.audit_key(material).material

    def data_key(self):
        """The ledger data key (holder ID numbers): $ICPURSE_DATA_KEY (hex), else the key set's (a
        workstation export's, or derived from the keystore: keys/backoffice.py), else None."""
        env = os.environ.get(DATA_KEY_ENV)
        if env:
            try:
                return bytes.fromhex(env)
            except ValueError:
                raise Failure("%s must be hex (>= 16 bytes)" % DATA_KEY_ENV) from None
        from icpurse.keys import backoffice

        material = self.key_material()
        if material is None:
            return None
        if hasattr(material, "data_key"):
            return material.data_key()
        return backoffice.data_key(material).material

    # --- ledger and operator --------------------------------------------------------------------------

    def ledger(self):
        """The ledger of --db. A read-only command (`uses(db="existing")`) refuses a ledger that does
        not exist (NoLedger: a mistyped --db never reports an empty ledger); the others create it.
        On PostgreSQL with --operator and a URL naming no user, it connects as that operator's own
        login role (pgroles.login_role) with the operator's password."""
        if self._ledger is None:
            from icpurse.host.ledger import pgroles

            password = None
            if self.operator_name and pgroles.connects_as_operator(self.db):
                password = self.operator_password(self.operator_name)
            self._ledger = open_ledger(self.db, data_key=self.data_key(), audit_key=self.audit_key(),
                                       operator=self.operator_name, password=password,
                                       create=not self.ledger_must_exist)
        return self._ledger

    def operator_password(self, name):
        if self._password is None:
            self._password = os.environ.get(PASSWORD_ENV) or click.prompt(
                "Password for %s" % name, hide_input=True, err=True)
        return self._password

    def sign_in(self):
        """The operator signed in (an OperatorView): --operator (or a prompt), password from the
        environment or a hidden prompt; AuthenticationError when wrong (audited by the ledger)."""
        if self._operator is None:
            name = self.operator_name or click.prompt("Operator", err=True)
            self.operator_name = self.operator_name or name
            ledger = self.ledger()
            self._operator = ledger.people.authenticate_operator(name, self.operator_password(name))
            ledger.acting_operator = self._operator.username  # what this invocation records is its
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
