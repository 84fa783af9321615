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
    if session.key_material() is None:
        raise Failure("give the workstation's key set (--keystore) or a reader's --keys export")
    return session.keyring()


@audit.command()
@click.option("--keys", "keys_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="a reader's key export instead of the keystore (transport passphrase)")
@click.option("--no-ledger", is_flag=True, help="only the card: do not compare with (or record in) the ledger")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="seconds to wait for a card")
@click.option("--dump", "dump_path", type=click.Path(dir_okay=False),
              help="audit a dump file instead of a card on a reader (raw .mfd/.bin, Proxmark .eml/.json, "
                   "Flipper .nfc, MIFARE Classic Tool; format detected): keys are checked against its trailers")
@uses(db=True, keystore=True, reader=True, operator=True, json=True,
      reader_help="pcsc[:NAME] | serial:PORT (an issuance reader) | sim[:DIR]",
      operator_help="the operator recording the reading (not needed with --no-ledger)")
def card(session, keys_path, no_ledger, timeout, dump_path, as_json):
    """Read a card (or a dump file with --dump), verify every MAC, show balance, log and anomalies.
    Compared with and recorded in the ledger by a signed-in operator, unless --no-ledger."""
    from icpurse.host.audit.card import check_against_ledger, inspect_card, report_anomalies

    if dump_path and _given(click.get_current_context(), "reader"):
        raise Failure("give --reader or --dump, not both", Exit.USAGE)
    if dump_path:
        tag = _dump_tag(dump_path)  # a malformed file is refused before anything else is asked
    if not no_ledger:
        session.sign_in()
    ring = _keyring(session, keys_path)
    result = inspect_card(tag if dump_path else session.card(timeout), ring)
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


def _given(ctx, name):
    """True when option `name` came from the command line (not its environment variable or default)."""
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _dump_tag(path):
    """A read-only Tag over a dump file (host/dumps); a file that is not a dump is a DumpError (exit 2,
    its message says which line or byte)."""
    from icpurse.host.dumps import load
    from icpurse.host.dumps.tag import DumpTag

    return DumpTag(load(path))


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
    """Re-verify terminal NUMBER's collected journal: MACs, chain, gaps, edits (a collector key set)."""
    from icpurse.host.audit.terminal import audit_terminal
    from icpurse.host.terminals import journal_records as jv

    collector = session.keys("collector")
    ledger = session.ledger()
    ledger.store.terminal(number)
    out = audit_terminal(ledger, number, jv.journal_keys(collector, int(number)))
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
    """The ledger's operator audit log: keyed, hash-chained, sealing the books (needs the audit key of
    a key set: --keystore)."""


def head_doc(ledger):
    """{"entries": N, "head": hex}: the anchor to record outside the ledger (paper, e-mail, ...)."""
    seq, head = ledger.audit.audit_head()
    return {"entries": seq, "head": head}


@log_group.command("head")
@uses(db="existing", json=True)
def log_head(session, as_json):
    """The log's head: its number of entries and the newest entry's hash. Record it outside the ledger
    (the day close and the daily report print it too); `audit log verify --expect-head` then finds a
    log cut short or rewritten since."""
    doc = head_doc(session.ledger())
    if as_json:
        emit_json(doc)
    else:
        click.echo("%d entries, head %s" % (doc["entries"], doc["head"]))


@log_group.command("verify")
@click.option("--expect-head", metavar="HEX", default=None,
              help="a head recorded earlier (`audit log head`): fail unless the log still extends it")
@uses(db="existing", keystore=True, json=True)
def log_verify(session, expect_head, as_json):
    """Verify the whole log: every entry's keyed hash and link, every booking sealed by its entry and
    unchanged since, and (--expect-head) that nothing after a recorded head was cut or rewritten.
    Exit 5 naming the first bad entry."""
    if expect_head is not None and not _is_hex(expect_head):
        raise click.BadParameter("a head is 64 hex digits (from `icpurse audit log head`)", param_hint="--expect-head")
    ledger = session.ledger()
    if not ledger.can_record:
        raise Failure("verifying the audit log needs the audit key: give --keystore (a workstation or collector "
                      "key set)")
    broken = ledger.audit.verify_audit_log(expect_head)
    doc = dict(head_doc(ledger), ok=broken is None, expect_head=expect_head,
               first_bad=None if broken is None else {"seq": broken.seq, "reason": broken.reason})
    if as_json:
        emit_json(doc, sort_keys=True)
    elif broken is None:
        click.echo("operator log verifies%s: %d entries, head %s" % (
            " and extends %s" % expect_head if expect_head else "", doc["entries"], doc["head"]))
    if broken is not None:
        raise Failure(str(broken), Exit.INTEGRITY)


def _is_hex(text):
    try:
        return len(bytes.fromhex(text)) == 32
    except ValueError:
        return False


@log_group.command("show")
@click.option("--operator", "who", metavar="NAME", help="only this operator's entries")
@click.option("--card", metavar="NUMBER", help="only entries about this card")
@click.option("--terminal", metavar="NUMBER", help="only entries about this terminal")
@click.option("--action", metavar="ACTION", help="only this action (a trailing * matches a prefix: 'card.*')")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="only this day (YYYY-MM-DD, the business time zone)")
@click.option("--limit", type=click.IntRange(1), default=None, help="only the newest N entries")
@uses(db="existing", json=True)
def log_show(session, who, card, terminal, action, day, limit, as_json):
    """Read the log: who did what, when, to which card or terminal, with what result."""
    import json as _json

    rows = session.ledger().audit.audit_entries(card, action, operator=who, terminal=terminal,
                                                day=day.date() if day else None, limit=limit)
    docs = [{"seq": e.seq, "at": e.at, "operator": e.operator, "action": e.action, "card": e.card_number,
             "terminal": e.terminal_number, "result": e.result, "details": _json.loads(e.details),
             "hash": e.entry_hash} for e in rows]
    if as_json:
        emit_json({"entries": docs}, sort_keys=True)
        return
    table = Table(title="operator audit log (%d entries)" % len(docs))
    for col in ("seq", "at (UTC)", "operator", "action", "card", "terminal", "result", "details"):
        table.add_column(col, overflow="fold")
    for d in docs:
        table.add_row(str(d["seq"]), d["at"][:19].replace("T", " "), d["operator"] or "-", d["action"],
                      d["card"] or "-", d["terminal"] or "-", d["result"],
                      ", ".join("%s=%s" % kv for kv in sorted(d["details"].items()))[:120])
    Console(width=200).print(table)
