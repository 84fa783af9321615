"""Store terminals from the back office: provision, sign in (day open), collect the journal, day close.

Every function takes an open ledger, a link client (LinkClient on a serial port, or the rig's RigClient on
an in-process virtual reader) and what it needs; findings go to the ledger's exception list.

Every request that changes the reader is signed with the terminal's link key (host/terminals/keys.py,
firmware/linkauth.py); sign-in sends the whole day configuration signed by the back office
(host/terminals/dayconfig.py).

Journal collection is resumable and idempotent: records are fetched from the reader
(`FETCH_BATCH` a request), each fetch verified as it arrives (MAC, as the reader does), and the
verified records of up to `STORE_BATCH` of them -- a stored batch -- stored in the ledger in one
transaction (one record per terminal and number), then acknowledged to the reader once, after that
commit, only up to the end of the whole, chained run after the last acknowledgement
(host/terminals/integrity.py): never past a gap. A link dropped anywhere loses nothing
(unacknowledged records stay on the reader; a batch not yet stored is fetched again) and duplicates
nothing (a record stored twice is a no-op). The reader's last record number and MAC are kept at
every contact, so records removed or renumbered on the reader are findings.
"""
import hashlib
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.host.ledger.errors import InvalidStateError, NotFound
from icpurse.host.terminals import dayconfig as signed
from icpurse.host.terminals import integrity
from icpurse.host.terminals import journal_records as jv
from icpurse.host.terminals import keys as tkeys
from icpurse.protocol import cardtime
from icpurse.protocol.numbering import CardNumberError, card_number_to_bcd

FETCH_BATCH = 32  # records per request to the reader (one link frame's worth)
# records stored per transaction (16 fetches): each commit is synced (docs/back-office.md,
# "Durability"), so its cost, not the records', sets the collection's rate
STORE_BATCH = 512


class TerminalError(Exception):
    """A terminal operation that cannot go on (wrong reader, disabled terminal, ...)."""

    exit_code = 1  # refused or failed (the icpurse command's exit code)


def check_number(number: str) -> int:
    """The terminal number as an int; TerminalError unless it is 8 digits, not all zero."""
    if not (isinstance(number, str) and len(number) == 8 and number.isdigit()) or int(number) == 0:
        raise TerminalError("a terminal number has 8 digits, not all zero: %r" % (number,))
    return int(number)


def _terminal_int(number: str) -> int:
    return int(number)


# --- provisioning ---------------------------------------------------------------------------------

programme_settings = signed.programme_settings  # the reader settings a programme dictates


def _contact(ledger, client, number, source, info=None):
    """The reader's INFO, its journal high-water mark kept in the ledger (host/terminals/integrity.py)."""
    info = info or client.info()
    if info["terminal"] == _terminal_int(number) and info["key_version"]:
        ledger.store.note_journal_mark(number, info["journal_next"] - 1, bytes(info["journal_last_mac"]), source)
    return info


def provision(ledger, client, domain, operator, number, *, outlet=None, merchant=None, fixed_price=None,
              grace_days=0, txn_cap=0, daily_cap=0, transparent=False, balance_cap=0, programme=None, now=None):
    """Bind the reader to terminal `number` (registered in the ledger if new), send its key set
    (current and previous version: sector A, purse MAC and its own journal, link and configuration
    keys), set its clock, its blacklist and a signed configuration (store reader: transparent card
    access off unless asked). A blank reader must have been through the lab's transport key ceremony
    (`transport_key`); a provisioned one is re-provisioned under its own link key. The client keeps
    signing with the new link key. Returns a summary dict.

    `programme`: the registered programme whose rules the reader sells by (grace, balance cap,
    per-sale and daily caps: read from it at every sign-in, dayconfig.settings_of); `txn_cap` /
    `daily_cap` then only make its caps stricter for this reader (0: the programme's). Without a
    programme the given values are the reader's rules."""
    from icpurse.keys import exports

    t_int = check_number(number)
    if programme is not None:
        ledger.programmes.programme(programme)  # NotFound for one that is not registered: nothing sent
    try:  # the key set first: a wrong one registers nothing
        export = exports.reader_keyset(domain, t_int)
    except exports.ExportError as e:
        raise tkeys.TerminalKeyError("%s: use the reader key set of terminal %s (`icpurse keys export --role reader "
                                     "--terminal %s`)" % (e, number, number)) from None
    try:
        term = ledger.store.terminal(number)
    except NotFound:
        term = None
        if not outlet or not merchant:
            raise TerminalError("terminal %s is new: give its outlet and merchant" % number)
    if term is not None and term.status != "enabled":
        raise TerminalError("terminal %s is disabled" % number)
    # the link first: a blank board without its transport key (the lab ceremony not done) registers
    # nothing, so the ceremony can follow for a terminal that does not exist yet
    tkeys.authenticate(client, domain, t_int)
    if term is None:
        term = ledger.store.add_terminal(operator, number, outlet, merchant, fixed_price=fixed_price)
    price = fixed_price if fixed_price is not None else term.fixed_price
    versions = sorted(export.versions)
    for v in versions:  # older first, the current one last and made current
        k = export.versions[v]
        own = tkeys.terminal_keys(domain, t_int, v)
        client.provision_keys(t_int, v, k["sector_a"].material, k["purse_mac"].material, k["journal"].material,
                              own["link"], own["config"], make_current=(v == export.current))
        tkeys.authenticate(client, domain, t_int)  # from now on the reader checks its own link key
    when = now or ledger.now()
    client.set_time(cardtime.seconds(when))
    settings = {"mode": "fixed-price" if price else "pos", "fixed_price": price or 0, "grace_days": grace_days,
                "txn_cap": txn_cap, "daily_cap": daily_cap, "issuer": domain.issuer, "transparent": bool(transparent),
                "balance_cap": balance_cap, "programme": programme,
                "clock_window": signed.CLOCK_WINDOW}
    kcvs = {str(v): {n: key.kcv for n, key in export.versions[v].items()} for v in versions}
    ledger.store.record_provisioning(operator, number, key_versions=versions, kcvs=kcvs, settings=settings)
    version, entries = _send_blacklist(ledger, client)
    info = client.info()
    client.configure(signed.signed_config(ledger, domain, number, info, when, version, entries))
    info = _contact(ledger, client, number, "provision")
    if info["terminal"] != t_int or info["key_version"] != export.current:
        raise TerminalError("the reader did not take the provisioning (reports terminal %08d, key version %d)" % (
            info["terminal"], info["key_version"]))
    return {"terminal": number, "key_versions": versions, "current": export.current,
            "settings": signed.settings_of(ledger, number), "kcvs": kcvs,
            "ring_partition": bool(info["ring_partition"])}


def set_use(ledger, client, domain, number, transparent: bool, now=None) -> dict:
    """Switch provisioned reader `number` between store and issuance use: a day configuration signed
    with its recorded settings and transparent card access on or off (the link authenticated first,
    the current blacklist sent with it, as at provisioning). It holds until the reader's next
    sign-in, which signs the recorded settings again (`terminal provision --issuance` records
    issuance use for good)."""
    term = ledger.store.terminal(number)
    if term.status != "enabled":
        raise TerminalError("terminal %s is disabled" % number)
    t_int = _terminal_int(number)
    _check_reader(client, number)
    tkeys.authenticate(client, domain, t_int)
    version, entries = _send_blacklist(ledger, client)
    info = client.info()
    client.configure(signed.signed_config(ledger, domain, number, info, now or ledger.now(), version, entries,
                                          transparent=bool(transparent)))
    return client.info()


def transport_key(ledger, domain, number) -> bytes:
    """The lab ceremony's key for the blank reader that becomes terminal `number` (docs/hardware.md):
    written into the board's NVS before it leaves the lab, used once by `provision`, then erased by
    the reader. The key is bound to the terminal number; a registered terminal must be enabled."""
    check_number(number)
    try:
        if ledger.store.terminal(number).status != "enabled":
            raise TerminalError("terminal %s is disabled" % number)
    except NotFound:
        pass  # registered at its provisioning
    return tkeys.transport_key(domain, _terminal_int(number))


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


def _send_blacklist(ledger, client):
    version = ledger.blacklist.blacklist_version()
    entries = blacklist_payload(ledger, version)
    # sent whole every day: the signed configuration names its digest, so the reader refuses to open
    # its day with any other list
    client.load_blacklist(version, entries)
    return version, entries


def _operator_id(ledger, operator):
    if operator is None:
        return 0
    name = operator if isinstance(operator, str) else operator.username
    for op in ledger.people.operators():
        if op.username == name:
            return op.id
    raise NotFound("no operator %r" % name)


def sign_in(ledger, client, operator, number, domain, now=None, **override):
    """Day open: the current blacklist downloaded (chunked, atomic on the reader), then SIGN_IN with
    the whole day configuration signed for this reader (time, business day, cut-off, clock window,
    mode, price, grace, caps, transparent access, blacklist version and digest). Whatever was
    changed on the reader since its last sign-in is replaced by what the back office signed."""
    term = ledger.store.terminal(number)
    if term.status != "enabled":
        raise TerminalError("terminal %s is disabled: it may not sign in" % number)
    t_int = _terminal_int(number)
    _check_reader(client, number)
    info = tkeys.authenticate(client, domain, t_int)
    _contact(ledger, client, number, "sign-in", info)
    when = now or ledger.now()
    version, entries = _send_blacklist(ledger, client)
    info = client.info()
    record = signed.signed_config(ledger, domain, number, info, when, version, entries, **override)
    result = client.sign_in(_operator_id(ledger, operator), record)
    ledger.store.record_sign_in(operator, number, reader_time=cardtime.seconds(when), blacklist_version=version,
                                day=result["day"], batch=result["batch"], first_number=result["first_number"])
    return {"terminal": number, "blacklist_version": version, "day": result["day"], "batch": result["batch"],
            "time": when}


def set_time(ledger, client, domain, number, when=None):
    """Correct the reader's clock (within the signed window backwards; a larger step needs a sign-in)."""
    tkeys.authenticate(client, domain, _terminal_int(number))
    client.set_time(cardtime.seconds(when or ledger.now()))


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


# journal problem -> exception kind: every one a terminal finding (the terminal is named, no card)
PROBLEM_KINDS = {"mac": "journal_tampered", "chain": "journal_tampered", "terminal": "journal_tampered",
                 "order": "journal_reordered", "number": "journal_number_reuse", "gap": "journal_gap",
                 "truncated": "journal_truncated", "key": "journal_unverifiable"}


def report_problem(ledger, number, problem, source="collect"):
    """Put a journal problem on the exception list (once)."""
    kind = PROBLEM_KINDS.get(problem.kind, "journal_tampered")
    fp = _fingerprint("journal", number, problem.kind, problem.number, _digest(problem.raw) if problem.raw else "-")
    ev, _ = ledger.store.add_exception(fp, kind, "terminal %s: %s" % (number, problem.detail), terminal=number,
                                 evidence=dict(problem.evidence(), source=source))
    return ev


def _report(ledger, number, report, problems):
    for p in problems:
        report.problems.append(p)
        report.findings.append(report_problem(ledger, number, p).id)


def collect(ledger, client, keys, number, batch=FETCH_BATCH, domain=None, store_batch=STORE_BATCH):
    """Fetch the reader's journal after the last acknowledged record (`batch` records a request),
    verify each fetch as it arrives, store the verified records of up to `store_batch` of them in one
    transaction and acknowledge, after that commit, only the whole, chained run
    (host/terminals/integrity.py). Nothing after a fetch with a problem is taken. `keys`:
    {key_version: this terminal's journal key}; `domain`: to sign the acknowledgement (None: the
    client already signs for this reader). Returns a CollectReport."""
    info = _check_reader(client, number)
    term = _terminal_int(number)
    if domain is not None:
        tkeys.authenticate(client, domain, term)
    report = CollectReport(number)
    acked_before = integrity.last_ack(ledger, number)
    reader_last = info["journal_next"] - 1
    # the reader's numbering against what it reported at earlier contacts, then this contact's mark
    _report(ledger, number, report, integrity.check_marks(ledger, number, reader_last, 0, 0))
    _contact(ledger, client, number, "collect", info)
    last = ledger.store.last_journal_number(number)
    if reader_last < last:
        # The reader's numbering went back: its journal was reset or replaced. Whatever it still has
        # under numbers we stored is compared record by record (no-op if equal, a finding if not).
        _compare_reused(ledger, client, keys, number, report)
        report.last_number = last
        return report
    acked = acked_before
    first = acked_before + 1
    done = False
    while not done:
        # one stored batch: fetches verified as they come, until store_batch records or a problem.
        # A link dropped before the store below leaves all of them on the reader, unacknowledged.
        good, problems = [], []
        while len(good) < store_batch:
            raws = client.fetch_journal(first, batch)
            if not raws:
                done = True
                break
            fetched, found = jv.verify_records(raws, term, keys)
            good += fetched
            problems += found
            if fetched:
                first = max(r.number for r in fetched) + 1
            if any(p.kind != "order" for p in found) or not fetched:
                done = True  # nothing after a bad record is taken
                break
        if good:
            res = ledger.store.store_journal_records(number, good)
            report.stored += res.stored
            report.duplicates += res.duplicates
            for num, old, new in res.conflicts:
                problems.append(jv.Problem("number", num, "record %d differs from the one collected before "
                                           "(number reused or record edited)" % num, new))
            done = done or bool(res.conflicts)
            acked = _acknowledge(ledger, client, number, acked, report)
        _report(ledger, number, report, problems)
    end, problems = integrity.verified_end(ledger, number, acked)
    _report(ledger, number, report, problems)
    _report(ledger, number, report, integrity.check_marks(ledger, number, reader_last, acked_before, end))
    if info["journal_acked"] < end and report.acked < end:
        # an earlier collection stored these but lost the link before its acknowledgement
        _acknowledge(ledger, client, number, acked_before, report, force=True)
    report.last_number = end
    return report


def _acknowledge(ledger, client, number, acked, report, force=False):
    """Acknowledge the whole, chained run after `acked` (never past a gap); the new acknowledged end."""
    end, _ = integrity.verified_end(ledger, number, acked)
    if end > acked or (force and end):
        client.ack_journal(end)  # only what is in the ledger, whole and chained
        recs = ledger.store.journal_records(number, from_number=end)
        ledger.store.note_journal_mark(number, end, jv.decode(recs[0].raw).mac, integrity.ACK)
        report.acked = end
    return max(end, acked)


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
    if not [p for p in report.problems if p.kind in ("number", "truncated")]:
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


def day_close(ledger, client, keys, operator, number, domain=None):
    """Collect, close the reader's day, collect again, and check the reader's batch totals against the
    collected journal. A difference goes on the exception list. `domain`: to sign the requests (None:
    the client already signs for this reader). Returns (BatchView, CollectReport)."""
    report = collect(ledger, client, keys, number, domain=domain)
    totals = client.day_close()
    again = collect(ledger, client, keys, number)
    report.stored += again.stored
    report.problems += again.problems
    report.findings += again.findings
    first, last = totals["first_number"], totals["last_number"]
    count, total = journal_totals(ledger, number, first, last)
    if again.last_number < last:
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
