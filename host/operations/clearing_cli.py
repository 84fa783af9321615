"""`icpurse clearing import|list|resolve`: the daily 对账 with the clearing house.

The clearing house's file is CSV, UTF-8 (a byte-order mark is fine), one header line naming the
columns, one kiosk top-up per line:

| column | what |
|---|---|
| `txn_id` | the top-up's transaction id, as the kiosk sent it (our idempotency key) |
| `terminal` | the kiosk's 8-digit terminal number |
| `card_number` | the card topped up |
| `amount_fen` | the amount settled, integer fen (0: voided) |

Other columns (times, references) are ignored. A file with a missing column, a bad number or a
transaction listed twice is refused as a whole (exit 2, nothing imported)."""
import csv
import hashlib
import io
import re

import click
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import console, emit_json, yuan
from icpurse.host.clikit.params import DATE
from icpurse.host.ledger.clearing import ACTIONS, ClearingRow
from icpurse.protocol.money import parse_fen

COLUMNS = ("txn_id", "terminal", "card_number", "amount_fen")


def read_clearing_file(data: bytes, name: str) -> list:
    """The rows of a clearing-house file; Failure (exit 2) naming the line on anything wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Failure("%s: not UTF-8 text (byte %d): export the file as UTF-8 CSV" % (name, e.start), Exit.USAGE)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise Failure("%s: the header lacks column(s) %s; a clearing file has %s" % (
            name, ", ".join(missing), ", ".join(COLUMNS)), Exit.USAGE)
    rows, seen = [], set()
    for n, rec in enumerate(reader, start=2):
        def bad(why):
            return Failure("%s line %d: %s: nothing was imported" % (name, n, why), Exit.USAGE)
        txn = (rec.get("txn_id") or "").strip()
        term = (rec.get("terminal") or "").strip()
        card = (rec.get("card_number") or "").strip()
        if not txn or len(txn) > 64:
            raise bad("txn_id is empty or longer than 64 characters")
        if txn in seen:
            raise bad("transaction %s is listed twice" % txn)
        seen.add(txn)
        if not re.fullmatch(r"[0-9]{8}", term):
            raise bad("terminal %r is not an 8-digit terminal number" % term)
        if not re.fullmatch(r"[0-9]{1,32}", card):
            raise bad("card_number %r is not a card number (ASCII digits)" % card)
        try:
            amount = parse_fen(rec.get("amount_fen") or "")
        except ValueError:
            raise bad("amount_fen %r is not a whole number of fen" % rec.get("amount_fen")) from None
        rows.append(ClearingRow(txn, term, card, amount))
    return rows


def _doc(i):
    return {"id": i.id, "business_date": i.business_date.isoformat(), "kind": i.kind, "txn_id": i.txn_id,
            "terminal": i.terminal, "card_number": i.card_number, "our_amount": i.our_amount,
            "their_amount": i.their_amount, "status": i.status, "action": i.action, "reason": i.reason}


_KIND = {"long": "long (ours only) 长款", "short": "short (theirs only) 短款", "amount_mismatch": "amount mismatch 金额不符"}


def _table(items, title):
    table = Table(title=title, title_justify="left")
    for col in ("#", "date", "kind", "transaction", "terminal", "card", "ours (yuan)", "theirs (yuan)", "status"):
        table.add_column(col)
    for i in items:
        table.add_row(str(i.id), i.business_date.isoformat(), _KIND[i.kind], i.txn_id, i.terminal or "-",
                      i.card_number or "-", yuan(i.our_amount), yuan(i.their_amount),
                      i.status if i.status == "open" else "%s (%s)" % (i.status, i.action))
    console(200).print(table)


@click.group(cls=Group)
def clearing():
    """对账 with the clearing house: import its daily file of kiosk top-ups, list the long / short /
    amount-mismatch items, resolve each with an audited action."""


@clearing.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--date", "day", type=DATE, required=True, help="The business day the file covers (YYYY-MM-DD).")
@uses(db="existing", operator="required", json=True, operator_help="A finance, issuer-admin or auditor operator.")
def import_cmd(session, file, day, as_json):
    """Import the clearing house's CSV FILE for business day --date and list the differences with
    the ledger's kiosk top-ups of that day. Columns: txn_id, terminal, card_number, amount_fen.
    Exit 5 while the day has open items."""
    with open(file, "rb") as f:
        data = f.read()
    rows = read_clearing_file(data, click.format_filename(file))
    ledger = session.ledger()
    result = ledger.clearing.import_file(session.sign_in().username, day, rows, source=click.format_filename(file),
                                         digest=hashlib.sha256(data).hexdigest())
    items = ledger.clearing.items(day)
    open_items = [i for i in items if i.status == "open"]
    if as_json:
        emit_json({"ok": not open_items, "business_date": day.isoformat(), "rows": result.rows,
                   "matched": result.matched, "already_imported": result.already_imported,
                   "new_items": [_doc(i) for i in result.new_items], "open_items": [_doc(i) for i in open_items]})
    else:
        click.echo("%s: %d row(s), %d matched%s; %d open item(s) for %s" % (
            file, result.rows, result.matched, " (this file was imported before: nothing new)"
            if result.already_imported else "", len(open_items), day))
        if open_items:
            _table(open_items, "对账 differences %s (resolve with `icpurse clearing resolve ID --action ...`)" % day)
    if open_items:
        click.get_current_context().exit(Exit.INTEGRITY)


@clearing.command("list")
@click.option("--date", "day", type=DATE, default=None, help="Only this business day.")
@click.option("--status", type=click.Choice(["open", "resolved"]), default=None)
@uses(db="existing", json=True)
def list_cmd(session, day, status, as_json):
    """The clearing items (long / short / amount mismatch), their status and resolution."""
    items = session.ledger().clearing.items(day, status)
    if as_json:
        emit_json({"ok": True, "items": [_doc(i) for i in items]})
    elif not items:
        click.echo("no clearing items")
    else:
        _table(items, "clearing items")


@clearing.command()
@click.argument("item_id", type=click.IntRange(1))
@click.option("--action", type=click.Choice(sorted(ACTIONS)), required=True,
              help="; ".join("%s: %s" % kv for kv in sorted(ACTIONS.items())))
@click.option("--reason", required=True, help="Why, with references (kept in the audit log).")
@uses(db="existing", operator="required", json=True, operator_help="A finance, issuer-admin or auditor operator.")
def resolve(session, item_id, action, reason, as_json):
    """Resolve clearing item ITEM_ID with an action and a reason (audited)."""
    view = session.ledger().clearing.resolve(session.sign_in().username, item_id, action, reason)
    if as_json:
        emit_json({"ok": True, "item": _doc(view)})
    else:
        click.echo("clearing item %d resolved: %s" % (item_id, action))
