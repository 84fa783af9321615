"""Three-way reconciliation: states seen on cards ↔ reader journals ↔ the ledger.

`run(ledger, domain=None, day=None)`:
1. books every committed debit of the collected journals as a redemption, once (key
   ``debit:<terminal>:<txn>``); a debit the card's ledger balance cannot cover is booked anyway and its
   shortfall goes to the explicit discrepancy account first (never hidden, never an overdraft);
2. re-verifies every terminal's collected journal (MACs, chain, gaps, edits) when the key domain is given;
3. threads each card's observations (journals, audits, top-ups) into histories: counter regression or a
   counter reused with other content = rollback; two histories in use = clone; but a left-behind
   history written by one terminal alone, which the card's current history (seen by others) does not
   contain, is a terminal finding against that terminal (`attribution.split`, `terminal_unexplained`);
4. compares each card's newest observed balance with the ledger: more on the card than the ledger
   explains = forgery (unexplained balance);
5. lists top-ups left unconfirmed, debits on blacklisted cards after the blacklist version reached that
   reader, day-close differences;
6. checks the ledger's own books: the keyed audit chain and the seal over every posting, from the
   checkpoint the last run left (`Reconciliation.verify_books`; `check_books` re-reads everything).

Set-based and incremental (`Ledger.reconciliation`, host/ledger/reconciliation.py): step 1 looks at
the records after each terminal's keyed watermark and books them in bulk, one transaction and one
audit entry per batch; steps 3-4 re-thread only the cards something happened to since the last run:
a card whose history was one clean line continues from its stored tail with its new debits only (the
same result: see step 3), any other with its whole history. docs/back-office.md has the details; the engine this replaced is the
oracle of tests/reconcile/test_recon_equivalence.py.

A replaced card's balance moved to its replacement is explained on the old card
(`explained_balance`): no forgery finding for a lost-and-replaced card.
Every finding goes on the ledger's exception list with evidence (once: findings have fingerprints);
rollback, clone and forgery propose a blacklist entry for an operator to approve.
"""
import datetime as dt
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.host.reconcile import attribution, detect
from icpurse.host.reconcile.detect import Observation, latest, thread
from icpurse.protocol import cardtime

BLACKLIST_KINDS = ("rollback", "clone", "forgery")
BOOKING_BATCH = 50_000  # debits per booking transaction (one audit entry each)


@dataclass
class ReconReport:
    day: dt.date | None
    totals: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)  # ExceptionView, every finding of this run
    new: list = field(default_factory=list)  # ids of findings added by this run
    booked: dict = field(default_factory=dict)

    @property
    def clean(self):
        return not self.findings

    def as_dict(self):
        return {"day": self.day.isoformat() if self.day else None, "totals": self.totals, "booked": self.booked,
                "findings": [{"id": f.id, "kind": f.kind, "card": f.card_number, "terminal": f.terminal,
                              "amount": f.amount, "summary": f.summary, "proposal": f.proposal, "status": f.status,
                              "new": f.id in self.new} for f in self.findings]}


class _Findings:
    def __init__(self, ledger, report):
        self.ledger, self.report = ledger, report

    def add(self, fingerprint, kind, summary, **kw):
        ev, created = self.ledger.store.add_exception(fingerprint, kind, summary, **kw)
        self.report.findings.append(ev)
        if created:
            self.report.new.append(ev.id)
        return ev


def _day_range(ledger, day):
    """Card seconds [start, end) of business day `day` (the calendar's date of a reader time)."""
    if day is None:
        return None
    tz = ledger.calendar.tz
    start = dt.datetime.combine(day, dt.time(0), tz)
    return cardtime.seconds(start), cardtime.seconds(start + dt.timedelta(days=1))


def run(ledger, domain=None, day: dt.date | None = None, operator=None) -> ReconReport:
    """Reconcile what arrived since the last run (module docstring); a first run looks at everything."""
    rec = ledger.reconciliation
    report = ReconReport(day)
    found = _Findings(ledger, report)
    pending = []  # findings of this run, written together (one transaction)

    def add(fingerprint, kind, summary, **kw):
        pending.append((fingerprint, kind, summary, kw))

    # 1. redemptions of the records collected since each terminal's watermark, once per reader transaction
    marks = rec.marks()
    committed, reach, terminals = rec.new_debits(marks)
    unresolved, reach = rec.pending_unresolved(marks, reach)  # reach: {terminal id: (record upto, pending from)}
    have = {(r.terminal, r.txn) for r in committed}
    committed += [r for r in rec.unbooked_unknown() if (r.terminal, r.txn) not in have]  # their card may exist now
    uids = rec.uid_numbers(r.uid for r in committed)
    todo = []
    for r in committed:
        number = uids.get(r.uid)
        if number is None:
            add("unknown_uid:%s:%d" % (r.terminal, r.txn), "unknown_card",
                "terminal %s debited %d fen from UID %s, which the ledger does not know" % (
                    r.terminal, r.amount, r.uid), terminal=r.terminal, amount=r.amount,
                evidence={"record": r.number, "uid": r.uid}, proposal=None)
        else:
            todo.append((number, r.amount, "debit:%s:%d" % (r.terminal, r.txn), r.terminal, r))
    n_booked = fen_booked = fen_discrepancy = 0
    parts = [todo[i:i + BOOKING_BATCH] for i in range(0, len(todo), BOOKING_BATCH)] or [[]]
    for i, part in enumerate(parts):
        last = i == len(parts) - 1  # the watermarks move with the last batch: an interrupted run redoes the rest
        short = dict(rec.book_debits([t[:4] for t in part], reach if last else {}, operator=operator))
        n_booked += len(part)
        fen_booked += sum(t[1] for t in part)
        for number, amount, key, terminal, r in part:
            if key in short:
                fen_discrepancy += short[key]
                add("overdraft:%s" % key, "overdraft",
                    "card %s: debit of %d fen at terminal %s (txn %d) exceeds its ledger balance by %d fen, "
                    "booked to the discrepancy account" % (number, amount, terminal, r.txn, short[key]),
                    card_number=number, terminal=terminal, amount=short[key],
                    evidence={"record": r.number, "card_seq": r.card_seq, "balance_after": r.balance_after})
    report.booked = {"redemptions": n_booked, "fen": fen_booked, "discrepancy_fen": fen_discrepancy}

    # 2. the collected journals themselves
    if domain is not None:
        from icpurse.host.audit.terminal import audit_terminal
        from icpurse.host.terminals import journal_records as jv
        from icpurse.host.terminals.service import report_problem

        for t in terminals:
            for p in audit_terminal(ledger, t, jv.journal_keys(domain, int(t))).problems:
                report.findings.append(report_problem(ledger, t, p, source="reconcile"))
    for b in ledger.store.batches():
        if not b.balanced:
            add("dayclose:%s:%d" % (b.terminal, b.batch), "day_close_difference",
                "terminal %s batch %d: reader %d debits / %d fen, journal %d / %d fen" % (
                    b.terminal, b.batch, b.reader_count, b.reader_sum, b.journal_count, b.journal_sum),
                terminal=b.terminal, amount=b.reader_sum - b.journal_sum,
                evidence={"reader": [b.reader_count, b.reader_sum], "journal": [b.journal_count, b.journal_sum]})

    # 3. card histories: the cards anything happened to since the last run; a card whose history was
    # one clean line at the last run continues from its stored tail with its new debits only. Step 1's
    # debits are what the cards' new debits are read from when they provably cover them (card_inputs)
    since, upto = rec.mark(), rec.log_tops()
    step1 = (committed, max((m[0] for m in marks.values()), default=0),
             max((r[0] for r in reach.values()), default=0))
    touched = rec.card_inputs(set(uids.values()) | rec.touched_cards(since, upto), known=step1)
    debits, others = _debit_entries(touched), {}
    reach_of = dict.fromkeys(touched["uids"].values(), touched["upto"])  # a tail made now has seen these records
    for number, o in touched["observations"]:
        others.setdefault(number, []).append(Observation(
            number, cardtime.seconds(o.observed_at), o.seq, o.balance, o.source, o.ref, o.kind, o.amount,
            o.terminal, o.txn))
    for number, t in touched["topups"]:  # confirmed top-ups: the state their write left
        if t.card_seq_after is not None and t.card_balance_before is not None:
            others.setdefault(number, []).append(Observation(
                number, cardtime.seconds(t.settled_at or t.created_at), t.card_seq_after,
                t.card_balance_before + t.amount, "topup", "topup %s" % t.txn_id, codec.TXN_LOAD, t.amount))
    results, whole = {}, []  # number -> (newest observation, record upto); cards to thread whole
    for number, (tail, _) in touched["tails"].items():
        t = Observation(number, **tail)
        # the whole history threads to one line ending at `t` (all its counters <= t.seq): new debits
        # all after `t` (in time and counter) meet only `t` of it, so threading from `t` gives the same
        e = detect.one_line(debits.get(number, ()), start=detect.entry(t))
        if e is not None:
            results[number] = (_observation(number, e), touched["upto"])
        else:
            whole.append(number)
    if whole:  # a tail that cannot be continued: the card's whole history after all
        full = rec.card_inputs(whole, tails=False)
        for number in whole:
            debits.pop(number, None)
            reach_of[number] = full["upto"]
        debits.update(_debit_entries(full))
    open_topups = {}
    for t in ledger.topup_records.unconfirmed_topups():
        open_topups.setdefault(t.card_number, []).append(t)
    cards = set(debits) | set(others) | set(touched["tails"])
    replaced = ledger.lifecycle_records.replacements(cards=cards)
    seen, flags = {}, {}
    tails = {}
    for number in sorted(cards):
        if number in results:
            now, reached = results[number]
            clean, divergences, unexplained = True, [], []
        else:
            mine = debits.get(number, []) + [detect.entry(o) for o in others.get(number, ())]
            e = detect.one_line(mine)  # most cards: one clean line, no Observation per record needed
            if e is not None:
                now, clean, divergences, unexplained = _observation(number, e), True, [], []
            else:
                obs = [_observation(number, e) for e in mine]
                # a terminal's records the card's own history does not contain are that terminal's finding
                lines, divergences = thread(obs)
                unexplained = []
                if divergences:  # (`split` keeps a history without divergences whole)
                    kept, unexplained = attribution.split(obs)
                    lines, divergences = thread(kept)
                now = latest(lines)
                clean = len(lines) == 1 and not divergences and not unexplained
            reached = reach_of.get(number, 0)
        for u in unexplained:
            add("unexplained:%08d:%s:%d" % (u.terminal, number, u.records[0].seq), "terminal_unexplained",
                u.summary(), terminal="%08d" % u.terminal, amount=u.debit_fen, evidence=u.evidence(),
                proposal=None)
        for d in divergences:
            add("divergence:%s:%s" % (number, d.fork.ref), d.kind, d.summary(), card_number=number,
                evidence=d.evidence(), proposal="blacklist")
        tails[number] = (_tail(now), reached, touched["others"][number]) if clean and now is not None else None
        if now is None:
            continue
        # the ledger booked the unexplained debits (a terminal's finding above): the card never paid them
        ledger_balance = (touched["balances"][number] + replaced.get(number, (None, 0))[1]
                          + sum(u.debit_fen for u in unexplained))
        flags[number] = False
        if number in replaced and now.balance <= ledger_balance:
            pass  # a replaced card at or below what moved to its replacement: explained (spending it after the
            # move is booked as an overdraft at step 1, never as this card's shortfall)
        elif now.balance > ledger_balance:
            flags[number] = True
            add("balance:%s:%d:%d:%d" % (number, now.seq, now.balance, ledger_balance), "forgery",
                "card %s: balance %d fen seen at seq %d (%s) but the ledger explains only %d fen "
                "(+%d fen)" % (number, now.balance, now.seq, now.ref, ledger_balance, now.balance - ledger_balance),
                card_number=number, amount=now.balance - ledger_balance,
                evidence={"observation": now.as_dict(), "ledger_balance": ledger_balance},
                proposal="blacklist")
        elif now.balance < ledger_balance:
            flags[number] = True
            if number not in open_topups:
                add("short:%s:%d:%d:%d" % (number, now.seq, now.balance, ledger_balance), "balance_short",
                    "card %s: ledger holds %d fen, the newest state seen (%s, seq %d) %d fen" % (
                        number, ledger_balance, now.ref, now.seq, now.balance),
                    card_number=number, amount=ledger_balance - now.balance,
                    evidence={"observation": now.as_dict(), "ledger_balance": ledger_balance})
        last = touched["last_seen"].get(number)
        if last is None or now.seq > last:
            seen[number] = (now.seq, now.balance, now.source)

    # 5. top-ups left unconfirmed
    for number, tops in open_topups.items():
        for t in tops:
            add("topup:%s" % t.txn_id, "topup_unconfirmed",
                "top-up %s of %d fen on card %s is %s: re-confirm it with the card present" % (
                    t.txn_id, t.amount, number, t.state),
                card_number=number, amount=t.amount,
                evidence={"txn": t.txn_id, "state": t.state, "card_seq_before": t.card_seq_before})

    # debits on blacklisted cards after the blacklist reached the reader (a debit's verdict never changes
    # later: a sign-in after it has a higher first number; so the new debits are the ones to look at)
    entries = {e.card_number: e for e in ledger.blacklist.blacklist_entries()}
    if entries:
        reached = {}
        for r in committed:
            number = uids.get(r.uid)
            e = entries.get(number)
            if e is None:
                continue
            if r.terminal not in reached:
                reached[r.terminal] = ledger.store.sign_ins(r.terminal)
            # the reader's journal numbers order its records against its sign-ins exactly
            since_no = next((si.first_number for si in reached[r.terminal]
                             if si.blacklist_version >= e.added_version), None)
            if since_no is not None and r.txn >= since_no:
                add("blacklisted_debit:%s:%d" % (r.terminal, r.txn), "blacklisted_debit",
                    "terminal %s debited %d fen from blacklisted card %s (txn %d) after signing in with "
                    "blacklist version >= %d" % (r.terminal, r.amount, number, r.txn, e.added_version),
                    card_number=number, terminal=r.terminal, amount=r.amount,
                    evidence={"record": r.number, "reader_time": r.reader_time, "day_first_record": since_no,
                              "blacklist_version": e.added_version})

    # an interrupted sale still unresolved after its reader opened a new day: an error
    # (docs/business-rules.md "Kiosk top-up", step 6)
    open_uids = rec.uid_numbers(r.uid for r, _ in unresolved)
    for r, later in unresolved:
        if later:
            add("pending:%s:%d" % (r.terminal, r.txn), "pending_unresolved",
                "terminal %s: sale %d of %d fen (card %s, seq %d) was interrupted and is still unresolved "
                "after the reader's next day opened: present the card again at that reader" % (
                    r.terminal, r.txn, r.amount, open_uids.get(r.uid, r.uid), r.card_seq),
                card_number=open_uids.get(r.uid), terminal=r.terminal, amount=r.amount,
                evidence={"record": r.number, "card_seq": r.card_seq, "balance_after": r.balance_after})

    for ev, created in rec.add_findings(pending, operator=operator):
        report.findings.append(ev)
        if created:
            report.new.append(ev.id)
    broken, verified = rec.verify_books()
    if broken is not None:
        _book_break(ledger, found, broken)
    rec.finish(seen, flags, upto, verified, operator=operator, tails=tails)

    # totals: everything in fen, checkable by hand
    tb = ledger.books.trial_balance()
    report.totals = rec.totals(_day_range(ledger, day))
    report.totals.update({
        "redeemed_fen": -tb.get("redeemed", 0),
        "discrepancy_fen": tb.get("discrepancy", 0),
        "outstanding_fen": ledger.books.outstanding_balance(),
        "pending_unresolved": len(unresolved),
        "unbalanced_entries": len(ledger.books.unbalanced_entries()),
        "audit_log": "verifies" if broken is None else str(broken),
    })
    # one finding per fingerprint, in id order
    uniq = {f.id: f for f in report.findings}
    report.findings = [uniq[i] for i in sorted(uniq)]
    return report


def _debit_entries(inputs):
    """{number: [detect.one_line entry, the DebitRow last]} of the committed debits in `inputs`
    (Reconciliation.card_inputs), in their order there."""
    out, stored, terminals = {}, {None: None}, {}
    uids = inputs["uids"]
    for r in inputs["debits"]:
        _, term, _, kind, _, uid, seq, amount, balance, txn, when, collected = r
        # a reader's clock is its own: a record cannot have happened after the office stored it
        at = stored.get(collected, False)
        if at is False:
            at = stored[collected] = cardtime.seconds(collected)
        if at is not None and at < when:
            when = at
        terminal = terminals.get(term)
        if terminal is None:
            terminal = terminals[term] = int(term)
        e = (when, seq, balance, kind, amount, terminal, txn, r)
        mine = out.get(uids[uid])
        if mine is None:
            out[uids[uid]] = [e]
        else:
            mine.append(e)
    return out


def _observation(number, e):
    """The Observation of a `one_line` entry (a debit's, from its DebitRow; else the one it carries)."""
    src = e[-1]
    if isinstance(src, Observation):
        return src
    return Observation(number, e[0], src.card_seq, src.balance_after, "journal",
                       "journal %s #%d" % (src.terminal, src.number), src.kind, src.amount, e[5], src.txn)


def _tail(o):
    """A card's tail as stored (Reconciliation.finish): the Observation's fields but its card."""
    return {"time": o.time, "seq": o.seq, "balance": o.balance, "source": o.source, "ref": o.ref, "kind": o.kind,
            "amount": o.amount, "terminal": o.terminal, "txn": o.txn}


def check_books(ledger, found):
    """The ledger's own integrity: the keyed audit chain and the seal over every booking
    (audit.verify: an edited, added or deleted posting, balanced or not). A break is a finding."""
    broken = ledger.audit.verify_audit_log()
    if broken is not None:
        _book_break(ledger, found, broken)
    return broken


def _book_break(ledger, found, broken):
    if broken is not None:
        seq, head = ledger.audit.audit_head()
        found.add("ledger:audit:%d:%s" % (broken.seq, broken.reason[:60]), "ledger_tampered", str(broken),
                  evidence={"seq": broken.seq, "reason": broken.reason, "head": head, "entries": seq})
    return broken


def explained_balance(ledger, number, replaced):
    """What the ledger explains on card `number`: its ledger balance, plus — for a replaced card — the
    balance that moved to its replacement (`replaced`: lifecycle_records.replacements()). The old card
    still carries that value physically; it is the new card's now, not a forgery on the old one."""
    moved = replaced.get(number, (None, 0))[1]
    return ledger.books.outstanding_balance(number) + moved


# finding kind -> sign of the booking that makes the ledger agree with the card
_SETTLE_SIGN = {"balance_short": 1, "forgery": -1, "rollback": -1}


def settle(ledger, operator, exception_id: int, reason: str):
    """Resolve a balance finding by booking its difference to the discrepancy account, so the card's
    ledger balance equals what the card holds: a shortfall (`balance_short`: the ledger holds more)
    lowers the ledger balance; honouring an unexplained balance (`forgery`) raises it — a loss the
    issuer accepts explicitly. A forgery or rollback finding takes two operators of different roles
    (the first call requests it: `store.close_exception`). Returns the ExceptionView."""
    e = ledger.store.exception(exception_id)
    sign = _SETTLE_SIGN.get(e.kind)
    if sign is None or not e.card_number or not e.amount:
        raise ValueError("exception %d (%s) has no balance difference to book" % (exception_id, e.kind))
    if e.status != "open":
        raise ValueError("exception %d is %s, not open" % (exception_id, e.status))
    return ledger.store.close_exception(operator, e.id, "resolved", reason, book_discrepancy=sign * e.amount)
