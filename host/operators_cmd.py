"""`icpurse operator ...`: the people who may use the ledger, and the ledger's first admin.

The very first operator of a new ledger bootstraps it and must be an issuer-admin; after that an
issuer-admin signs in (--operator, password from ICPURSE_OPERATOR_PASSWORD or a prompt) to add
others. Passwords come from ICPURSE_NEW_PASSWORD or a hidden prompt with confirmation."""
import os

import click

from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import emit_json
from icpurse.host.ledger.errors import LedgerError
from icpurse.host.ledger import ROLES

NEW_PASSWORD_ENV = "ICPURSE_NEW_PASSWORD"


def _new_password(name):
    return os.environ.get(NEW_PASSWORD_ENV) or click.prompt(
        "New password for %s" % name, hide_input=True, confirmation_prompt=True, err=True)


@click.group(cls=Group)
def operator():
    """Operators of the ledger and their roles (seller, finance, issuer-admin, ...)."""


@operator.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="what the operator may do")
@click.option("--display-name", default="", help="full name shown in reports")
@uses(db=True, operator=True, json=True,
      operator_help="the issuer-admin adding this operator (not needed for the very first one)")
def add(session, name, role, display_name, as_json):
    """Add operator NAME. The first operator of a new ledger must be --role issuer-admin."""
    ledger = session.ledger()
    try:
        by = session.sign_in().username if session.operator_name else None
        view = ledger.people.add_operator(name, _new_password(name), role, display_name, by=by)
    except (LedgerError, ValueError) as e:
        raise Failure("%s (nothing was changed)" % e) from None
    if as_json:
        emit_json({"ok": True, "operator": view.username, "role": view.role})
    else:
        click.echo("operator %s added with role %s" % (view.username, view.role))


@operator.command("list")
@uses(db="existing", json=True)
def list_cmd(session, as_json):
    """The operators, their roles and whether they are active (never passwords)."""
    rows = [{"operator": o.username, "role": o.role, "active": o.active} for o in session.ledger().people.operators()]
    if as_json:
        emit_json({"ok": True, "operators": rows})
        return
    for r in rows:
        click.echo("%-20s %-16s %s" % (r["operator"], r["role"], "active" if r["active"] else "disabled"))
