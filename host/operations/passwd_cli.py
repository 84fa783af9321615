"""`icpurse operator passwd`: an operator changes their own password; an issuer-admin asks to reset
another's, which takes effect when a second issuer-admin approves it (`icpurse operator approve NAME`;
four eyes: whoever sets a password can act as that operator). Audited. The hashing is the ledger's
(`Ledger.people`)."""
import os

import click

from icpurse.host.clikit import session as _session
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import emit_json

NEW_PASSWORD_ENV = "ICPURSE_NEW_PASSWORD"


def _new_password(name):
    return os.environ.get(NEW_PASSWORD_ENV) or click.prompt(
        "New password for %s" % name, hide_input=True, confirmation_prompt=True, err=True)


@click.command()
@click.option("--reset", "reset_name", default=None, metavar="NAME",
              help="An issuer-admin asks to set operator NAME's password (forgotten, handed over); a second "
                   "issuer-admin approves it (`icpurse operator approve NAME`). Audited.")
@click.option("--reason", default="", help="Why the password is reset (kept in the audit log).")
@uses(db="existing", operator="required", json=True,
      operator_help="Who you are (your current password from ICPURSE_OPERATOR_PASSWORD or a prompt).")
def passwd(session, reset_name, reason, as_json):
    """Change your own password (current one checked first), or with --reset NAME, as an
    issuer-admin, ask to set another operator's (in force once a second issuer-admin approves:
    `icpurse operator approve NAME`). New password from ICPURSE_NEW_PASSWORD or a hidden prompt
    (asked twice); at least 8 characters."""
    ledger = session.ledger()
    name = session.operator_name
    if reset_name:
        admin = session.sign_in().username
        ledger.people.reset_password(admin, reset_name, _new_password(reset_name), reason)
        who = reset_name
    else:
        current = os.environ.get(_session.PASSWORD_ENV) or click.prompt(
            "Current password for %s" % name, hide_input=True, err=True)
        ledger.people.change_password(name, current, _new_password(name))
        who = name
    if as_json:
        emit_json({"ok": True, "operator": who, "reset_by": name if reset_name else None,
                   "pending": "password" if reset_name else None})
    elif reset_name:
        click.echo("password reset of %s requested by %s; next: a second issuer-admin approves it (`icpurse operator "
                   "approve %s`)" % (who, name, who))
    else:
        click.echo("password of %s changed" % who)
