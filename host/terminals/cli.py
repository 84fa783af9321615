"""`icpurse terminal ...`: provision a store reader, sign in (day open), collect its journal, close its day."""
import click
from rich.console import Console
from rich.table import Table

from icpurse.host.ledger.options import db_option
from icpurse.host.terminals import journal_records as jv
from icpurse.host.terminals import service
from icpurse.host.terminals.cliopts import (
    EXIT_INTEGRITY, Failed, emit_json, fen, handle_errors, keystore_option, link_options, load_domain, login,
    operator_option,
)


def _open(db):
    from icpurse.host.ledger import open_ledger

    return open_ledger(db)


def _client(port, reader_spec):
    from icpurse.host.terminals.client import open_link

    return open_link(port, reader_spec)


def _number(client, number):
    if number:
        return number
    t = client.info()["terminal"]
    if not t:
        raise Failed("the reader is not provisioned: give the terminal number")
    return "%08d" % t


@click.group()
def terminal():
    """Store readers: provision, sign in (签到), collect journals, day close (日切)."""


@terminal.command()
@click.argument("number")
@click.option("--outlet", help="outlet the terminal is bound to (new terminals)")
@click.option("--merchant", help="merchant of the outlet (new terminals)")
@click.option("--fixed-price", type=click.IntRange(1), default=None, help="fixed-price mode: price in fen")
@click.option("--programme", "programme_id", default=None, help="take the grace period from this programme")
@click.option("--txn-cap", type=click.IntRange(0), default=0, help="per-transaction cap in fen (0 = none)")
@click.option("--daily-cap", type=click.IntRange(0), default=0, help="daily cap per card in fen (0 = none)")
@link_options
@keystore_option()
@operator_option
@db_option
@handle_errors
def provision(number, outlet, merchant, fixed_price, programme_id, txn_cap, daily_cap, port, reader_spec,
              keystore_path, operator, db):
    """Bind a reader to 8-digit terminal NUMBER and send it its keys, clock and settings."""
    domain = load_domain(keystore_path)
    ledger = _open(db)
    client = _client(port, reader_spec)
    try:
        op = login(ledger, operator)
        grace = service.programme_settings(ledger.programmes.programme(programme_id))["grace_days"] if programme_id else 0
        out = service.provision(ledger, client, domain, op, number, outlet=outlet, merchant=merchant,
                                fixed_price=fixed_price, grace_days=grace, txn_cap=txn_cap, daily_cap=daily_cap)
    finally:
        client.close()
        ledger.close()
    click.echo("terminal %s provisioned: key versions %s (current %d), %s mode" % (
        number, ", ".join(map(str, out["key_versions"])), out["current"], out["settings"]["mode"]))


@terminal.command("sign-in")
@click.argument("number", required=False)
@link_options
@operator_option
@db_option
@handle_errors
def sign_in_cmd(number, port, reader_spec, operator, db):
    """Day open: set the clock, download the current blacklist, sign in."""
    ledger = _open(db)
    client = _client(port, reader_spec)
    try:
        op = login(ledger, operator)
        number = _number(client, number)
        out = service.sign_in(ledger, client, op, number)
    finally:
        client.close()
        ledger.close()
    click.echo("terminal %s signed in: day %d, batch %d, blacklist version %d" % (
        number, out["day"], out["batch"], out["blacklist_version"]))


def _print_problems(problems):
    for p in problems:
        click.secho("  %s at record %d: %s" % (p.kind, p.number, p.detail), fg="red", err=True)


@terminal.command()
@click.argument("number", required=False)
@link_options
@keystore_option()
@db_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def collect(number, port, reader_spec, keystore_path, db, as_json):
    """Collect the reader's journal over USB: verify MACs and chain, store, acknowledge."""
    domain = load_domain(keystore_path)
    ledger = _open(db)
    client = _client(port, reader_spec)
    try:
        number = _number(client, number)
        rep = service.collect(ledger, client, jv.journal_keys(domain, int(number)), number)
    finally:
        client.close()
        ledger.close()
    if as_json:
        emit_json({"terminal": number, "stored": rep.stored, "duplicates": rep.duplicates, "acked": rep.acked,
                   "last": rep.last_number, "problems": [p.evidence() for p in rep.problems],
                   "exceptions": rep.findings})
    else:
        click.echo("terminal %s: %d records stored, %d already there, acknowledged up to %d" % (
            number, rep.stored, rep.duplicates, rep.acked or rep.last_number))
        _print_problems(rep.problems)
    if rep.problems:
        raise Failed("journal of terminal %s has problems (exceptions %s)" % (
            number, ", ".join(map(str, rep.findings))), EXIT_INTEGRITY)


@terminal.command("day-close")
@click.argument("number", required=False)
@link_options
@keystore_option()
@operator_option
@db_option
@handle_errors
def day_close_cmd(number, port, reader_spec, keystore_path, operator, db):
    """Day close (日切): collect, close the reader's batch, check its totals against the journal."""
    domain = load_domain(keystore_path)
    ledger = _open(db)
    client = _client(port, reader_spec)
    try:
        op = login(ledger, operator)
        number = _number(client, number)
        batch, rep = service.day_close(ledger, client, jv.journal_keys(domain, int(number)), op, number)
    finally:
        client.close()
        ledger.close()
    click.echo("terminal %s batch %d (records %d..%d): reader %d debits, %s; journal %d debits, %s" % (
        number, batch.batch, batch.first_number, batch.last_number, batch.reader_count, fen(batch.reader_sum),
        batch.journal_count, fen(batch.journal_sum)))
    _print_problems(rep.problems)
    if not batch.balanced or rep.problems:
        raise Failed("day close of terminal %s does not match its journal" % number, EXIT_INTEGRITY)


@terminal.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def list_cmd(db, as_json):
    """Terminals in the ledger, with their last sign-in and collected journal."""
    ledger = _open(db)
    try:
        rows = []
        for t in ledger.store.terminals():
            signs = ledger.store.sign_ins(t.number)
            rows.append({"number": t.number, "outlet": t.outlet, "merchant": t.merchant, "status": t.status,
                         "key_version": t.key_version, "fixed_price": t.fixed_price,
                         "last_sign_in": signs[-1].at.isoformat() if signs else None,
                         "blacklist_version": signs[-1].blacklist_version if signs else None,
                         "collected_up_to": ledger.store.last_journal_number(t.number)})
    finally:
        ledger.close()
    if as_json:
        emit_json(rows)
        return
    table = Table(title="terminals")
    for col in ("number", "outlet", "merchant", "status", "key v", "price", "last sign-in", "blacklist v",
                "collected"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["number"], r["outlet"], r["merchant"], r["status"], str(r["key_version"]),
                      fen(r["fixed_price"]) if r["fixed_price"] else "-", r["last_sign_in"] or "-",
                      str(r["blacklist_version"]) if r["blacklist_version"] is not None else "-",
                      str(r["collected_up_to"]))
    Console().print(table)
