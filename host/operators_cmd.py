"""`icpurse operator ...`: the people who may use the ledger, and the ledger's first admin.

The very first operator of a new ledger bootstraps it and must be an issuer-admin; after that an
issuer-admin signs in (--operator, password from ICPURSE_OPERATOR_PASSWORD or a prompt) to add
others. Passwords come from ICPURSE_NEW_PASSWORD or a hidden prompt with confirmation."""
import json
import os

import click

from icpurse.host.ledger import open_ledger
from icpurse.host.ledger.errors import LedgerError
from icpurse.host.ledger.options import db_option
from icpurse.host.ledger import ROLES
from icpurse.host.terminals.cliopts import login

NEW_PASSWORD_ENV = "ICPURSE_NEW_PASSWORD"


def _new_password(name):
    return os.environ.get(NEW_PASSWORD_ENV) or click.prompt(
        "New password for %s" % name, hide_input=True, confirmation_prompt=True, err=True)


@click.group()
def operator():
    """Operators of the ledger and their roles (seller, finance, issuer-admin, ...)."""


@operator.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="what the operator may do")
@click.option("--display-name", default="", help="full name shown in reports")
@click.option("--operator", "admin", envvar="ICPURSE_OPERATOR", default=None,
              help="the issuer-admin adding this operator (not needed for the very first one)")
@db_option
@click.option("--json", "as_json", is_flag=True)
def add(name, role, display_name, admin, db, as_json):
    """Add operator NAME. The first operator of a new ledger must be --role issuer-admin."""
    ledger = open_ledger(db)
    try:
        by = login(ledger, admin) if admin else None
        view = ledger.people.add_operator(name, _new_password(name), role, display_name, by=by)
    except (LedgerError, ValueError) as e:
        raise click.ClickException("%s (nothing was changed)" % e)
    finally:
        ledger.close()
    if as_json:
        click.echo(json.dumps({"ok": True, "operator": view.username, "role": view.role}))
    else:
        click.echo("operator %s added with role %s" % (view.username, view.role))


@operator.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True)
def list_cmd(db, as_json):
    """The operators, their roles and whether they are active (never passwords)."""
    ledger = open_ledger(db)
    try:
        ops = ledger.people.operators()
    finally:
        ledger.close()
    rows = [{"operator": o.username, "role": o.role, "active": o.active} for o in ops]
    if as_json:
        click.echo(json.dumps({"ok": True, "operators": rows}))
        return
    for r in rows:
        click.echo("%-20s %-16s %s" % (r["operator"], r["role"], "active" if r["active"] else "disabled"))
