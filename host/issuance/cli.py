"""`icpurse stock|card|sale|readers`: the issuance counter's commands.

Every command that touches the ledger signs the operator in (--operator / ICPURSE_OPERATOR, password
from ICPURSE_OPERATOR_PASSWORD or a hidden prompt); card commands open the issuer keystore
(--keystore / ICPURSE_KEYSTORE, passphrase ICPURSE_KEYSTORE_PASSPHRASE or a prompt; `--keystore demo`
= the built-in INSECURE DEMO KEYS) and a reader (--reader / ICPURSE_READER). --json prints one JSON
document for scripts. Exit codes (host/cli.py): 0 ok, 1 refused, 2 usage, 3 no reader, 4 card
error, 5 integrity problem (stock count differences, a card contradicting itself or the ledger).
"""
from __future__ import annotations

import functools
import json
import os
import sys

import click
from rich.console import Console
from rich.table import Table

from icpurse.firmware.mifare import MifareError, TagGone
from icpurse.host.issuance import service as svc
from icpurse.host.ledger import AuthenticationError, HolderInfo, LedgerError, Refused, open_ledger
from icpurse.host.ledger.options import db_option
from icpurse.host.programmes import ProgrammeFileError, load_programmes
from icpurse.host.programmes.model import PAYMENT_METHODS
from icpurse.host.readers import NoReader, list_readers, open_reader
from icpurse.keys import demo as demo_keys
from icpurse.keys import exports, keystore
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.numbering import CardNumberError, IssueCodeError, parse_issue_code

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_READER, EXIT_CARD, EXIT_INTEGRITY = 0, 1, 2, 3, 4, 5
OPERATOR_ENV, PASSWORD_ENV = "ICPURSE_OPERATOR", "ICPURSE_OPERATOR_PASSWORD"
DATA_KEY_ENV = "ICPURSE_DATA_KEY"
DEMO = "demo"


class Failure(click.ClickException):
    """A clear one-line refusal with its exit code (and a JSON document under --json)."""

    def __init__(self, message, code=EXIT_FAILED):
        super().__init__(message)
        self.exit_code = code


def _console():
    console = Console()
    return console if console.is_terminal else Console(width=160)


def _emit_json(doc):
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


def _guard(fn):
    """Library errors -> a message saying what to do next, and the documented exit code."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = kwargs.get("as_json", False)
        try:
            return fn(*args, **kwargs)
        except Failure as e:
            failure = e
        except NoReader as e:
            failure = Failure(str(e), EXIT_NO_READER)
        except keystore.WrongPassphrase:
            failure = Failure("wrong keystore passphrase (or a corrupted keystore): nothing was done; check "
                              "ICPURSE_KEYSTORE_PASSPHRASE", EXIT_FAILED)
        except keystore.KeystoreError as e:
            failure = Failure("keystore: %s" % e, EXIT_INTEGRITY if str(e).startswith("corrupted") else EXIT_FAILED)
        except AuthenticationError as e:
            failure = Failure("%s: nothing was done" % e, EXIT_FAILED)
        except svc.IntegrityError as e:
            failure = Failure(str(e), EXIT_INTEGRITY)
        except svc.IssuanceError as e:
            failure = Failure(str(e), EXIT_CARD if e.card_error else EXIT_FAILED)
        except (Refused, LedgerError) as e:
            failure = Failure("refused: %s" % e, EXIT_FAILED)
        except TagGone as e:
            failure = Failure("no card on the reader (%s): put the card on the reader and try again" % e, EXIT_CARD)
        except MifareError as e:
            failure = Failure("card error: %s: present the card again" % e, EXIT_CARD)
        except (CardNumberError, IssueCodeError, ProgrammeFileError) as e:
            failure = Failure(str(e), EXIT_USAGE)
        if as_json:
            _emit_json({"ok": False, "error": failure.message, "exit_code": failure.exit_code})
        raise failure
    return wrapper


# --- common options -------------------------------------------------------------------------------

def _reader_opt(f):
    return click.option("--reader", "reader_spec", envvar="ICPURSE_READER", metavar="SPEC",
                        help="pcsc[:NAME] | serial:/dev/ttyUSB0 | sim[:DIR] (env ICPURSE_READER); "
                             "`icpurse readers` lists them.")(f)


def _keystore_opt(f):
    return click.option("--keystore", "keystore_path", envvar="ICPURSE_KEYSTORE", metavar="FILE",
                        help="Issuer keystore (env ICPURSE_KEYSTORE; passphrase from %s or a prompt). "
                             "'demo' = the built-in INSECURE DEMO KEYS (tests and demos only)."
                             % keystore.PASSPHRASE_ENV)(f)


def _operator_opt(f):
    return click.option("--operator", envvar=OPERATOR_ENV, metavar="NAME",
                        help="Operator signing in (env %s; password from %s or a prompt)." % (
                            OPERATOR_ENV, PASSWORD_ENV))(f)


def _json_opt(f):
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document (for scripts).")(f)


def _common(keys=False, reader=False):
    def deco(f):
        f = _json_opt(f)
        f = _operator_opt(f)
        f = db_option(f)
        if keys:
            f = _keystore_opt(f)
        if reader:
            f = _reader_opt(f)
        return f
    return deco


class Counter:
    """What a command needs, opened on first use: keys, ledger, the signed-in operator, a reader."""

    def __init__(self, db=None, operator=None, keystore_path=None, reader_spec=None, as_json=False):
        self.db, self.operator_name, self.keystore_path = db, operator, keystore_path
        self.reader_spec, self.as_json = reader_spec, as_json
        self._domain = self._ledger = self._reader = None
        self.operator = None

    def domain(self):
        if self._domain is None:
            path = self.keystore_path
            if not path:
                raise Failure("no keystore: pass --keystore FILE (or set ICPURSE_KEYSTORE); `--keystore demo` "
                              "uses the INSECURE DEMO KEYS")
            if path == DEMO:
                self._domain = demo_keys.demo_domain()
            else:
                if not os.path.exists(path):
                    raise Failure("keystore %s not found: check --keystore / ICPURSE_KEYSTORE" % path)
                passphrase = os.environ.get(keystore.PASSPHRASE_ENV) or click.prompt(
                    "Keystore passphrase", hide_input=True, err=True)
                self._domain = keystore.load_keystore(path, passphrase)
            if self._domain.demo:
                click.secho("*** %s: for the demo and tests only, never for real cards ***" % demo_keys.WARNING,
                            fg="red", bold=True, err=True)
        return self._domain

    def data_key(self):
        """The ledger data key (holder ID numbers): $ICPURSE_DATA_KEY (hex), else derived from the
        keystore's back-office journal master of its first key version (HKDF, own label)."""
        env = os.environ.get(DATA_KEY_ENV)
        if env:
            try:
                key = bytes.fromhex(env)
            except ValueError:
                raise Failure("%s must be hex (>= 16 bytes)" % DATA_KEY_ENV) from None
            return key
        if not self.keystore_path:
            return None
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        domain = self.domain()
        master = domain.version(min(domain.versions))["journal"].material
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"icpurse ledger data key").derive(master)

    def ledger(self):
        if self._ledger is None:
            self._ledger = open_ledger(self.db, data_key=self.data_key())
        return self._ledger

    def sign_in(self):
        if self.operator is None:
            name = self.operator_name or click.prompt("Operator", err=True)
            password = os.environ.get(PASSWORD_ENV) or click.prompt("Password for %s" % name, hide_input=True,
                                                                    err=True)
            self.operator = self.ledger().people.authenticate_operator(name, password)
        return self.operator

    def workstation(self):
        op = self.sign_in()
        domain = self.domain()
        export = exports.workstation_keyset(domain)
        return svc.Workstation(self.ledger(), export.to_keysets(), domain.issuer, op.username, domain.current)

    def keyring(self):
        return exports.workstation_keyset(self.domain()).to_keyring()

    def reader(self):
        if self._reader is None:
            self._reader = open_reader(self.reader_spec)
        return self._reader

    def card(self, timeout=10.0):
        """The card on the reader (waiting up to `timeout` s)."""
        reader = self.reader()
        try:
            return reader.wait_for_card(timeout)
        except TagGone:
            raise svc.CardGoneError("no card on %s within %.0f s: put the card on the reader and run the command "
                                    "again" % (reader, timeout)) from None
        except MifareError as e:
            raise svc.CardTypeError("the reader cannot use this card (%s): present a MIFARE Classic card" % e) from None
        except Exception as e:  # a transparent-mode refusal of an icpurse serial reader, a PC/SC error
            raise svc.IssuanceError("%s cannot read cards: %s. An icpurse serial reader must be configured for "
                                    "issuance (transparent card access) first" % (reader, e)) from None

    def close(self):
        if self._reader is not None:
            self._reader.close()
        if self._ledger is not None:
            self._ledger.close()


def _counter(kwargs):
    return Counter(kwargs.get("db"), kwargs.get("operator"), kwargs.get("keystore_path"), kwargs.get("reader_spec"),
                   kwargs.get("as_json", False))


def _uids(uids, uids_file):
    out = list(uids)
    if uids_file:
        with open(uids_file, encoding="utf-8") as f:
            out += [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]
    return out


def _scan(counter, timeout):
    """UIDs of the cards presented one after the other until none comes within `timeout` s."""
    reader = counter.reader()
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
            if not counter.as_json:
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
    f = click.option("--uid", "uids", multiple=True, metavar="HEX", help="A card UID (repeatable).")(f)
    f = click.option("--card-timeout", type=float, default=10.0, show_default=True,
                     help="Seconds to wait for the next card.")(f)
    return f


def _collect_uids(counter, uids, uids_file, scan, card_timeout):
    found = _uids(uids, uids_file)
    if scan:
        found += [u for u in _scan(counter, card_timeout) if u not in found]
    return found


# --- stock ------------------------------------------------------------------------------------------

@click.group()
def stock():
    """Blank-card stock: receive (验收入库), issue to a sales point (领用/发出), count (盘点)."""


@stock.command()
@click.option("--batch", required=True, help="The delivery's batch reference (e.g. B-2026-001).")
@click.option("--count", "count", type=click.IntRange(1), default=None,
              help="Receive this many cards whose UIDs are not known yet (each is identified when first read, "
                   "e.g. `card personalise --batch REF`).")
@click.option("--note", default="", help="Free text kept with the batch.")
@_uid_sources
@_common(reader=True)
@_guard
def receive(batch, count, note, uids, uids_file, scan, card_timeout, **kw):
    """Receive blank cards into stock: by UID (--uid, --uids-file, --scan) and/or by --count."""
    counter = _counter(kw)
    try:
        found = _collect_uids(counter, uids, uids_file, scan, card_timeout)
        if not found and count is None:
            raise click.UsageError("give the cards' UIDs (--uid / --uids-file / --scan) or their --count")
        counter.sign_in()
        counter.ledger().stock.receive_stock(counter.operator.username, batch, found, note=note, count=count)
        doc = {"ok": True, "batch": batch, "received": count if count is not None else len(found), "uids": found}
        if kw["as_json"]:
            _emit_json(doc)
        else:
            click.echo("batch %s: %d card(s) received into stock%s" % (
                batch, doc["received"], " (%d identified by UID)" % len(found) if count is not None else ""))
    finally:
        counter.close()


@stock.command("issue")
@click.option("--point", required=True, help="The sales point code receiving the cards.")
@_uid_sources
@_common(reader=True)
@_guard
def issue_cmd(point, uids, uids_file, scan, card_timeout, **kw):
    """Move cards from the warehouse to a sales point (领用/发出)."""
    counter = _counter(kw)
    try:
        found = _collect_uids(counter, uids, uids_file, scan, card_timeout)
        if not found:
            raise click.UsageError("give the cards' UIDs (--uid / --uids-file / --scan)")
        counter.sign_in()
        n = counter.ledger().stock.issue_to_point(counter.operator.username, found, point)
        if kw["as_json"]:
            _emit_json({"ok": True, "point": point, "issued": n, "uids": found})
        else:
            click.echo("%d card(s) issued to sales point %s" % (n, point))
    finally:
        counter.close()


@stock.command("count")
@click.option("--point", default=None, help="Count a sales point's cards instead of the warehouse.")
@_uid_sources
@_common(reader=True)
@_guard
def count_cmd(point, uids, uids_file, scan, card_timeout, **kw):
    """Stock count (盘点): compare the cards physically present with the ledger. Exit 5 when there are
    differences (missing, at another place, unknown)."""
    counter = _counter(kw)
    try:
        found = _collect_uids(counter, uids, uids_file, scan, card_timeout)
        counter.sign_in()
        result = counter.ledger().stock.count_stock(counter.operator.username, found, point)
        doc = {"ok": result.ok, "location": result.location, "expected": result.expected, "counted": result.counted,
               "missing": result.missing, "unexpected": [{"uid": u, "ledger": w} for u, w in result.unexpected],
               "unknown": result.unknown, "unidentified_expected": result.unidentified,
               "unidentified_present": result.unidentified_present,
               "unidentified_missing": result.missing_unidentified}
        if kw["as_json"]:
            _emit_json(doc)
        else:
            console = _console()
            console.print("stock count at %s: %d expected, %d counted" % (result.location, result.expected,
                                                                         result.counted))
            if result.ok:
                console.print("[green]no differences[/green]")
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
                console.print(table)
                console.print("Report the differences; find the missing cards before issuing more.")
        if not result.ok:
            sys.exit(EXIT_INTEGRITY)
    finally:
        counter.close()


# --- card ---------------------------------------------------------------------------------------

@click.group()
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
@click.option("--face-value", type=click.IntRange(1), default=None, metavar="FEN",
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
@click.option("--card-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for a card.")
@_common(keys=True, reader=True)
@_guard
def personalise(programme_id, programmes_file, override_reason, kind, face_value, issue_code, platform, card_type,
                allow_7byte_uid, batch, count, until_empty, card_timeout, **kw):
    """Turn blank cards into cards of a programme: keys, MAD, identity, empty purse, verified.

    Journaled: the card number is reserved in the ledger before the first write and the card is
    marked done only after reading it back. A card pulled at any point is finished the next time
    it is presented (same number); `icpurse card recover` lists and finishes half-done ones.
    Exit 4 when a card was refused, interrupted or damaged (see the table)."""
    if count and until_empty:
        raise click.UsageError("--count and --until-empty exclude each other")
    counter = _counter(kw)
    try:
        station = counter.workstation()
        ledger = counter.ledger()
        if programmes_file:
            progs = {p.id: p for p in load_programmes(programmes_file)}
            if programme_id not in progs:
                raise Failure("%s defines no programme %s (it has %s)" % (programmes_file, programme_id,
                                                                          ", ".join(sorted(progs))))
            station.register_programme(progs[programme_id], override_reason)
        order = _order(ledger, programme_id, kind, face_value, issue_code, platform, card_type, allow_7byte_uid,
                       batch)
        reader = counter.reader()
        results = _run_batch(station, reader, order, count or (None if until_empty else 1), until_empty,
                             card_timeout, kw["as_json"])
        failed = [r for r in results if not r.ok]
        if kw["as_json"]:
            _emit_json({"ok": not failed and bool(results), "programme": order.programme_id,
                        "personalised": len(results) - len(failed), "failed": len(failed),
                        "cards": [r.as_dict() for r in results]})
        else:
            _result_table(results, order)
        if not results:
            raise Failure("no card was presented within %.0f s: put a blank on the reader" % card_timeout, EXIT_CARD)
        if failed:
            sys.exit(EXIT_CARD)
    finally:
        counter.close()


def _run_batch(station, reader, order, count, until_empty, card_timeout, quiet):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console,
                  disable=quiet or not console.is_terminal, transient=False) as bar:
        cards = bar.add_task("cards", total=count)
        steps = bar.add_task("card 1", total=1)

        def on_progress(index, done, total):
            bar.update(steps, description="card %d" % (index + 1), completed=done, total=total)

        def on_card(result):
            bar.update(cards, advance=1)
            if not quiet and not console.is_terminal:
                console.print("%s %s %s" % (result.uid, result.card_number or "-", result.outcome))

        try:
            return station.personalise_batch(reader, order, count=count, until_empty=until_empty,
                                             card_timeout=card_timeout, on_card=on_card, progress=on_progress)
        except svc.CardGoneError:
            if count and count > 1:
                raise
            return []


def _result_table(results, order):
    console = _console()
    table = Table(title="personalisation: %s, %s, %s" % (order.programme_id, order.kind, fmt_yuan(order.face_value)),
                  title_justify="left")
    for col in ("#", "UID", "card number", "result", "sectors", "what to do"):
        table.add_column(col, overflow="fold")
    for i, r in enumerate(results, 1):
        style = "green" if r.ok else "red"
        table.add_row(str(i), r.uid, r.card_number or "-", "[%s]%s[/%s]" % (style, r.outcome, style),
                      str(r.sectors_written), "" if r.ok else r.message)
    console.print(table)
    ok = sum(r.ok for r in results)
    console.print("%d of %d card(s) personalised and verified" % (ok, len(results)))


@card.command()
@click.option("--list", "list_only", is_flag=True, help="Only list the half-done personalisations of the journal "
                                                        "(no card needed).")
@_common(keys=True, reader=True)
@_guard
def recover(list_only, **kw):
    """Finish what was left half-done on the card presented: a personalisation the journal says was
    started, an interrupted top-up or a torn balance block (issuer key B). Everything done is audited."""
    counter = _counter(kw)
    try:
        if list_only:
            rows = [p for state in ("started", "damaged") for p in counter.ledger().personalisation_records.personalisations(state)]
            if kw["as_json"]:
                _emit_json({"ok": True, "half_done": [{"uid": p.uid, "card_number": p.card_number, "state": p.state,
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
            _console().print(table)
            click.echo("Present each card and run `icpurse card recover` to finish it.")
            return
        station = counter.workstation()
        result = station.recover_card(counter.card())
        if kw["as_json"]:
            _emit_json(dict(result.as_dict(), ok=True))
        else:
            click.echo("card %s (UID %s): balance %s, seq %s" % (
                result.card_number, result.uid, fmt_yuan(result.balance) if result.balance is not None else "-",
                result.seq))
            for a in result.actions:
                click.echo("  - %s" % a)
            for h in result.hints:
                click.echo("  ! %s" % h)
    finally:
        counter.close()


@card.command()
@_common(keys=True, reader=True)
@_guard
def show(**kw):
    """Read the card on the reader: identity, balance, sequence, on-card log, and its ledger state."""
    counter = _counter(kw)
    try:
        doc = svc.show_card(counter.card(), counter.keyring(), counter.ledger())
        if kw["as_json"]:
            _emit_json(dict(doc, ok=doc["status"] == "ok"))
        else:
            _print_card(doc)
        if doc["status"] != "ok":
            sys.exit(EXIT_CARD)
    finally:
        counter.close()


def _print_card(doc):
    console = _console()
    if doc["status"] != "ok":
        console.print("card %s: %s" % (doc["uid"], doc["message"]))
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
    console.print(table)
    log = Table(title="on-card log (newest first)", title_justify="left")
    for col in ("seq", "kind", "amount", "balance", "terminal", "txn", "time"):
        log.add_column(col)
    for e in doc["log"]:
        when = cardtime.to_datetime(e["time"]).strftime("%Y-%m-%d %H:%M:%S")
        log.add_row(str(e["seq"]), e["kind_name"], fmt_yuan(e["amount"]), fmt_yuan(e["balance"]),
                    "%08d" % e["terminal"] if e["terminal"] else "issuer", str(e["txn"]), when + " UTC")
    console.print(log)


# --- sale ---------------------------------------------------------------------------------------

@click.group()
def sale():
    """Sell a card (seller), confirm its payment (finance), activate it (another role than the seller)."""


def _card_number(counter, card_number):
    """The number given, else the one on the card on the reader."""
    if card_number:
        return card_number
    if not counter.reader_spec and not os.environ.get("ICPURSE_READER"):
        raise click.UsageError("give the CARD_NUMBER, or a --reader with the card on it")
    doc = svc.show_card(counter.card(), counter.keyring())
    if doc["status"] != "ok":
        raise svc.CardError("card %s: %s" % (doc["uid"], doc["message"]))
    return doc["card_number"]


def _sale_doc(view):
    return {"ok": True, "sale": view.id, "card_number": view.card_number, "seller": view.seller,
            "amount": view.amount, "payment_method": view.payment_method, "state": view.state}


@sale.command()
@click.argument("card_number", required=False)
@click.option("--payment", type=click.Choice(PAYMENT_METHODS), default="cash", show_default=True)
@click.option("--buyer", type=click.Choice(["individual", "unit"]), default="individual", show_default=True)
@click.option("--remote", is_flag=True, help="A remote sale (non-cash payment required).")
@click.option("--purchase-total", type=click.IntRange(1), default=None, metavar="FEN",
              help="The whole purchase this card is part of, in fen (real-name and non-cash thresholds).")
@click.option("--payer-account", default=None, help="Payer's account name/number (non-cash payments).")
@click.option("--holder-name", default=None, help="Real-name capture: holder (or unit contact) name.")
@click.option("--holder-id", default=None, help="Real-name capture: ID number (stored encrypted).")
@click.option("--holder-id-type", default="resident-id", show_default=True)
@click.option("--holder-contact", default="", help="Real-name capture: phone or address.")
@click.option("--unit-name", default=None, help="Buying unit (company) name.")
@_common(keys=True, reader=True)
@_guard
def record(card_number, payment, buyer, remote, purchase_total, payer_account, holder_name, holder_id, holder_id_type,
           holder_contact, unit_name, **kw):
    """Record the sale of a card at its face value (the operator must be a seller). Named cards and
    large purchases need real-name capture; large and remote purchases a non-cash payment."""
    counter = _counter(kw)
    try:
        number = _card_number(counter, card_number)
        op = counter.sign_in()
        ledger = counter.ledger()
        view = ledger.cards.card(number)
        if view.kind == "named" and not (holder_name and holder_id) and sys.stdin.isatty() and not kw["as_json"]:
            click.echo("card %s is a named card: real-name capture" % number, err=True)
            holder_name = holder_name or click.prompt("holder name", err=True)
            holder_id = holder_id or click.prompt("ID number", hide_input=True, err=True)
            holder_contact = holder_contact or click.prompt("contact", default="", err=True)
        holder = None
        if holder_name or holder_id:
            if not (holder_name and holder_id):
                raise click.UsageError("real-name capture needs both --holder-name and --holder-id")
            holder = HolderInfo(holder_name, holder_id, holder_contact, holder_id_type, unit_name)
        try:
            result = ledger.sales.record_sale(op.username, number, payment_method=payment, buyer=buyer, remote=remote,
                                        holder=holder, purchase_total=purchase_total, payer_account=payer_account)
        except LedgerError as e:
            if "real-name" in str(e):
                raise Failure("refused: %s: pass --holder-name and --holder-id" % e) from None
            if "non-cash" in str(e) or "does not accept" in str(e):
                raise Failure("refused: %s: take a non-cash payment (--payment bank_transfer ... --payer-account)"
                              % e) from None
            raise
        if kw["as_json"]:
            _emit_json(_sale_doc(result))
        else:
            click.echo("card %s sold by %s for %s (%s); next: finance confirms the payment "
                       "(`icpurse sale confirm-payment %s`)" % (number, result.seller, fmt_yuan(result.amount),
                                                                  payment, number))
    finally:
        counter.close()


@sale.command("confirm-payment")
@click.argument("card_number", required=False)
@click.option("--reference", default="", help="Bank or till reference of the payment.")
@_common(keys=True, reader=True)
@_guard
def confirm_payment(card_number, reference, **kw):
    """收款: finance confirms the sale's money was received (books it against the card)."""
    counter = _counter(kw)
    try:
        number = _card_number(counter, card_number)
        op = counter.sign_in()
        result = counter.ledger().sales.confirm_payment(op.username, number, reference)
        if kw["as_json"]:
            _emit_json(_sale_doc(result))
        else:
            click.echo("payment of %s for card %s confirmed by %s; next: activate it (`icpurse sale activate %s`, an "
                       "operator of another role than the seller)" % (fmt_yuan(result.amount), number, op.username,
                                                                      number))
    finally:
        counter.close()


@sale.command()
@click.argument("card_number", required=False)
@_common(keys=True, reader=True)
@_guard
def activate(card_number, **kw):
    """开通: activate a paid card (the operator's role must differ from the seller's) and load its
    face value onto the card on the reader. Without the card the ledger part is done and
    `icpurse card recover` loads the value when the card is presented."""
    counter = _counter(kw)
    try:
        number = _card_number(counter, card_number)
        ws = counter.workstation()
        view, balance = ws.activate(number)  # the ledger decides first: refusals never wait for a card
        try:
            tag = counter.card(timeout=5.0)
        except (svc.CardGoneError, NoReader):
            tag = None
        if tag is not None:
            balance = ws.load_face_value(tag, number)
        op = ws.operator
        if kw["as_json"]:
            _emit_json({"ok": True, "card_number": view.card_number, "state": view.state, "activated_by": op,
                        "card_balance": balance})
        elif balance is None:
            click.echo("card %s activated by %s; no card on the reader: present it and run `icpurse card recover` "
                       "to load its face value" % (number, op))
        else:
            click.echo("card %s activated by %s: face value loaded, balance %s" % (number, op, fmt_yuan(balance)))
    finally:
        counter.close()


# --- readers ------------------------------------------------------------------------------------

@click.command()
@_json_opt
def readers(as_json):
    """List the card readers visible now (use one with --reader SPEC or ICPURSE_READER)."""
    found = list_readers()
    if as_json:
        _emit_json({"ok": True, "readers": [{"spec": s, "description": d} for s, d in found]})
        return
    table = Table(title="card readers", title_justify="left")
    table.add_column("--reader")
    table.add_column("description")
    for spec, desc in found:
        table.add_row(spec, desc)
    _console().print(table)
