"""`icpurse terminal ...`: provision a store reader, sign in (day open), collect its journal, close its day.

The store reader is reached over its USB link (--port PATH or --reader serial:PATH); options,
sign-in and exit codes: host/clikit (5 when a journal or a day close does not verify)."""
import click
from rich.console import Console
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.params import FEN
from icpurse.host.clikit.output import emit_json, yuan
from icpurse.host.terminals import journal_records as jv
from icpurse.host.terminals import service


def _number(client, number):
    if number:
        return number
    t = client.info()["terminal"]
    if not t:
        raise Failure("the reader is not provisioned: give the terminal number")
    return "%08d" % t


@click.group(cls=Group)
def terminal():
    """Store readers: provision, sign in (签到), collect journals, day close (日切)."""


@terminal.command()
@click.argument("number")
@click.option("--outlet", help="outlet the terminal is bound to (new terminals)")
@click.option("--merchant", help="merchant of the outlet (new terminals)")
@click.option("--fixed-price", type=FEN, default=None, help="fixed-price mode: price in fen")
@click.option("--programme", "programme_id", default=None, help="take the grace period from this programme")
@click.option("--txn-cap", type=click.IntRange(0), default=0, help="per-transaction cap in fen (0 = none)")
@click.option("--daily-cap", type=click.IntRange(0), default=0, help="daily cap per card in fen (0 = none)")
@uses(db=True, keystore="required", link=True, operator="required", json=True)
def provision(session, number, outlet, merchant, fixed_price, programme_id, txn_cap, daily_cap, as_json):
    """Bind a reader to 8-digit terminal NUMBER and send it its keys, clock and settings. A known
    terminal given another --outlet is moved there (audited); a new terminal the reader refuses is
    left disabled."""
    from icpurse.host.clikit.params import TERMINAL

    number = TERMINAL.convert(number, None, click.get_current_context())
    domain = session.keys("reader", int(number))
    ledger = session.ledger()
    client = session.link()
    op = session.sign_in().username
    grace = service.programme_settings(ledger.programmes.programme(programme_id))["grace_days"] if programme_id else 0
    known = {t.number: t for t in ledger.store.terminals()}.get(number)
    if known is not None and outlet and outlet != known.outlet:
        ledger.outlets.rebind_outlet(op, number, outlet)
    try:
        out = service.provision(ledger, client, domain, op, number, outlet=outlet, merchant=merchant,
                                fixed_price=fixed_price, grace_days=grace, txn_cap=txn_cap, daily_cap=daily_cap)
    except Exception:
        if known is None and number in {t.number for t in ledger.store.terminals()}:
            ledger.outlets.set_terminal_status(op, number, "disabled", "the reader did not take the provisioning")
        raise
    if as_json:
        emit_json(dict(out, ok=True), sort_keys=True)
        return
    click.echo("terminal %s provisioned: key versions %s (current %d), %s mode" % (
        number, ", ".join(map(str, out["key_versions"])), out["current"], out["settings"]["mode"]))


@terminal.command("sign-in")
@click.argument("number", required=False)
@uses(db=True, link=True, operator="required", json=True)
def sign_in_cmd(session, number, as_json):
    """Day open (签到): a store reader's clock set, the current blacklist downloaded, signed in over
    its USB link; a top-up kiosk (no device) signs in in the ledger."""
    ledger = session.ledger()
    if number and any(t.number == number and t.kind == "kiosk" for t in ledger.store.terminals()):
        view = ledger.outlets.sign_in_kiosk(session.sign_in().username, number)
        if as_json:
            emit_json({"ok": True, "terminal": number, "kind": "kiosk", "signed_in_at": view.last_sign_in_at})
        else:
            click.echo("kiosk %s signed in for business day %s" % (number, ledger.business_date()))
        return
    client = session.link()
    op = session.sign_in().username
    number = _number(client, number)
    out = service.sign_in(ledger, client, op, number)
    if as_json:
        emit_json(dict(out, ok=True), sort_keys=True)
        return
    click.echo("terminal %s signed in: day %d, batch %d, blacklist version %d" % (
        number, out["day"], out["batch"], out["blacklist_version"]))


def _print_problems(problems):
    for p in problems:
        click.secho("  %s at record %d: %s" % (p.kind, p.number, p.detail), fg="red", err=True)


@terminal.command()
@click.argument("number", required=False)
@uses(db=True, keystore="required", link=True, operator="required", json=True)
def collect(session, number, as_json):
    """Collect the reader's journal over USB: verify MACs and chain, store, acknowledge (a collector key
    set, a signed-in operator)."""
    domain = session.keys("collector")
    session.sign_in()
    ledger = session.ledger()
    client = session.link()
    number = _number(client, number)
    rep = service.collect(ledger, client, jv.journal_keys(domain, int(number)), number)
    if as_json:
        emit_json({"terminal": number, "stored": rep.stored, "duplicates": rep.duplicates, "acked": rep.acked,
                   "last": rep.last_number, "problems": [p.evidence() for p in rep.problems],
                   "exceptions": rep.findings}, sort_keys=True)
    else:
        click.echo("terminal %s: %d records stored, %d already there, acknowledged up to %d" % (
            number, rep.stored, rep.duplicates, rep.acked or rep.last_number))
        _print_problems(rep.problems)
    if rep.problems:
        raise Failure("journal of terminal %s has problems (exceptions %s)" % (
            number, ", ".join(map(str, rep.findings))), Exit.INTEGRITY)


@terminal.command("day-close")
@click.argument("number", required=False)
@uses(db=True, keystore="required", link=True, operator="required", json=True)
def day_close_cmd(session, number, as_json):
    """Day close (日切): collect, close the reader's batch, check its totals against the journal (a
    collector key set); prints the audit log's head to record outside the ledger (`icpurse audit log
    verify --expect-head`)."""
    domain = session.keys("collector")
    ledger = session.ledger()
    client = session.link()
    op = session.sign_in().username
    number = _number(client, number)
    batch, rep = service.day_close(ledger, client, jv.journal_keys(domain, int(number)), op, number)
    seq, head = ledger.audit.audit_head()
    if as_json:
        emit_json({"ok": batch.balanced and not rep.problems, "terminal": number, "day": batch.day,
                   "batch": batch.batch, "first_number": batch.first_number, "last_number": batch.last_number,
                   "reader_count": batch.reader_count, "reader_sum": batch.reader_sum,
                   "journal_count": batch.journal_count, "journal_sum": batch.journal_sum,
                   "problems": [p.evidence() for p in rep.problems], "exceptions": rep.findings,
                   "audit_head": {"entries": seq, "head": head}}, sort_keys=True)
    else:
        click.echo("terminal %s batch %d (records %d..%d): reader %d debits, %s; journal %d debits, %s" % (
            number, batch.batch, batch.first_number, batch.last_number, batch.reader_count, yuan(batch.reader_sum),
            batch.journal_count, yuan(batch.journal_sum)))
        _print_problems(rep.problems)
        click.echo("audit log head: %d entries, %s (record it: `icpurse audit log verify --expect-head %s`)" % (
            seq, head, head))
    if not batch.balanced or rep.problems:
        raise Failure("day close of terminal %s does not match its journal" % number, Exit.INTEGRITY)


@terminal.command("list")
@uses(db="existing", json=True)
def list_cmd(session, as_json):
    """Terminals in the ledger, with their last sign-in and collected journal."""
    ledger = session.ledger()
    rows = []
    for t in ledger.store.terminals():
        signs = ledger.store.sign_ins(t.number)
        rows.append({"number": t.number, "kind": t.kind, "outlet": t.outlet, "merchant": t.merchant,
                     "status": t.status,
                     "key_version": t.key_version, "fixed_price": t.fixed_price,
                     "last_sign_in": signs[-1].at.isoformat() if signs else None,
                     "blacklist_version": signs[-1].blacklist_version if signs else None,
                     "collected_up_to": ledger.store.last_journal_number(t.number)})
    if as_json:
        emit_json(rows, sort_keys=True)
        return
    table = Table(title="terminals")
    for col in ("number", "outlet", "merchant", "status", "key v", "price", "last sign-in", "blacklist v",
                "collected"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["number"], r["outlet"], r["merchant"], r["status"], str(r["key_version"]),
                      yuan(r["fixed_price"]) if r["fixed_price"] else "-", r["last_sign_in"] or "-",
                      str(r["blacklist_version"]) if r["blacklist_version"] is not None else "-",
                      str(r["collected_up_to"]))
    Console().print(table)
