"""Three-way reconciliation: states seen on cards ↔ reader journals ↔ the ledger.

`run(ledger, domain=None, day=None)`:
1. books every committed debit of the collected journals as a redemption, once (key
   ``debit:<terminal>:<txn>``); a debit the card's ledger balance cannot cover is booked anyway and its
   shortfall goes to the explicit discrepancy account first (never hidden, never an overdraft);
2. re-verifies every terminal's collected journal (MACs, chain, gaps, edits) when the key domain is given;
3. threads each card's observations (journals, audits, top-ups) into histories: counter regression or a
   counter reused with other content = rollback; two histories in use = clone;
4. compares each card's newest observed balance with the ledger: more on the card than the ledger
   explains = forgery (unexplained balance);
5. lists top-ups left unconfirmed, debits on blacklisted cards after the blacklist version reached that
   reader, day-close differences;
6. checks the ledger's own books: the keyed audit chain and the seal over every posting (`check_books`).

A replaced card's balance moved to its replacement is explained on the old card
(`explained_balance`): no forgery finding for a lost-and-replaced card.
Every finding goes on the ledger's exception list with evidence (once: findings have fingerprints);
rollback, clone and forgery propose a blacklist entry for an operator to approve.
"""
import datetime as dt
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.host.reconcile.detect import Observation, latest, thread
from icpurse.protocol import cardtime

BLACKLIST_KINDS = ("rollback", "clone", "forgery")
BOOKING_BATCH = 500


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


def _in_day(ledger, when: dt.datetime, day):
    return day is None or ledger.business_date(when) == day


def run(ledger, domain=None, day: dt.date | None = None, operator=None) -> ReconReport:
    report = ReconReport(day)
    found = _Findings(ledger, report)
    uids = ledger.cards.uid_map()
    records = ledger.store.journal_records()
    committed = [r for r in records if r.state == codec.JR_COMMITTED and r.kind == codec.TXN_DEBIT]

    # 1. redemptions, once per reader transaction (in batches: one ledger transaction each)
    booked = ledger.books.booked_keys("debit:")
    todo = []
    for r in committed:
        key = "debit:%s:%d" % (r.terminal, r.txn)
        number = uids.get(r.uid)
        if number is None:
            found.add("unknown_uid:%s:%d" % (r.terminal, r.txn), "unknown_card",
                      "terminal %s debited %d fen from UID %s, which the ledger does not know" % (
                          r.terminal, r.amount, r.uid), terminal=r.terminal, amount=r.amount,
                      evidence={"record": r.number, "uid": r.uid}, proposal=None)
        elif key not in booked:
            todo.append((number, r.amount, key, r.terminal, r))
    n_booked = fen_booked = fen_discrepancy = 0
    for i in range(0, len(todo), BOOKING_BATCH):
        part = todo[i:i + BOOKING_BATCH]
        short = dict(ledger.books.book_redemptions([t[:4] for t in part], operator=operator))
        n_booked += len(part)
        fen_booked += sum(t[1] for t in part)
        for number, amount, key, terminal, r in part:
            if key in short:
                fen_discrepancy += short[key]
                found.add("overdraft:%s" % key, "overdraft",
                          "card %s: debit of %d fen at terminal %s (txn %d) exceeds its ledger balance by %d fen, "
                          "booked to the discrepancy account" % (number, amount, terminal, r.txn, short[key]),
                          card_number=number, terminal=terminal, amount=short[key],
                          evidence={"record": r.number, "card_seq": r.card_seq, "balance_after": r.balance_after})
    report.booked = {"redemptions": n_booked, "fen": fen_booked, "discrepancy_fen": fen_discrepancy}

    # 2. the collected journals themselves
    terminals = sorted({r.terminal for r in records})
    if domain is not None:
        from icpurse.host.audit.terminal import audit_terminal
        from icpurse.host.terminals import journal_records as jv
        from icpurse.host.terminals.service import report_problem

        for t in terminals:
            for p in audit_terminal(ledger, t, jv.journal_keys(domain, int(t))).problems:
                report.findings.append(report_problem(ledger, t, p, source="reconcile"))
    for b in ledger.store.batches():
        if not b.balanced:
            found.add("dayclose:%s:%d" % (b.terminal, b.batch), "day_close_difference",
                      "terminal %s batch %d: reader %d debits / %d fen, journal %d / %d fen" % (
                          b.terminal, b.batch, b.reader_count, b.reader_sum, b.journal_count, b.journal_sum),
                      terminal=b.terminal, amount=b.reader_sum - b.journal_sum,
                      evidence={"reader": [b.reader_count, b.reader_sum], "journal": [b.journal_count, b.journal_sum]})

    # 3. card histories
    obs = {}
    for r in committed:
        number = uids.get(r.uid)
        if number is not None:
            obs.setdefault(number, []).append(Observation(
                number, r.reader_time, r.card_seq, r.balance_after, "journal", "journal %s #%d" % (r.terminal, r.number),
                r.kind, r.amount, int(r.terminal), r.txn))
    for o in ledger.store.card_observations():
        obs.setdefault(o.card_number, []).append(Observation(
            o.card_number, cardtime.seconds(o.observed_at), o.seq, o.balance, o.source, o.ref, o.kind, o.amount,
            o.terminal, o.txn))
    for t in ledger.topup_records.confirmed_topups():  # confirmed top-ups: the state their write left
        if t.card_seq_after is not None and t.card_balance_before is not None:
            number = t.card_number
            obs.setdefault(number, []).append(Observation(
                number, cardtime.seconds(t.settled_at or t.created_at), t.card_seq_after,
                t.card_balance_before + t.amount, "topup", "topup %s" % t.txn_id, codec.TXN_LOAD, t.amount))
    open_topups = {}
    for t in ledger.topup_records.unconfirmed_topups():
        open_topups.setdefault(t.card_number, []).append(t)
    replaced = ledger.lifecycle_records.replacements()
    mismatched = 0
    for number in sorted(obs):
        lines, divergences = thread(obs[number])
        for d in divergences:
            found.add("divergence:%s:%s" % (number, d.fork.ref), d.kind, d.summary(), card_number=number,
                      evidence=d.evidence(), proposal="blacklist")
        now = latest(lines)
        if now is None:
            continue
        ledger_balance = explained_balance(ledger, number, replaced)
        if number in replaced and now.balance <= ledger_balance:
            pass  # a replaced card at or below what moved to its replacement: explained (spending it after the
            # move is booked as an overdraft at step 1, never as this card's shortfall)
        elif now.balance > ledger_balance:
            mismatched += 1
            found.add("balance:%s:%d:%d:%d" % (number, now.seq, now.balance, ledger_balance), "forgery",
                      "card %s: balance %d fen seen at seq %d (%s) but the ledger explains only %d fen "
                      "(+%d fen)" % (number, now.balance, now.seq, now.ref, ledger_balance, now.balance - ledger_balance),
                      card_number=number, amount=now.balance - ledger_balance,
                      evidence={"observation": now.as_dict(), "ledger_balance": ledger_balance},
                      proposal="blacklist")
        elif now.balance < ledger_balance:
            mismatched += 1
            if number not in open_topups:
                found.add("short:%s:%d:%d:%d" % (number, now.seq, now.balance, ledger_balance), "balance_short",
                          "card %s: ledger holds %d fen, the newest state seen (%s, seq %d) %d fen" % (
                              number, ledger_balance, now.ref, now.seq, now.balance),
                          card_number=number, amount=ledger_balance - now.balance,
                          evidence={"observation": now.as_dict(), "ledger_balance": ledger_balance})
        card = ledger.cards.card(number)
        if card.last_seen_seq is None or now.seq > card.last_seen_seq:
            ledger.cards.record_card_seen(number, now.seq, now.balance, source=now.source)

    # 5. top-ups left unconfirmed
    for number, tops in open_topups.items():
        for t in tops:
            found.add("topup:%s" % t.txn_id, "topup_unconfirmed",
                      "top-up %s of %d fen on card %s is %s: re-confirm it with the card present" % (
                          t.txn_id, t.amount, number, t.state),
                      card_number=number, amount=t.amount,
                      evidence={"txn": t.txn_id, "state": t.state, "card_seq_before": t.card_seq_before})

    # debits on blacklisted cards after the blacklist reached the reader
    entries = {e.card_number: e for e in ledger.blacklist.blacklist_entries()}
    if entries:
        reached = {}
        for t in terminals:
            reached[t] = ledger.store.sign_ins(t)
        for r in committed:
            number = uids.get(r.uid)
            e = entries.get(number)
            if e is None:
                continue
            # the reader's journal numbers order its records against its sign-ins exactly
            since = next((si.first_number for si in reached.get(r.terminal, [])
                          if si.blacklist_version >= e.added_version), None)
            if since is not None and r.txn >= since:
                found.add("blacklisted_debit:%s:%d" % (r.terminal, r.txn), "blacklisted_debit",
                          "terminal %s debited %d fen from blacklisted card %s (txn %d) after signing in with "
                          "blacklist version >= %d" % (r.terminal, r.amount, number, r.txn, e.added_version),
                          card_number=number, terminal=r.terminal, amount=r.amount,
                          evidence={"record": r.number, "reader_time": r.reader_time, "day_first_record": since,
                                    "blacklist_version": e.added_version})

    # an interrupted sale still unresolved after its reader opened a new day: an error
    # (docs/business-rules.md "Kiosk top-up", step 6)
    resolved = {(r.terminal, r.txn) for r in records if r.state in (codec.JR_COMMITTED, codec.JR_ROLLED_BACK)}
    for r in records:
        if r.state != codec.JR_PENDING or (r.terminal, r.txn) in resolved:
            continue
        later = [si for si in ledger.store.sign_ins(r.terminal) if si.first_number > r.number]
        if later:
            found.add("pending:%s:%d" % (r.terminal, r.txn), "pending_unresolved",
                      "terminal %s: sale %d of %d fen (card %s, seq %d) was interrupted and is still unresolved "
                      "after the reader's next day opened: present the card again at that reader" % (
                          r.terminal, r.txn, r.amount, uids.get(r.uid, r.uid), r.card_seq),
                      card_number=uids.get(r.uid), terminal=r.terminal, amount=r.amount,
                      evidence={"record": r.number, "card_seq": r.card_seq, "balance_after": r.balance_after})

    broken = check_books(ledger, found)

    # totals: everything in fen, checkable by hand
    day_debits = [r for r in committed if _in_day(ledger, cardtime.to_datetime(r.reader_time), day)]
    tb = ledger.books.trial_balance()
    batches = [b for b in ledger.store.batches()]
    report.totals = {
        "journal_debits": len(day_debits), "journal_debit_fen": sum(r.amount for r in day_debits),
        "all_journal_debit_fen": sum(r.amount for r in committed),
        "redeemed_fen": -tb.get("redeemed", 0),
        "discrepancy_fen": tb.get("discrepancy", 0),
        "outstanding_fen": ledger.books.outstanding_balance(),
        "day_close_reader_fen": sum(b.reader_sum for b in batches),
        "day_close_journal_fen": sum(b.journal_sum for b in batches),
        "cards_seen": len(obs), "cards_mismatched": mismatched,
        "pending_unresolved": _unresolved(records),
        "unbalanced_entries": len(ledger.books.unbalanced_entries()),
        "audit_log": "verifies" if broken is None else str(broken),
    }
    # one finding per fingerprint, in id order
    uniq = {f.id: f for f in report.findings}
    report.findings = [uniq[i] for i in sorted(uniq)]
    return report


def check_books(ledger, found):
    """The ledger's own integrity: the keyed audit chain and the seal over every booking
    (audit.verify: an edited, added or deleted posting, balanced or not). A break is a finding."""
    broken = ledger.audit.verify_audit_log()
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


def _unresolved(records):
    resolved = {(r.terminal, r.txn) for r in records if r.state in (codec.JR_COMMITTED, codec.JR_ROLLED_BACK)}
    return sum(1 for r in records if r.state == codec.JR_PENDING and (r.terminal, r.txn) not in resolved)


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
