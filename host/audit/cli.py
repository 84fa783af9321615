"""`icpurse audit ...`: a card (every MAC, balance, log, anomalies), a terminal's collected journal,
and the ledger's operator log. Exit 5 when something does not verify."""
import click
from rich.console import Console
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import emit_json
from icpurse.host.clikit.output import yuan as fen
from icpurse.host.clikit.session import transport_passphrase


@click.group(cls=Group)
def audit():
    """Audit cards, terminal journals and the operator log."""


def _keyring(session, keys_path):
    from icpurse.keys import exports

    if keys_path:
        return exports.load_export(keys_path, transport_passphrase()).to_keyring()
    if session.domain(required=False) is None:
        raise Failure("give the workstation's --keystore or a reader's --keys export")
    return session.keyring()


@audit.command()
@click.option("--keys", "keys_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="a reader's key export instead of the keystore (transport passphrase)")
@click.option("--no-ledger", is_flag=True, help="only the card: do not compare with (or record in) the ledger")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="seconds to wait for a card")
@uses(db=True, keystore=True, reader=True, json=True,
      reader_help="pcsc[:NAME] | serial:PORT (an issuance reader) | sim[:DIR]")
def card(session, keys_path, no_ledger, timeout, as_json):
    """Read a card, verify every MAC, show balance, log and anomalies."""
    from icpurse.host.audit.card import check_against_ledger, inspect_card, report_anomalies

    ring = _keyring(session, keys_path)
    result = inspect_card(session.card(timeout), ring)
    reported = []
    if not no_ledger:
        ledger = session.ledger()
        check_against_ledger(result, ledger)
        reported = [e.id for e in report_anomalies(ledger, result)]
    if as_json:
        emit_json(dict(result.as_dict(), exceptions=reported), sort_keys=True)
    else:
        _print_card(result, reported)
    if result.critical:
        raise Failure("card %s: %d critical anomal%s" % (result.card_number, len(result.critical),
                                                          "y" if len(result.critical) == 1 else "ies"), Exit.INTEGRITY)


_TZ_LABEL = "UTC+08:00 (CST)"  # the business time zone (the ledger's calendar)


def _yuan(value):
    return fen(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _kind(code):
    from icpurse.host import codec

    return "%s (%s)" % (codec.TXN_NAMES[code], code) if code in codec.TXN_NAMES else str(code)


def _terminal(number):
    return "issuer" if number == 0 else ("%08d" % number if isinstance(number, int) else str(number))


def _day(card_day):
    from icpurse.protocol import cardtime

    return cardtime.to_date(card_day).isoformat() if isinstance(card_day, int) and card_day > 0 else "-"


def _time(card_seconds):
    """Card seconds as a local date and time (business time zone)."""
    import datetime as dt

    from icpurse.protocol import cardtime

    if not isinstance(card_seconds, int):
        return str(card_seconds)
    tz = dt.timezone(dt.timedelta(hours=8), "CST")
    return cardtime.to_datetime(card_seconds).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


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
    for col in ("slot", "MAC", "seq", "balance (yuan)", "kind", "amount (yuan)", "terminal", "txn", "day"):
        table.add_column(col)
    for s in a.slots:
        table.add_row(str(s["index"]) + (" *" if s["index"] == a.active else ""), "ok" if s["ok"] else "FAILS",
                      str(s["seq"]), _yuan(s["balance"]), _kind(s["kind"]), _yuan(s["amount"]),
                      _terminal(s["terminal"]), str(s["txn"]), _day(s.get("day")))
    console.print(table)
    table = Table(title="log (newest first; times %s)" % _TZ_LABEL)
    for col in ("seq", "status", "kind", "amount (yuan)", "balance (yuan)", "terminal", "txn", "time"):
        table.add_column(col)
    for e in a.log:
        table.add_row(str(e["seq"]), e["status"], _kind(e["kind"]), _yuan(e["amount"]), _yuan(e["balance"]),
                      _terminal(e["terminal"]), str(e["txn"]), _time(e["time"]))
    console.print(table)
    for an in a.anomalies:
        console.print("[%s] %s: %s" % (an.severity, an.code, an.message))
    if reported:
        console.print("exceptions: %s" % ", ".join(map(str, reported)))


@audit.command("terminal")
@click.argument("number")
@uses(db="existing", keystore="required", json=True)
def terminal_cmd(session, number, as_json):
    """Re-verify terminal NUMBER's collected journal: MACs, chain, gaps, edits."""
    from icpurse.host.audit.terminal import audit_terminal
    from icpurse.host.terminals import journal_records as jv

    domain = session.domain()
    ledger = session.ledger()
    ledger.store.terminal(number)
    out = audit_terminal(ledger, number, jv.journal_keys(domain, int(number)))
    if as_json:
        emit_json(out.as_dict(), sort_keys=True)
    else:
        click.echo("terminal %s: %d records (%d..%d) %s" % (number, out.records, out.first, out.last,
                                                           "verify" if out.ok else "DO NOT verify"))
        for p in out.problems:
            click.secho("  %s at record %d: %s" % (p.kind, p.number, p.detail), fg="red")
    if not out.ok:
        raise Failure("journal of terminal %s: %d problem(s)" % (number, len(out.problems)), Exit.INTEGRITY)


@audit.group("log")
def log_group():
    """The ledger's operator audit log (hash-chained)."""


@log_group.command("verify")
@uses(db="existing", json=True)
def log_verify(session, as_json):
    """Verify the whole operator log; exit 5 naming the first bad entry."""
    ledger = session.ledger()
    broken = ledger.audit.verify_audit_log()
    seq, head = ledger.audit.audit_head()
    if as_json:
        emit_json({"ok": broken is None, "entries": seq, "head": head,
                   "first_bad": None if broken is None else {"seq": broken.seq, "reason": broken.reason}},
                  sort_keys=True)
    elif broken is None:
        click.echo("operator log verifies: %d entries, head %s" % (seq, head))
    if broken is not None:
        raise Failure(str(broken), Exit.INTEGRITY)
