"""Store terminals from the back office: provision, sign in (day open), collect the journal, day close.

Every function takes an open ledger, a link client (LinkClient on a serial port, or the rig's RigClient on
an in-process virtual reader) and what it needs; findings go to the ledger's exception list.

Journal collection is resumable and idempotent: records are verified (MAC and chain, as the reader
does), stored in the ledger batch by batch (one record per terminal and number), and acknowledged to
the reader only after they are stored. A link dropped anywhere loses nothing (unacknowledged records
stay on the reader) and duplicates nothing (the next collection starts after the last stored number;
a record stored twice is a no-op).
"""
import hashlib
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.host.ledger.errors import InvalidStateError, NotFound
from icpurse.host.terminals import journal_records as jv
from icpurse.protocol import cardtime
from icpurse.protocol.numbering import CardNumberError, card_number_to_bcd

FETCH_BATCH = 32


class TerminalError(Exception):
    """A terminal operation that cannot go on (wrong reader, disabled terminal, ...)."""

    exit_code = 1  # refused or failed (the icpurse command's exit code)


def _terminal_int(number: str) -> int:
    return int(number)


# --- provisioning ---------------------------------------------------------------------------------

def programme_settings(programme) -> dict:
    """Reader settings a programme dictates: the grace period after expiry (longest of its kinds;
    a month counts 31 days so the reader is never stricter than the programme)."""
    months = [t.grace.months for t in programme.terms.values() if t.grace is not None]
    return {"grace_days": 31 * max(months) if months else 0}


def provision(ledger, client, domain, operator, number, *, outlet=None, merchant=None, fixed_price=None,
              grace_days=0, txn_cap=0, daily_cap=0, now=None):
    """Bind the reader to terminal `number` (registered in the ledger if new), send its key set
    (current and previous version: sector A, purse MAC, its own journal key), set its clock and
    configure it as a store reader (transparent card access off). Returns a summary dict."""
    from icpurse.keys import exports

    try:
        term = ledger.store.terminal(number)
    except NotFound:
        if not outlet or not merchant:
            raise TerminalError("terminal %s is new: give its outlet and merchant" % number)
        term = ledger.store.add_terminal(operator, number, outlet, merchant, fixed_price=fixed_price)
    if term.status != "enabled":
        raise TerminalError("terminal %s is disabled" % number)
    price = fixed_price if fixed_price is not None else term.fixed_price
    export = exports.reader_keyset(domain, _terminal_int(number))
    versions = sorted(export.versions)
    for v in versions:  # older first, the current one last and made current
        k = export.versions[v]
        client.provision_keys(_terminal_int(number), v, k["sector_a"].material, k["purse_mac"].material,
                              k["journal"].material, make_current=(v == export.current))
    when = now or ledger.now()
    client.set_time(cardtime.seconds(when))
    settings = {"mode": "fixed-price" if price else "pos", "fixed_price": price or 0, "grace_days": grace_days,
                "txn_cap": txn_cap, "daily_cap": daily_cap, "issuer": domain.issuer, "transparent": False}
    client.configure(mode=codec.MODE_FIXED_PRICE if price else codec.MODE_POS, fixed_price=price or 0,
                     grace_days=grace_days, txn_cap=txn_cap, daily_cap=daily_cap, issuer=domain.issuer,
                     transparent=False)
    kcvs = {str(v): {n: key.kcv for n, key in export.versions[v].items()} for v in versions}
    ledger.store.record_provisioning(operator, number, key_versions=versions, kcvs=kcvs, settings=settings)
    info = client.info()
    if info["terminal"] != _terminal_int(number) or info["key_version"] != export.current:
        raise TerminalError("the reader did not take the provisioning (reports terminal %08d, key version %d)" % (
            info["terminal"], info["key_version"]))
    return {"terminal": number, "key_versions": versions, "current": export.current, "settings": settings,
            "kcvs": kcvs}


# --- sign-in (签到) --------------------------------------------------------------------------------

def _check_reader(client, number):
    info = client.info()
    if info["terminal"] != _terminal_int(number):
        raise TerminalError("this reader is terminal %08d, not %s" % (info["terminal"], number))
    return info


def blacklist_payload(ledger, version):
    """The blacklist at `version` as the reader stores it: 6-byte BCD card numbers."""
    out = []
    for item in ledger.blacklist.blacklist_entries(version):
        try:
            out.append(card_number_to_bcd(item.card_number))
        except CardNumberError:
            raise TerminalError("blacklisted card number %s cannot be sent to readers (12 digits expected)"
                                % item.card_number) from None
    return out


def _operator_id(ledger, operator):
    if operator is None:
        return 0
    name = operator if isinstance(operator, str) else operator.username
    for op in ledger.people.operators():
        if op.username == name:
            return op.id
    raise NotFound("no operator %r" % name)


def sign_in(ledger, client, operator, number, now=None):
    """Day open: time sync, the current blacklist version downloaded (chunked, atomic on the
    reader), then SIGN_IN naming that version (the reader refuses if it holds an older one)."""
    term = ledger.store.terminal(number)
    if term.status != "enabled":
        raise TerminalError("terminal %s is disabled: it may not sign in" % number)
    info = _check_reader(client, number)
    when = now or ledger.now()
    t = cardtime.seconds(when)
    version = ledger.blacklist.blacklist_version()
    client.set_time(t)
    # sent whole every day, even when the reader reports this version: its copy is not MAC'd
    client.load_blacklist(version, blacklist_payload(ledger, version))
    result = client.sign_in(t, _operator_id(ledger, operator), version)
    ledger.store.record_sign_in(operator, number, reader_time=t, blacklist_version=version, day=result["day"],
                          batch=result["batch"], first_number=info["journal_next"])
    return {"terminal": number, "blacklist_version": version, "day": result["day"], "batch": result["batch"],
            "time": when}


# --- journal collection ---------------------------------------------------------------------------

@dataclass
class CollectReport:
    terminal: str
    stored: int = 0
    duplicates: int = 0
    acked: int = 0
    last_number: int = 0
    problems: list = field(default_factory=list)  # journal.Problem
    findings: list = field(default_factory=list)  # ExceptionView ids added

    @property
    def clean(self):
        return not self.problems


def _fingerprint(*parts):
    return ":".join(str(p) for p in parts)


def _digest(raw):
    return hashlib.sha256(bytes(raw)).hexdigest()[:16]


def report_problem(ledger, number, problem, source="collect"):
    """Put a journal problem on the exception list (once)."""
    kinds = {"mac": "journal_tampered", "chain": "journal_tampered", "terminal": "journal_tampered",
             "number": "journal_number_reuse", "gap": "journal_gap", "key": "journal_unverifiable"}
    kind = kinds.get(problem.kind, "journal_tampered")
    fp = _fingerprint("journal", number, problem.kind, problem.number, _digest(problem.raw) if problem.raw else "-")
    ev, _ = ledger.store.add_exception(fp, kind, "terminal %s: %s" % (number, problem.detail), terminal=number,
                                 evidence=dict(problem.evidence(), source=source))
    return ev


def _last_mac(ledger, number, last):
    if last == 0:
        return jv.ZERO_MAC
    recs = ledger.store.journal_records(number, from_number=last)
    return jv.decode(recs[0].raw).mac if recs else None


def collect(ledger, client, keys, number, batch=FETCH_BATCH):
    """Fetch the reader's journal from the first number not yet stored, verify, store, acknowledge.
    `keys`: {key_version: this terminal's journal key}. Returns a CollectReport."""
    info = _check_reader(client, number)
    term = _terminal_int(number)
    report = CollectReport(number)
    last = ledger.store.last_journal_number(number)
    reader_last = info["journal_next"] - 1
    if reader_last < last:
        # The reader's numbering went back: its journal was reset or replaced. Whatever it still has
        # under numbers we stored is compared record by record (no-op if equal, a finding if not).
        _compare_reused(ledger, client, keys, number, report)
        report.last_number = last
        return report
    prev_mac = _last_mac(ledger, number, last)
    while True:
        raws = client.fetch_journal(last + 1, batch)
        if not raws:
            break
        good, problems = jv.verify_sequence(raws, term, keys, last, prev_mac)
        if problems and problems[0].kind == "gap" and problems[0].number == last + 1:
            stored_last = ledger.store.last_journal_number(number)
            if stored_last > last:
                # not a gap: another workstation collecting this reader at the same time stored and
                # acknowledged those records (the reader freed them); go on after what is stored
                last, prev_mac = stored_last, _last_mac(ledger, number, stored_last)
                continue
        if good:
            res = ledger.store.store_journal_records(number, good)
            report.stored += res.stored
            report.duplicates += res.duplicates
            for num, old, new in res.conflicts:
                problems.append(jv.Problem("number", num, "record %d differs from the one collected before "
                                           "(number reused or record edited)" % num, new))
            if not res.conflicts:
                last = good[-1].number
                prev_mac = good[-1].mac
                client.ack_journal(last)  # only after the records are in the ledger
                report.acked = last
        for p in problems:
            report.problems.append(p)
            report.findings.append(report_problem(ledger, number, p).id)
        if any(p.kind != "gap" for p in problems) or not good:
            break  # nothing after a bad record is taken or acknowledged
    if info["journal_acked"] < last and report.acked < last:
        client.ack_journal(last)  # an earlier collection stored these but lost the link before its ACK
        report.acked = last
    report.last_number = last
    return report


def _compare_reused(ledger, client, keys, number, report):
    first = 1
    while True:
        raws = client.fetch_journal(first, FETCH_BATCH)
        if not raws:
            break
        recs = []
        for raw in raws:
            try:
                recs.append(jv.decode(raw))
            except ValueError:
                break
        if not recs:
            break
        res = ledger.store.store_journal_records(number, [r for r in recs if jv.mac_ok(r.raw, _terminal_int(number), keys)])
        report.duplicates += res.duplicates
        report.stored += res.stored
        for num, old, new in res.conflicts:
            p = jv.Problem("number", num, "record %d differs from the one collected before (the reader's journal "
                                          "was reset: number reused)" % num, new)
            report.problems.append(p)
            report.findings.append(report_problem(ledger, number, p).id)
        first = recs[-1].number + 1
    if not report.problems:
        p = jv.Problem("number", first, "the reader's journal ends before the records already collected "
                                        "(journal reset or replaced)")
        report.problems.append(p)
        report.findings.append(report_problem(ledger, number, p).id)


# --- day close (日切) -----------------------------------------------------------------------------

def journal_totals(ledger, number, first, last):
    """(count, sum) of COMMITTED debit records numbered first..last in the collected journal —
    the same rule as the reader's Journal.totals."""
    count = total = 0
    for r in ledger.store.journal_records(number, from_number=first):
        if r.number > last:
            break
        if r.state == codec.JR_COMMITTED and r.kind == codec.TXN_DEBIT:
            count += 1
            total += r.amount
    return count, total


def day_close(ledger, client, keys, operator, number):
    """Collect, close the reader's day, collect again, and check the reader's batch totals against the
    collected journal. A difference goes on the exception list. Returns (BatchView, CollectReport)."""
    report = collect(ledger, client, keys, number)
    totals = client.day_close()
    again = collect(ledger, client, keys, number)
    report.stored += again.stored
    report.problems += again.problems
    report.findings += again.findings
    first, last = totals["first_number"], totals["last_number"]
    count, total = journal_totals(ledger, number, first, last)
    if ledger.store.last_journal_number(number) < last:
        missing = "records up to %d not collected" % last
    else:
        missing = ""
    batch = ledger.store.record_day_close(operator, number, day=totals["day"], batch=totals["batch"], first_number=first,
                                    last_number=last, reader_count=totals["debit_count"],
                                    reader_sum=totals["debit_sum"], journal_count=count, journal_sum=total)
    if not batch.balanced or missing:
        ev, _ = ledger.store.add_exception(
            _fingerprint("dayclose", number, totals["batch"]), "day_close_difference",
            "terminal %s batch %d: reader %d debits / %d fen, journal %d / %d fen%s" % (
                number, totals["batch"], totals["debit_count"], totals["debit_sum"], count, total,
                "; " + missing if missing else ""),
            terminal=number, amount=totals["debit_sum"] - total,
            evidence={"reader": totals, "journal": {"count": count, "sum": total}})
        report.findings.append(ev.id)
    return batch, report


def require_enabled(ledger, number):
    term = ledger.store.terminal(number)
    if term.status != "enabled":
        raise InvalidStateError("terminal %s is disabled" % number)
    return term
