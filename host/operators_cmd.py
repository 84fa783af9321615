"""`icpurse operator ...`: the people who may use the ledger, four eyes over who they are, and their
PostgreSQL logins.

The very first operator of a new ledger bootstraps it and must be an issuer-admin; that first admin
may add the ledger's second issuer-admin at once (the bootstrap). After that an issuer-admin signs in
(--operator, password from ICPURSE_OPERATOR_PASSWORD or a prompt) to *request* an operator or a role
change, and a second issuer-admin — neither the requester nor the operator concerned — approves it
(`operator approve`). Passwords come from ICPURSE_NEW_PASSWORD or a hidden prompt with
confirmation. On PostgreSQL `operator login NAME` gives an operator its own database login
(docs/back-office.md)."""
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
        emit_json({"ok": True, "operator": view.username, "role": view.role, "pending": view.pending})
    elif view.pending:
        click.echo("operator %s requested with role %s; a second issuer-admin approves it: `icpurse operator "
                   "approve %s`" % (view.username, view.role, view.username))
    else:
        click.echo("operator %s added with role %s%s" % (
            view.username, view.role, " (bootstrap of this ledger)" if by is None or view.role == "issuer-admin"
            else ""))


@operator.command("approve")
@click.argument("name")
@uses(db=True, operator="required", json=True,
      operator_help="the issuer-admin approving (not the one who requested, not NAME)")
def approve(session, name, as_json):
    """Approve the pending addition or role change of operator NAME (four eyes)."""
    op = session.sign_in()
    view = session.ledger().people.approve_operator(op.username, name)
    if as_json:
        emit_json({"ok": True, "operator": view.username, "role": view.role, "approved_by": op.username})
    else:
        click.echo("operator %s approved by %s: role %s, active" % (view.username, op.username, view.role))


@operator.command("role")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="the new role")
@uses(db=True, operator="required", json=True, operator_help="the issuer-admin requesting it (not NAME)")
def role_cmd(session, name, role, as_json):
    """Request a role change for NAME; a second issuer-admin approves it (`operator approve NAME`)."""
    op = session.sign_in()
    view = session.ledger().people.request_role(op.username, name, role)
    if as_json:
        emit_json({"ok": True, "operator": view.username, "role": view.role, "pending_role": view.pending_role})
    else:
        click.echo("role %s requested for %s (now %s); a second issuer-admin approves it: `icpurse operator "
                   "approve %s`" % (role, name, view.role, name))


@operator.command("login")
@click.argument("name")
@click.option("--db-role", default=None, metavar="ROLE",
              help="the login role's name (default: <database>.<NAME>)")
@uses(db=True, operator="required", json=True,
      operator_help="the issuer-admin creating it (not NAME)")
def login_cmd(session, name, db_role, as_json):
    """PostgreSQL: create (or reset) operator NAME's own database login, member of its job role. Run it
    connected as the ledger's owner (a role allowed to create roles); NAME's password comes from
    ICPURSE_NEW_PASSWORD or a prompt, and NAME signs in with it from then on (`--db` without a user and
    `--operator NAME`)."""
    op = session.sign_in()
    role_name = session.ledger().people.create_login(op.username, name, _new_password(name), db_role)
    if as_json:
        emit_json({"ok": True, "operator": name, "db_role": role_name})
    else:
        click.echo("operator %s has its database login %s (job role %s)" % (
            name, role_name, next(o.role for o in session.ledger().people.operators() if o.username == name)))


@operator.command("list")
@uses(db="existing", json=True)
def list_cmd(session, as_json):
    """The operators, their roles and whether they are active (never passwords)."""
    rows = [{"operator": o.username, "role": o.role, "active": o.active, "pending": o.pending,
             "pending_role": o.pending_role, "db_role": o.db_role} for o in session.ledger().people.operators()]
    if as_json:
        emit_json({"ok": True, "operators": rows})
        return
    for r in rows:
        state = ("awaits approval" if r["pending"] == "add" else "active" if r["active"] else "disabled")
        if r["pending"] == "role":
            state += ", role %s awaits approval" % r["pending_role"]
        click.echo("%-20s %-16s %s" % (r["operator"], r["role"], state))
