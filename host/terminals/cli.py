"""`icpurse terminal ...`: provision a store reader, sign in (day open), collect its journal, close its day.

The store reader is reached over its USB link (--port PATH or --reader serial:PATH); every request
that changes it is signed with the terminal's link key, from the keystore. Options, sign-in and exit
codes: host/clikit (5 when a journal, a day close or the reader's MAC does not verify)."""
import os

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
@click.option("--programme", "programme_id", default=None,
              help="the registered programme the reader sells by: its grace period, balance cap, per-sale and "
                   "daily caps go into every signed day configuration (read from the programme at each sign-in)")
@click.option("--txn-cap", type=click.IntRange(0), default=0,
              help="per-sale cap in fen for this reader only: with --programme it can only lower the programme's "
                   "(e.g. a vending machine); without, it is the reader's cap (0 = none)")
@click.option("--daily-cap", type=click.IntRange(0), default=0,
              help="daily cap per card in fen for this reader only, like --txn-cap (0 = none)")
@click.option("--issuance", is_flag=True,
              help="an issuance reader: its signed configuration allows transparent card access (CARD_*)")
@uses(db=True, keystore="required", link=True, operator="required", json=True)
def provision(session, number, outlet, merchant, fixed_price, programme_id, txn_cap, daily_cap, issuance, as_json):
    """Bind a reader to 8-digit terminal NUMBER and send it its keys, clock and settings (the reader
    key set of NUMBER: `icpurse keys export --role reader --terminal NUMBER`). A known terminal given
    another --outlet is moved there (audited); a new terminal the reader refuses is left disabled.

    A blank reader must have been through the lab's transport key ceremony for NUMBER
    (`icpurse terminal transport-key NUMBER`, docs/hardware.md); a provisioned one is re-provisioned
    under its own link key."""
    from icpurse.host.clikit.params import TERMINAL

    number = TERMINAL.convert(number, None, click.get_current_context())
    domain = session.keys("reader", service.check_number(number))
    ledger = session.ledger()
    client = session.link()
    op = session.sign_in().username
    rules = service.programme_settings(ledger.programmes.programme(programme_id)) if programme_id else {}
    for name, cap in (("txn", txn_cap), ("daily", daily_cap)):
        if cap and rules.get(name + "_cap") and cap > rules[name + "_cap"]:
            raise click.BadParameter("%s fen is above programme %s's %s cap of %s fen: a reader's own cap can only "
                                     "be stricter (leave it out to use the programme's)" % (
                                         cap, programme_id, name, rules[name + "_cap"]), param_hint="--%s-cap" % name)
    known = {t.number: t for t in ledger.store.terminals()}.get(number)
    if known is not None and outlet and outlet != known.outlet:
        ledger.outlets.rebind_outlet(op, number, outlet)
    try:
        out = service.provision(ledger, client, domain, op, number, outlet=outlet, merchant=merchant,
                                fixed_price=fixed_price, grace_days=rules.get("grace_days", 0), txn_cap=txn_cap,
                                daily_cap=daily_cap, transparent=issuance, balance_cap=rules.get("balance_cap", 0),
                                programme=programme_id)
    except Exception:
        if known is None and number in {t.number for t in ledger.store.terminals()}:
            ledger.outlets.set_terminal_status(op, number, "disabled", "the reader did not take the provisioning")
        raise
    if as_json:
        emit_json(dict(out, ok=True), sort_keys=True)
        return
    click.echo("terminal %s provisioned: key versions %s (current %d), %s mode" % (
        number, ", ".join(map(str, out["key_versions"])), out["current"], out["settings"]["mode"]))
    if not out["ring_partition"]:
        click.echo("warning: the reader's image has no flash partition for its state ring: it keeps it in a file "
                   "(slower taps, filesystem wear); flash an image built with board/partitions-icpurse.csv "
                   "(docs/hardware.md)", err=True)


@terminal.command("transport-key")
@click.argument("number")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="write the key here (hex, readable by you only) for the lab's board (`make deploy "
                   "TRANSPORT_KEY=FILE`) or the virtual reader (`icpurse sim reader --transport-key FILE`)")
@uses(db=True, keystore="required", operator="required", json=True)
def transport_key_cmd(session, number, out_path, as_json):
    """The lab ceremony: the one-off key a blank reader needs for its first provisioning as NUMBER.

    The key goes into the board's NVS in the lab; `terminal provision` uses it once and the reader
    erases it. Register the terminal first (it is what the key is bound to). Needs the reader key set
    of NUMBER (it holds the transport key)."""
    domain = session.keys("reader", service.check_number(number))
    ledger = session.ledger()
    op = session.sign_in().username
    key = service.transport_key(ledger, domain, number)
    from icpurse.keys.hierarchy import kcv

    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    ledger.store.record_transport_key(op, number, kcv(key))
    if as_json:
        emit_json({"terminal": number, "kcv": kcv(key), "file": out_path}, sort_keys=True)
    else:
        click.echo("transport key of terminal %s (KCV %s) written to %s: put it on the blank reader, then "
                   "`icpurse terminal provision %s`" % (number, kcv(key), out_path, number))


@terminal.command("sign-in")
@click.argument("number", required=False)
@uses(db=True, keystore="required", link=True, operator="required", json=True)
def sign_in_cmd(session, number, as_json):
    """Day open (签到): a store reader gets the current blacklist, then the day configuration the back
    office signs (a collector key set: it derives each terminal's link and configuration keys); a
    top-up kiosk (no device) signs in in the ledger."""
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
    domain = session.keys("collector")
    out = service.sign_in(ledger, client, op, number, domain)
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
    rep = service.collect(ledger, client, jv.journal_keys(domain, int(number)), number, domain=domain)
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
    batch, rep = service.day_close(ledger, client, jv.journal_keys(domain, int(number)), op, number, domain=domain)
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
