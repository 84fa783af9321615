"""`icpurse stock receive|issue|count`: blank-card stock at the issuer (验收入库, 领用/发出, 盘点).

The cards are named by UID (--uid, --uids-file) or read from the reader one after the other
(--scan). Options, sign-in, --json and exit codes: host/clikit (5 when a count finds differences).
"""
import click
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.params import UID, uid_text
from icpurse.host.clikit.output import console, emit_json
from icpurse.host.issuance import service as svc


def _uids(uids, uids_file):
    """The UIDs given (already checked by the UID type) and those of --uids-file, each line checked
    by the same rule before anything is opened (a bad line: exit 2 naming it, nothing written)."""
    out = list(uids)
    if uids_file:
        try:
            with open(uids_file, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except UnicodeDecodeError as e:
            raise click.BadParameter("%s is not UTF-8 text (byte %d): one hex UID per line" % (uids_file, e.start),
                                     param_hint="--uids-file") from None
        for n, line in enumerate(lines, start=1):
            text = line.split("#")[0].strip()
            if text:
                out.append(uid_text(text, "--uids-file %s line %d" % (uids_file, n)))
    if len(set(out)) != len(out):
        dup = sorted({u for u in out if out.count(u) > 1})
        raise click.BadParameter("UID(s) listed twice: %s" % ", ".join(dup), param_hint="--uid/--uids-file")
    return out


def _scan(session, timeout):
    """UIDs of the cards presented one after the other until none comes within `timeout` s."""
    reader = session.reader()
    seen = []
    previous = None
    while True:
        tag = svc.wait_for_new_card(reader, previous, timeout)
        if tag is None:
            return seen
        uid = bytes(tag.uid).hex().upper()
        svc.release_tag(tag)
        if uid not in seen:
            seen.append(uid)
            if not session.as_json:
                click.echo("read %s (%d)" % (uid, len(seen)), err=True)
        previous = uid
        eject = getattr(reader, "eject", None)
        if eject is not None:
            eject()
            previous = None


def _uid_sources(f):
    f = click.option("--scan", is_flag=True, help="Read the cards' UIDs from the reader, one card after the other, "
                                                   "until none comes within --card-timeout.")(f)
    f = click.option("--uids-file", type=click.Path(exists=True, dir_okay=False),
                     help="A file with one UID (hex) per line.")(f)
    f = click.option("--uid", "uids", type=UID, multiple=True, metavar="HEX",
                     help="A card UID: 4, 7 or 10 bytes of hex (repeatable).")(f)
    f = click.option("--card-timeout", type=float, default=10.0, show_default=True,
                     help="Seconds to wait for the next card.")(f)
    return uses(db=True, reader=True, operator=True, json=True)(f)


def _collect_uids(session, uids, uids_file, scan, card_timeout):
    found = _uids(uids, uids_file)
    if scan:
        found += [u for u in _scan(session, card_timeout) if u not in found]
    return found


@click.group(cls=Group)
def stock():
    """Blank-card stock: receive (验收入库), issue to a sales point (领用/发出), count (盘点)."""


@stock.command()
@click.option("--batch", required=True, help="The delivery's batch reference (e.g. B-2026-001).")
@click.option("--count", "count", type=click.IntRange(1), default=None,
              help="Receive this many cards whose UIDs are not known yet (each is identified when first read, "
                   "e.g. `card personalise --batch REF`).")
@click.option("--note", default="", help="Free text kept with the batch.")
@_uid_sources
def receive(session, batch, count, note, uids, uids_file, scan, card_timeout, as_json):
    """Receive blank cards into stock: by UID (--uid, --uids-file, --scan) and/or by --count."""
    found = _collect_uids(session, uids, uids_file, scan, card_timeout)
    if not found and count is None:
        raise click.UsageError("give the cards' UIDs (--uid / --uids-file / --scan) or their --count")
    op = session.sign_in()
    session.ledger().stock.receive_stock(op.username, batch, found, note=note, count=count)
    doc = {"ok": True, "batch": batch, "received": count if count is not None else len(found), "uids": found}
    if as_json:
        emit_json(doc)
    else:
        click.echo("batch %s: %d card(s) received into stock%s" % (
            batch, doc["received"], " (%d identified by UID)" % len(found) if count is not None else ""))


@stock.command("issue")
@click.option("--point", required=True, help="The sales point code receiving the cards (`icpurse salespoint list`).")
@_uid_sources
def issue_cmd(session, point, uids, uids_file, scan, card_timeout, as_json):
    """Move cards from the warehouse to a sales point (领用/发出)."""
    found = _collect_uids(session, uids, uids_file, scan, card_timeout)
    if not found:
        raise click.UsageError("give the cards' UIDs (--uid / --uids-file / --scan)")
    op = session.sign_in()
    n = session.ledger().stock.issue_to_point(op.username, found, point)
    if as_json:
        emit_json({"ok": True, "point": point, "issued": n, "uids": found})
    else:
        click.echo("%d card(s) issued to sales point %s" % (n, point))


@stock.command("count")
@click.option("--point", default=None, help="Count a sales point's cards instead of the warehouse.")
@_uid_sources
def count_cmd(session, point, uids, uids_file, scan, card_timeout, as_json):
    """Stock count (盘点): compare the cards physically present with the ledger. Exit 5 when there are
    differences (missing, at another place, unknown)."""
    found = _collect_uids(session, uids, uids_file, scan, card_timeout)
    op = session.sign_in()
    result = session.ledger().stock.count_stock(op.username, found, point)
    doc = {"ok": result.ok, "location": result.location, "expected": result.expected, "counted": result.counted,
           "missing": result.missing, "unexpected": [{"uid": u, "ledger": w} for u, w in result.unexpected],
           "unknown": result.unknown, "unidentified_expected": result.unidentified,
           "unidentified_present": result.unidentified_present,
           "unidentified_missing": result.missing_unidentified}
    if as_json:
        emit_json(doc)
    else:
        out = console(160)
        out.print("stock count at %s: %d expected, %d counted" % (result.location, result.expected, result.counted))
        if result.ok:
            out.print("[green]no differences[/green]")
        else:
            table = Table(title="differences", title_justify="left")
            for col in ("UID", "difference", "ledger says"):
                table.add_column(col)
            for u in result.missing:
                table.add_row(u, "missing", "here")
            for u, where in result.unexpected:
                table.add_row(u, "should not be here", where)
            for u in result.unknown:
                table.add_row(u, "unknown", "never received into stock")
            if result.missing_unidentified:
                table.add_row("-", "%d missing" % result.missing_unidentified, "received by count, UID unknown")
            out.print(table)
            out.print("Report the differences; find the missing cards before issuing more.")
    if not result.ok:
        click.get_current_context().exit(Exit.INTEGRITY)
