"""`icpurse cutoff set|show`: the daily cut-off (日切) for the ledger, a programme or an outlet."""
import click

from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import emit_json
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.params import TIME_OF_DAY


@click.group(cls=Group)
def cutoff():
    """The daily cut-off (日切): after it a top-up can no longer be voided (a refund or adjustment
    can), and the business day's report closes. The most specific one applies: the terminal's
    outlet, then the card's programme, then the ledger's, then 23:00."""


def _doc(c):
    return {"scope": c.scope, "target": c.target, "at": c.at.strftime("%H:%M")}


@cutoff.command("set")
@click.argument("at", type=TIME_OF_DAY, metavar="HH:MM")
@click.option("--programme", "programme_id", default=None, help="For this programme's cards only.")
@click.option("--outlet", default=None, help="For the terminals of this outlet only.")
@uses(db=True, operator="required", json=True, operator_help="An issuer-admin or finance operator.")
def set_cmd(session, at, programme_id, outlet, as_json):
    """Set the cut-off to HH:MM (business time, UTC+8 by default) for the whole ledger, or with
    --programme / --outlet for one of them. Audited with the time it replaces."""
    if programme_id and outlet:
        raise click.UsageError("give --programme or --outlet, not both")
    view = session.ledger().outlets.set_cutoff(session.sign_in().username, at, programme=programme_id, outlet=outlet)
    if as_json:
        emit_json({"ok": True, "cutoff": _doc(view)})
    else:
        click.echo("cut-off for %s set to %s" % ("%s %s" % (view.scope, view.target) if view.target else "the ledger",
                                                 at.strftime("%H:%M")))


@cutoff.command()
@uses(db="existing", json=True)
def show(session, as_json):
    """The cut-offs set, and the ledger's built-in one."""
    ledger = session.ledger()
    rows = [_doc(c) for c in ledger.outlets.cutoffs()]
    built_in = ledger.calendar.cutoff.strftime("%H:%M")
    if as_json:
        emit_json({"ok": True, "built_in": built_in, "cutoffs": rows})
        return
    click.echo("built-in: %s (business time UTC+8)" % built_in)
    for r in rows:
        click.echo("%-10s %-24s %s" % (r["scope"], r["target"] or "-", r["at"]))
