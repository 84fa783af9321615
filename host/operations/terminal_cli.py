"""Terminal administration added to `icpurse terminal`: enable / disable (store readers and kiosks)
and registering a top-up kiosk, which has no reader device to provision."""
import click

from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import emit_json
from icpurse.host.clikit.params import TERMINAL


def _doc(t):
    return {"number": t.number, "kind": t.kind, "outlet": t.outlet, "merchant": t.merchant, "status": t.status}


def _status(session, number, status, reason, as_json):
    view = session.ledger().outlets.set_terminal_status(session.sign_in().username, number, status, reason)
    if as_json:
        emit_json({"ok": True, "terminal": _doc(view)})
    else:
        click.echo("terminal %s %s" % (number, status))


@click.command()
@click.argument("number", type=TERMINAL)
@click.option("--reason", default="", help="Why (kept in the audit log).")
@uses(db=True, operator="required", json=True, operator_help="An issuer-admin.")
def enable(session, number, reason, as_json):
    """Enable terminal NUMBER (a store reader or a kiosk) again."""
    _status(session, number, "enabled", reason, as_json)


@click.command()
@click.argument("number", type=TERMINAL)
@click.option("--reason", default="", help="Why (kept in the audit log).")
@uses(db=True, operator="required", json=True, operator_help="An issuer-admin.")
def disable(session, number, reason, as_json):
    """Disable terminal NUMBER: it may no longer sign in, be provisioned or take top-ups (its journal
    can still be collected: nothing is lost)."""
    _status(session, number, "disabled", reason, as_json)


@click.command("register-kiosk")
@click.argument("number", type=TERMINAL)
@click.option("--outlet", required=True, help="The outlet the kiosk stands in (its cut-off may be set per outlet).")
@click.option("--merchant", required=True, help="The merchant running the outlet.")
@uses(db=True, operator="required", json=True, operator_help="An issuer-admin.")
def register_kiosk(session, number, outlet, merchant, as_json):
    """Register top-up kiosk NUMBER (8 digits) bound to its outlet; no device is needed. It signs in
    each business day (`icpurse terminal sign-in NUMBER`) before it takes top-ups."""
    view = session.ledger().outlets.register_kiosk(session.sign_in().username, number, outlet, merchant)
    if as_json:
        emit_json({"ok": True, "terminal": _doc(view)})
    else:
        click.echo("kiosk %s registered at %s; next: `icpurse terminal sign-in %s` each business day" % (
            number, outlet, number))


COMMANDS = (enable, disable, register_kiosk)
