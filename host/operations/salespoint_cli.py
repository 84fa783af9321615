"""`icpurse salespoint add|list|disable|enable`: the counters that blank cards are issued to
(`stock issue --point CODE`) and sold from."""
import click
from rich.table import Table

from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import console, emit_json


def _doc(p):
    return {"code": p.code, "name": p.name, "active": p.active, "cards": p.cards}


@click.group(cls=Group)
def salespoint():
    """Sales points (销售网点): the counters stock is issued to and cards are sold from."""


def _code(ctx, param, value):
    from icpurse.host.ledger.outlets import check_point_code

    try:
        return check_point_code(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@salespoint.command()
@click.argument("code", callback=_code)
@click.option("--name", required=True, help="What the point is called (e.g. 'Main store, 1st floor counter').")
@uses(db=True, operator="required", json=True, operator_help="An issuer-admin.")
def add(session, code, name, as_json):
    """Add sales point CODE (1-32 letters, digits, '.', '_', '-'), e.g. SP-01. Then issue cards to it
    with `icpurse stock issue --point CODE`."""
    view = session.ledger().outlets.add_sales_point(session.sign_in().username, code, name)
    if as_json:
        emit_json({"ok": True, "salespoint": _doc(view)})
    else:
        click.echo("sales point %s (%s) added; next: `icpurse stock issue --point %s --uid ...`" % (code, name, code))


@salespoint.command("list")
@uses(db="existing", json=True)
def list_cmd(session, as_json):
    """The sales points, whether they take cards, and how many unsold cards each holds."""
    points = session.ledger().outlets.sales_points()
    if as_json:
        emit_json({"ok": True, "salespoints": [_doc(p) for p in points]})
        return
    if not points:
        click.echo("no sales points yet: `icpurse salespoint add CODE --name NAME`")
        return
    table = Table(title="sales points", title_justify="left")
    for col in ("code", "name", "status", "cards held"):
        table.add_column(col)
    for p in points:
        table.add_row(p.code, p.name, "active" if p.active else "disabled", str(p.cards))
    console(160).print(table)


def _set(session, code, active, as_json):
    view = session.ledger().outlets.set_sales_point_active(session.sign_in().username, code, active)
    if as_json:
        emit_json({"ok": True, "salespoint": _doc(view)})
    else:
        click.echo("sales point %s %s" % (code, "enabled" if active else "disabled: it takes no more cards"))


@salespoint.command()
@click.argument("code")
@uses(db=True, operator="required", json=True, operator_help="An issuer-admin.")
def disable(session, code, as_json):
    """Disable sales point CODE: no more cards are issued to it. Refused while it still holds cards
    (count and return them first)."""
    _set(session, code, False, as_json)


@salespoint.command()
@click.argument("code")
@uses(db=True, operator="required", json=True, operator_help="An issuer-admin.")
def enable(session, code, as_json):
    """Enable a disabled sales point CODE again."""
    _set(session, code, True, as_json)
