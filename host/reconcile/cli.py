"""`icpurse reconcile ...` and `icpurse blacklist ...`: three-way reconciliation, the exception list,
and operator approval of proposed blacklist entries (readers get them at their next sign-in)."""
import click
from rich.console import Console
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import json_of_text_output, emit_json
from icpurse.host.clikit.output import yuan as fen


def _exceptions_table(rows, title):
    table = Table(title=title)
    for col in ("id", "kind", "card", "terminal", "amount", "status", "proposal", "summary"):
        table.add_column(col)
    for e in rows:
        table.add_row(str(e.id), e.kind, e.card_number or "-", e.terminal or "-", fen(e.amount), e.status,
                      e.proposal or "-", e.summary)
    Console().print(table)


@click.group(cls=Group)
def reconcile():
    """Three-way reconciliation: cards ↔ reader journals ↔ ledger."""


@reconcile.command()
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="business day for the totals (default: everything)")
@uses(db="existing", keystore="required", operator="required", json=True)
def run(session, day, as_json):
    """Book collected debits, detect rollback / clone / forgery / journal problems, list exceptions;
    re-verify the collected journals and the ledger's own books (audit chain and seals). Runs on the
    collector key set, by a signed-in operator. Exit 5 when anything is open."""
    from icpurse.host.reconcile.engine import run as run_recon

    collector = session.keys("collector")
    op = session.sign_in()
    report = run_recon(session.ledger(), collector, day.date() if day else None, operator=op.username)
    open_ = [f for f in report.findings if f.status == "open"]
    if as_json:
        emit_json(report.as_dict(), sort_keys=True)
    else:
        t = report.totals
        click.echo("journal debits: %d, %s (all collected: %s); redeemed in the ledger: %s" % (
            t["journal_debits"], fen(t["journal_debit_fen"]), fen(t["all_journal_debit_fen"]), fen(t["redeemed_fen"])))
        click.echo("day close: readers %s, journals %s; outstanding prepaid balance %s; discrepancy account %s" % (
            fen(t["day_close_reader_fen"]), fen(t["day_close_journal_fen"]), fen(t["outstanding_fen"]),
            fen(t["discrepancy_fen"])))
        click.echo("booked now: %d redemptions, %s (%s to discrepancy)" % (
            report.booked["redemptions"], fen(report.booked["fen"]), fen(report.booked["discrepancy_fen"])))
        if open_:
            _exceptions_table(open_, "open exceptions")
        else:
            click.echo("no open exceptions")
    if open_:
        raise Failure("%d open exception(s): see `icpurse reconcile exceptions`" % len(open_), Exit.INTEGRITY)


@reconcile.command()
@click.option("--status", type=click.Choice(["open", "approved", "dismissed", "resolved", "all"]), default="open",
              show_default=True)
@uses(db="existing", json=True)
def exceptions(session, status, as_json):
    """The exception list with evidence (--json)."""
    rows = session.ledger().store.exceptions(None if status == "all" else status)
    if as_json:
        emit_json([e.__dict__ for e in rows], sort_keys=True)
    else:
        _exceptions_table(rows, "exceptions (%s)" % status)


@reconcile.command("close")
@click.argument("exception_id", type=int)
@click.option("--as", "status", type=click.Choice(["dismissed", "resolved"]), required=True)
@click.option("--reason", required=True)
@click.option("--book-discrepancy", is_flag=True,
              help="resolve a balance finding by booking its difference to the discrepancy account")
@uses(db=True, operator="required", json=True)
def close_cmd(session, exception_id, status, reason, book_discrepancy, as_json):
    """Close an exception (dismissed or resolved) with a reason. A rollback, clone or forgery finding
    takes two operators of different roles: the first one's call requests it, the second one's (same
    --as, same --book-discrepancy) closes it."""
    from icpurse.host.reconcile.engine import settle

    ledger = session.ledger()
    op = session.sign_in().username
    if book_discrepancy:
        if status != "resolved":
            raise Failure("--book-discrepancy resolves the exception: use --as resolved")
        e = settle(ledger, op, exception_id, reason)
    else:
        e = ledger.store.close_exception(op, exception_id, status, reason)
    if as_json:
        emit_json({"ok": True, "id": e.id, "status": e.status, "requested_by": e.close_requested_by,
                   "close_reason": e.close_reason}, sort_keys=True)
    elif e.status == "open":
        click.echo("closing exception %d (%s) as %s requested by %s; a second operator of another role confirms "
                   "it: `icpurse reconcile close %d --as %s --reason ...%s`" % (
                       e.id, e.kind, status, op, e.id, status, " --book-discrepancy" if book_discrepancy else ""))
    else:
        click.echo("exception %d %s: %s" % (e.id, e.status, e.close_reason))


@click.group(cls=Group)
def blacklist():
    """The versioned blacklist (readers download it at sign-in)."""


@blacklist.command()
@click.argument("exception_id", type=int)
@uses(db=True, operator="required")
@json_of_text_output
def approve(session, exception_id):
    """Approve the blacklist entry an exception proposes; it reaches readers at their next sign-in."""
    ledger = session.ledger()
    e = ledger.store.approve_blacklist(session.sign_in().username, exception_id)
    click.echo("card %s blacklisted (version %d, exception %d)" % (e.card_number, e.blacklist_version, e.id))


@blacklist.command("list")
@click.option("--version", type=int, default=None, help="the list as it stood at this version")
@uses(db="existing", json=True)
def list_cmd(session, version, as_json):
    """The blacklisted cards: the current list, or as it stood at --version."""
    ledger = session.ledger()
    current = ledger.blacklist.blacklist_version()
    items = ledger.blacklist.blacklist_entries(version)
    if as_json:
        emit_json({"version": version or current, "entries": [i.__dict__ for i in items]}, sort_keys=True)
        return
    table = Table(title="blacklist version %d" % (version or current))
    for col in ("card", "uid", "since version", "reason"):
        table.add_column(col)
    for i in items:
        table.add_row(i.card_number, i.uid or "-", str(i.added_version), i.reason)
    Console().print(table)

