"""Options and error handling shared by the `terminal`, `audit`, `reconcile` and `blacklist` commands.

Secrets never come on the command line: the keystore passphrase from ICPURSE_KEYSTORE_PASSPHRASE or
a hidden prompt, the operator's password from ICPURSE_OPERATOR_PASSWORD or a hidden prompt.
"""
import functools
import json
import os

import click

EXIT_FAILED, EXIT_USAGE, EXIT_NO_READER, EXIT_CARD, EXIT_INTEGRITY = 1, 2, 3, 4, 5  # host/cli.py's table
OPERATOR_PASSWORD_ENV = "ICPURSE_OPERATOR_PASSWORD"


class Failed(click.ClickException):
    def __init__(self, message, code=EXIT_FAILED):
        super().__init__(message)
        self.exit_code = code


def handle_errors(fn):
    """Ledger refusals, reader and card errors -> one clear line and the shared exit code."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from icpurse.firmware.mifare import MifareError
        from icpurse.firmware.purse import Refused as CardRefused
        from icpurse.host.ledger.errors import LedgerError
        from icpurse.host.readers import NoReader
        from icpurse.host.readers.serial import LinkTimeout, ReaderLinkError
        from icpurse.host.terminals.service import TerminalError
        from icpurse.keys.keystore import KeystoreError

        try:
            return fn(*args, **kwargs)
        except (NoReader, LinkTimeout) as e:
            raise Failed(str(e), EXIT_NO_READER) from None
        except ReaderLinkError as e:
            raise Failed("reader: %s (code %d)" % (e.message, e.code), EXIT_CARD if e.refusal else EXIT_FAILED) from None
        except (CardRefused, MifareError) as e:
            raise Failed("card: %s" % e, EXIT_CARD) from None
        except (LedgerError, TerminalError, KeystoreError, LookupError, ValueError) as e:
            raise Failed(str(e)) from None
    return wrapper


def keystore_option(required=True):
    return click.option("--keystore", "keystore_path", envvar="ICPURSE_KEYSTORE", required=required,
                        type=click.Path(dir_okay=False, exists=True),
                        help="the issuer's keystore (or ICPURSE_KEYSTORE; passphrase from "
                             "ICPURSE_KEYSTORE_PASSPHRASE)")


def load_domain(path):
    from icpurse.keys import keystore

    if path is None:
        return None
    passphrase = os.environ.get(keystore.PASSPHRASE_ENV) or click.prompt(
        "Keystore passphrase", hide_input=True, err=True)
    domain = keystore.load_keystore(path, passphrase)
    if domain.demo:
        click.secho("*** INSECURE DEMO KEYS: for the demo and tests only ***", fg="red", err=True)
    return domain


def operator_option(f):
    return click.option("--operator", envvar="ICPURSE_OPERATOR", required=True,
                        help="operator name (or ICPURSE_OPERATOR; password from %s or a prompt)"
                             % OPERATOR_PASSWORD_ENV)(f)


def login(ledger, name):
    password = os.environ.get(OPERATOR_PASSWORD_ENV) or click.prompt(
        "Password for %s" % name, hide_input=True, err=True)
    return ledger.people.authenticate_operator(name, password).username


def link_options(f):
    f = click.option("--reader", "reader_spec", envvar="ICPURSE_READER", default=None,
                     help="serial:/dev/ttyUSB0 (the store reader's USB link)")(f)
    return click.option("--port", default=None, help="the store reader's serial port")(f)


def emit_json(obj):
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str, ensure_ascii=False))


def fen(amount):
    from icpurse.protocol.money import fmt_yuan

    return "-" if amount is None else fmt_yuan(amount)
