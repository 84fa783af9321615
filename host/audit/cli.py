"""`icpurse audit ...`: a card (every MAC, balance, log, anomalies), a terminal's collected journal,
and the ledger's operator log. Exit 5 when something does not verify."""
import click
from rich.console import Console
from rich.table import Table

from icpurse.host.ledger.options import db_option
from icpurse.host.terminals.cliopts import (
    EXIT_INTEGRITY, EXIT_USAGE, Failed, emit_json, fen, handle_errors, keystore_option, load_domain,
)


def _open(db):
    from icpurse.host.ledger import open_ledger

    return open_ledger(db)


@click.group()
def audit():
    """Audit cards, terminal journals and the operator log."""


def _keyring(keystore_path, keys_path):
    from icpurse.keys import exports

    if keys_path:
        import os

        from icpurse.keys.cli import TRANSPORT_ENV

        passphrase = os.environ.get(TRANSPORT_ENV) or click.prompt("Transport passphrase", hide_input=True, err=True)
        return exports.load_export(keys_path, passphrase).to_keyring()
    domain = load_domain(keystore_path)
    if domain is None:
        raise Failed("give the workstation's --keystore or a reader's --keys export")
    return exports.workstation_keyset(domain).to_keyring()


@audit.command()
@click.option("--reader", "reader_spec", envvar="ICPURSE_READER", default=None,
              help="pcsc[:NAME] | serial:PORT (an issuance reader) | sim[:DIR]")
@keystore_option(required=False)
@click.option("--keys", "keys_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="a reader's key export instead of the keystore (transport passphrase)")
@db_option
@click.option("--no-ledger", is_flag=True, help="only the card: do not compare with (or record in) the ledger")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="seconds to wait for a card")
@click.option("--dump", "dump_path", type=click.Path(dir_okay=False),
              help="audit a dump file instead of a card on a reader (raw .mfd/.bin, Proxmark .eml/.json, "
                   "Flipper .nfc, MIFARE Classic Tool; format detected): keys are checked against its trailers")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def card(reader_spec, keystore_path, keys_path, db, no_ledger, timeout, dump_path, as_json):
    """Read a card (or a dump file with --dump), verify every MAC, show balance, log and anomalies."""
    from icpurse.host.audit.card import check_against_ledger, inspect_card, report_anomalies

    if dump_path and reader_spec:
        raise Failed("give --reader or --dump, not both", EXIT_USAGE)
    ring = _keyring(keystore_path, keys_path)
    if dump_path:
        from icpurse.host.dumps import DumpError, load
        from icpurse.host.dumps.tag import DumpTag

        try:
            tag = DumpTag(load(dump_path))
        except DumpError as e:
            raise Failed(str(e), EXIT_USAGE)
        result = inspect_card(tag, ring)
    else:
        from icpurse.host.readers import open_reader

        reader = open_reader(reader_spec)
        try:
            tag = reader.wait_for_card(timeout)
            result = inspect_card(tag, ring)
        finally:
            reader.close()
    reported = []
    if not no_ledger:
        ledger = _open(db)
        try:
            check_against_ledger(result, ledger)
            reported = [e.id for e in report_anomalies(ledger, result)]
        finally:
            ledger.close()
    if as_json:
        emit_json(dict(result.as_dict(), exceptions=reported))
    else:
        _print_card(result, reported)
    if result.critical:
        raise Failed("card %s: %d critical anomal%s" % (result.card_number, len(result.critical),
                                                         "y" if len(result.critical) == 1 else "ies"), EXIT_INTEGRITY)


def _print_card(a, reported):
    console = Console()
    console.print("card %s  UID %s  key version %d  identity MAC %s" % (
        a.card_number, a.uid, a.key_version, "ok" if a.identity_ok else "FAILS"))
    console.print("balance %s  seq %s  (balance block %s)" % (fen(a.balance), a.seq, fen(a.value_block)))
    if a.ledger:
        console.print("ledger: %s, balance %s, highest seq seen %s (%s)%s" % (
            a.ledger["state"], fen(a.ledger["ledger_balance"]), a.ledger["last_seen_seq"], a.ledger["last_seen_by"],
            ", BLACKLISTED" if a.ledger["blacklisted"] else ""))
    table = Table(title="slots")
    for col in ("slot", "MAC", "seq", "balance", "kind", "amount", "terminal", "txn"):
        table.add_column(col)
    for s in a.slots:
        table.add_row(str(s["index"]) + (" *" if s["index"] == a.active else ""), "ok" if s["ok"] else "FAILS",
                      str(s["seq"]), str(s["balance"]), str(s["kind"]), str(s["amount"]), str(s["terminal"]),
                      str(s["txn"]))
    console.print(table)
    table = Table(title="log (newest first)")
    for col in ("seq", "status", "kind", "amount", "balance", "terminal", "txn", "time"):
        table.add_column(col)
    for e in a.log:
        table.add_row(str(e["seq"]), e["status"], str(e["kind"]), str(e["amount"]), str(e["balance"]),
                      str(e["terminal"]), str(e["txn"]), str(e["time"]))
    console.print(table)
    for an in a.anomalies:
        console.print("[%s] %s: %s" % (an.severity, an.code, an.message))
    if reported:
        console.print("exceptions: %s" % ", ".join(map(str, reported)))


@audit.command("terminal")
@click.argument("number")
@keystore_option()
@db_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def terminal_cmd(number, keystore_path, db, as_json):
    """Re-verify terminal NUMBER's collected journal: MACs, chain, gaps, edits."""
    from icpurse.host.audit.terminal import audit_terminal
    from icpurse.host.terminals import journal as jv

    domain = load_domain(keystore_path)
    ledger = _open(db)
    try:
        ledger.terminal(number)
        out = audit_terminal(ledger, number, jv.journal_keys(domain, int(number)))
    finally:
        ledger.close()
    if as_json:
        emit_json(out.as_dict())
    else:
        click.echo("terminal %s: %d records (%d..%d) %s" % (number, out.records, out.first, out.last,
                                                           "verify" if out.ok else "DO NOT verify"))
        for p in out.problems:
            click.secho("  %s at record %d: %s" % (p.kind, p.number, p.detail), fg="red")
    if not out.ok:
        raise Failed("journal of terminal %s: %d problem(s)" % (number, len(out.problems)), EXIT_INTEGRITY)


@audit.group("log")
def log_group():
    """The ledger's operator audit log (hash-chained)."""


@log_group.command("verify")
@db_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def log_verify(db, as_json):
    """Verify the whole operator log; exit 5 naming the first bad entry."""
    ledger = _open(db)
    try:
        broken = ledger.verify_audit_log()
        seq, head = ledger.audit_head()
    finally:
        ledger.close()
    if as_json:
        emit_json({"ok": broken is None, "entries": seq, "head": head,
                   "first_bad": None if broken is None else {"seq": broken.seq, "reason": broken.reason}})
    elif broken is None:
        click.echo("operator log verifies: %d entries, head %s" % (seq, head))
    if broken is not None:
        raise Failed(str(broken), EXIT_INTEGRITY)
