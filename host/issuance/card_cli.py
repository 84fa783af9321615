"""`icpurse card personalise|recover|show`: cards at the issuance counter (the issuer's keys and a
reader). Options, sign-in, --json and exit codes: host/clikit (4 when a card was refused,
interrupted or damaged)."""
import dataclasses

import click
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.params import CARD_NUMBER, FEN
from icpurse.host.clikit.output import console, emit_json
from icpurse.host.cards import CardGone
from icpurse.host.issuance import service as svc
from icpurse.host.ledger import LedgerError
from icpurse.host.programmes import load_programmes
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.numbering import parse_issue_code


def counter_options(keys=True, reader=True):
    """The options of a command at the issuance counter (and the session as its first argument):
    --db, --operator, --json and, as asked, --keystore and --reader."""
    return uses(db=True, keystore=keys, reader=reader, operator=True, json=True)


def workstation(session):
    """The issuance workstation of the session: its ledger, keys and signed-in operator."""
    op = session.sign_in()
    ws = session.keys("workstation")
    return svc.Workstation(session.ledger(), ws.to_keysets(), ws.issuer, op.username, ws.current)


@click.group(cls=Group)
def card():
    """Personalise, recover and show cards (the issuer's keys and a reader)."""


def _order(ledger, programme_id, kind, face_value, issue_code, platform, card_type, allow_7byte_uid, batch):
    try:
        prog = ledger.programmes.programme(programme_id)
    except LedgerError:
        raise Failure("programme %s is not registered in this ledger: pass --programmes FILE to register it (a "
                      "programme breaking its profile also needs --override-reason)" % programme_id) from None
    if kind is None:
        if len(prog.kinds) != 1:
            raise click.UsageError("programme %s issues %s cards: choose one with --kind" % (
                prog.id, " and ".join(prog.kinds)))
        kind = prog.kinds[0]
    if kind not in prog.kinds:
        raise click.UsageError("programme %s does not issue %s cards" % (prog.id, kind))
    values = prog.terms[kind].face_values
    if face_value is None:
        if len(values) != 1:
            raise click.UsageError("programme %s %s cards come in %s: choose one with --face-value (fen)" % (
                prog.id, kind, ", ".join("%d (%s)" % (v, fmt_yuan(v)) for v in values)))
        face_value = values[0]
    code = parse_issue_code(issue_code) if issue_code else None
    return svc.IssueOrder(prog.id, kind, face_value, code, platform,
                          svc.CardRequirements(card_type, allow_7byte_uid), batch)


@card.command()
@click.option("--programme", "programme_id", envvar="ICPURSE_PROGRAMME", required=True, metavar="ID",
              help="The programme the cards are issued under (env ICPURSE_PROGRAMME).")
@click.option("--programmes", "programmes_file", type=click.Path(exists=True, dir_okay=False),
              help="A programmes file: registers --programme from it first if the ledger does not know it yet "
                   "(refused when it breaks its profile, unless --override-reason).")
@click.option("--override-reason", default=None,
              help="Register a programme that breaks its profile anyway; the reason and the violations are audited.")
@click.option("--kind", type=click.Choice(["named", "anonymous"]), default=None,
              help="Card kind (default: the programme's only kind).")
@click.option("--face-value", type=FEN, default=None, metavar="FEN",
              help="Face value in fen, e.g. 20000 = 200 yuan (default: the only one).")
@click.option("--issue-code", default=None, metavar="CODE", help="Issue code like 2026P1 or 2026J1(4-2) "
                                                                  "(default: this year, regular, series 1).")
@click.option("--platform", type=click.IntRange(0, 999), default=None,
              help="utility12 numbers: the platform number N1N2N3 (default: the programme's first).")
@click.option("--card-type", type=click.Choice(["1k", "4k"]), default="1k", show_default=True,
              help="The blank the programme issues on; other cards are refused.")
@click.option("--allow-7byte-uid", is_flag=True, help="Accept cards with 7-byte UIDs.")
@click.option("--batch", default=None, help="Cards not received by UID belong to this batch (received by count).")
@click.option("--count", "count", type=click.IntRange(1), default=None, help="Personalise N cards, one after "
                                                                             "the other.")
@click.option("--until-empty", is_flag=True, help="Personalise cards until none comes within --card-timeout.")
@click.option("--number", "numbers", type=CARD_NUMBER, multiple=True, metavar="CARD",
              help="Issue under this pre-printed card number (repeatable: one card per number, in order). Each is "
                   "checked against the programme's numbering scheme and must be unused.")
@click.option("--card-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for a card.")
@counter_options()
def personalise(session, programme_id, programmes_file, override_reason, kind, face_value, issue_code, platform,
                card_type, allow_7byte_uid, batch, count, until_empty, numbers, card_timeout, as_json):
    """Turn blank cards into cards of a programme: keys, MAD, identity, empty purse, verified.

    Journaled: the card number is reserved in the ledger before the first write and the card is
    marked done only after reading it back. A card pulled at any point is finished the next time
    it is presented (same number); `icpurse card recover` lists and finishes half-done ones.
    Exit 4 when a card was refused, interrupted or damaged (see the table)."""
    if count and until_empty:
        raise click.UsageError("--count and --until-empty exclude each other")
    if numbers and (count or until_empty):
        raise click.UsageError("--number gives one card per number: no --count / --until-empty with it")
    ledger = session.ledger()
    station = None
    if programmes_file:
        progs = {p.id: p for p in load_programmes(programmes_file)}
        if programme_id not in progs:
            raise Failure("%s defines no programme %s (it has %s)" % (programmes_file, programme_id,
                                                                      ", ".join(sorted(progs))))
        station = workstation(session)
        station.register_programme(progs[programme_id], override_reason)
    order = _order(ledger, programme_id, kind, face_value, issue_code, platform, card_type, allow_7byte_uid, batch)
    if numbers:
        _check_preprinted(ledger, order, numbers)  # before anyone signs in or any card is read
    station = station or workstation(session)
    if numbers:
        results = []
        for number in numbers:
            results += _run_batch(station, session.reader(), dataclasses.replace(order, card_number=number), 1, False,
                                  card_timeout, as_json)
            if not results[-1].ok:
                break
    else:
        results = _run_batch(station, session.reader(), order, count or (None if until_empty else 1), until_empty,
                             card_timeout, as_json)
    failed = [r for r in results if not r.ok]
    if as_json:
        emit_json({"ok": not failed and bool(results), "programme": order.programme_id,
                   "personalised": len(results) - len(failed), "failed": len(failed),
                   "cards": [r.as_dict() for r in results]})
    else:
        _result_table(results, order)
    if not results:
        raise Failure("no card was presented within %.0f s: put a blank on the reader" % card_timeout, Exit.CARD)
    if failed:
        click.get_current_context().exit(Exit.CARD)


def _check_preprinted(ledger, order, numbers):
    """Pre-printed numbers: valid in the programme's scheme (exit 2 naming the fault), for the face
    value ordered, listed once and not registered yet (exit 1) - all checked before any card is read."""
    from icpurse.host.ledger import NotFound
    from icpurse.protocol.numbering import CardNumberError

    prog = ledger.programmes.programme(order.programme_id)
    scheme = prog.numbering_scheme()
    if len(set(numbers)) != len(numbers):
        raise click.BadParameter("a card number is listed twice", param_hint="--number")
    for number in numbers:
        if scheme is None:
            if len(number) != 12:
                raise click.BadParameter("%s: a card number of programme %s is 12 digits" % (number, prog.id),
                                         param_hint="--number")
        else:
            try:
                parts = scheme.parse(scheme.validate(number))
            except CardNumberError as e:
                raise click.BadParameter("%s: %s" % (number, e), param_hint="--number") from None
            if parts.get("face_value") not in (None, order.face_value):
                raise click.BadParameter("%s encodes face value %s, not %s" % (
                    number, fmt_yuan(parts["face_value"]), fmt_yuan(order.face_value)), param_hint="--number")
        try:
            ledger.cards.card(number)
        except NotFound:
            continue
        raise Failure("card number %s is already registered: a pre-printed number is used once" % number)


def _run_batch(station, reader, order, count, until_empty, card_timeout, quiet):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err,
                  disable=quiet or not err.is_terminal, transient=False) as bar:
        cards = bar.add_task("cards", total=count)
        steps = bar.add_task("card 1", total=1)

        def on_progress(index, done, total):
            bar.update(steps, description="card %d" % (index + 1), completed=done, total=total)

        def on_card(result):
            bar.update(cards, advance=1)
            if not quiet and not err.is_terminal:
                err.print("%s %s %s" % (result.uid, result.card_number or "-", result.outcome))

        try:
            return station.personalise_batch(reader, order, count=count, until_empty=until_empty,
                                             card_timeout=card_timeout, on_card=on_card, progress=on_progress)
        except CardGone:
            if count and count > 1:
                raise
            return []


def _result_table(results, order):
    out = console(160)
    table = Table(title="personalisation: %s, %s, %s" % (order.programme_id, order.kind, fmt_yuan(order.face_value)),
                  title_justify="left")
    for col in ("#", "UID", "card number", "result", "sectors", "what to do"):
        table.add_column(col, overflow="fold")
    for i, r in enumerate(results, 1):
        style = "green" if r.ok else "red"
        table.add_row(str(i), r.uid, r.card_number or "-", "[%s]%s[/%s]" % (style, r.outcome, style),
                      str(r.sectors_written), "" if r.ok else r.message)
    out.print(table)
    ok = sum(r.ok for r in results)
    out.print("%d of %d card(s) personalised and verified" % (ok, len(results)))


@card.command()
@click.option("--list", "list_only", is_flag=True, help="Only list the half-done personalisations of the journal "
                                                        "(no card needed).")
@counter_options()
def recover(session, list_only, as_json):
    """Finish what was left half-done on the card presented: a personalisation the journal says was
    started, a re-key or a move to layout v2 that reached the card, an interrupted top-up or a torn
    balance block (issuer key B). Everything done is audited."""
    if list_only:
        rows = [p for state in ("started", "damaged") for p in session.ledger().personalisation_records.personalisations(state)]
        if as_json:
            emit_json({"ok": True, "half_done": [{"uid": p.uid, "card_number": p.card_number, "state": p.state,
                                                  "programme": p.programme_id, "attempts": p.attempts,
                                                  "started_at": p.started_at.isoformat(), "note": p.note}
                                                 for p in rows]})
            return
        if not rows:
            click.echo("no half-done personalisation in the journal")
            return
        table = Table(title="half-done personalisations", title_justify="left")
        for col in ("UID", "card number", "state", "programme", "attempts", "started", "note"):
            table.add_column(col, overflow="fold")
        for p in rows:
            table.add_row(p.uid, p.card_number, p.state, p.programme_id, str(p.attempts),
                          p.started_at.strftime("%Y-%m-%d %H:%M"), p.note)
        console(160).print(table)
        click.echo("Present each card and run `icpurse card recover` to finish it.")
        return
    station = workstation(session)
    result = station.recover_card(session.card())
    if as_json:
        emit_json(dict(result.as_dict(), ok=True))
    else:
        click.echo("card %s (UID %s): balance %s, seq %s" % (
            result.card_number, result.uid, fmt_yuan(result.balance) if result.balance is not None else "-",
            result.seq))
        for a in result.actions:
            click.echo("  - %s" % a)
        for h in result.hints:
            click.echo("  ! %s" % h)


@card.command()
@counter_options()
def show(session, as_json):
    """Read the card on the reader: identity, balance, sequence, on-card log, and its ledger state."""
    doc = svc.show_card(session.card(), session.keyring(), session.ledger())
    if as_json:
        emit_json(dict(doc, ok=doc["status"] == "ok"))
    else:
        _print_card(doc)
    if doc["status"] != "ok":
        click.get_current_context().exit(Exit.CARD)


def _print_card(doc):
    out = console(160)
    if doc["status"] != "ok":
        out.print("card %s: %s" % (doc["uid"], doc["message"]))
        return
    table = Table(title="card %s (UID %s)" % (doc["card_number"], doc["uid"]), title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value")
    rows = [("issuer / programme no.", "%d / %d" % (doc["issuer"], doc["programme_code"])),
            ("issue code", doc["issue_code"] or "-"), ("named", "yes" if doc["named"] else "no"),
            ("issued", doc["issue_date"]), ("expires", doc["expiry"] or "no expiry"),
            ("key version", str(doc["key_version"])), ("balance", fmt_yuan(doc["balance"])), ("seq", str(doc["seq"]))]
    if doc["needs_recovery"]:
        rows.append(("attention", "balance block differs from the committed slot: run `icpurse card recover`"))
    led = doc.get("ledger")
    if led:
        rows += [("ledger", "%s, %s %s card, %s" % (led["state"], led["programme"], led["kind"],
                                                    fmt_yuan(led["face_value"]))),
                 ("ledger balance", fmt_yuan(led["outstanding_balance"])),
                 ("holder", led["holder"] or "-"), ("personalisation", led["personalisation"] or "-")]
    elif "ledger" in doc:
        rows.append(("ledger", "not in this ledger"))
    for k, v in rows:
        table.add_row(k, v)
    out.print(table)
    log = Table(title="on-card log (newest first)", title_justify="left")
    for col in ("seq", "kind", "amount", "balance", "terminal", "txn", "time"):
        log.add_column(col)
    for e in doc["log"]:
        when = cardtime.to_datetime(e["time"]).strftime("%Y-%m-%d %H:%M:%S")
        log.add_row(str(e["seq"]), e["kind_name"], fmt_yuan(e["amount"]), fmt_yuan(e["balance"]),
                    "%08d" % e["terminal"] if e["terminal"] else "issuer", str(e["txn"]), when + " UTC")
    out.print(log)
