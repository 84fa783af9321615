"""Everything the reports need, read from the ledger once: one `Movement` per journal entry
(with its effect on the prepaid liability, cash and bank), the programmes, terminals and the
reconciliation state. Reports are pure functions of these facts, so tests can compute expectations
independently from the operations they performed."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from icpurse.host.ledger.bookkeeping import PREPAID
from icpurse.host.ledger.models import Account, AuditEntry, Card, JournalEntry, Posting, ProgrammeRecord, Topup
from icpurse.host.reports.periods import business_day

# journal entry kinds -> the report's categories (anything else is shown under its own name)
CATEGORIES = {
    "sale": "sales",
    "topup": "top-ups",
    "topup_reversal": "top-ups reversed",
    "topup_void": "top-ups voided",
    "redemption": "store purchases",
    "redemption_cash": "redemptions (cash)",
    "redemption_transfer": "redemptions (bank transfer)",
    "refund_transfer_paid": "refund transfers paid",
    "goods_refund": "goods refunds to card",
    "goods_refund_cash": "goods refunds in cash",
    "replacement": "card replacements",
    "discrepancy": "discrepancies",
}


@dataclass(frozen=True)
class Movement:
    entry_id: int
    kind: str
    at: dt.datetime
    day: dt.date  # business day (cut-off applied)
    card_number: str | None
    programme_id: str | None
    amount: int  # gross size of the entry (sum of its debits), fen
    liability: int  # change of the outstanding prepaid balance (+ = more owed to holders), fen
    cash: int  # change of the cash account, fen
    bank: int  # change of the bank account, fen
    terminal: str | None


@dataclass(frozen=True)
class ProgrammeInfo:
    id: str
    name: str
    profile: str
    issuer_type: str | None


@dataclass
class Facts:
    movements: list
    programmes: dict  # id -> ProgrammeInfo
    tz: dt.tzinfo
    cutoff: dt.time
    today: dt.date  # the current business day
    exceptions: list = field(default_factory=list)  # reconciliation findings (ledger exception list)
    batches: list = field(default_factory=list)  # terminal day-close batches
    checks: list = field(default_factory=list)  # (check, ok, detail) from the ledger's own integrity checks

    def outstanding(self, until=None, programme=None):
        """Outstanding prepaid balance (fen) at the end of business day `until` (None: now)."""
        return sum(m.liability for m in self.movements
                   if (until is None or m.day <= until) and (programme is None or m.programme_id == programme))


def _terminal_keys(s):
    """Booking key -> terminal number, from the audit log (store redemptions) and top-ups."""
    out = {}
    q = select(AuditEntry.terminal_number, AuditEntry.details).where(
        AuditEntry.action == "book.redemption", AuditEntry.result == "ok", AuditEntry.terminal_number.is_not(None))
    for terminal, details in s.execute(q):
        key = json.loads(details).get("key")
        if key is not None:
            out[key] = terminal
    from icpurse.host.ledger.models import Terminal

    q = select(Topup.txn_id, Terminal.number).join(Terminal, Topup.terminal_id == Terminal.id)
    for txn, number in s.execute(q):
        out["topup:%s" % txn] = number
    return out


def _terminal_of(key, terminals):
    """The terminal of a booking: from the audit log or top-ups, else from a reader-journal booking
    key `debit:<terminal>:<txn>` (the reconciliation books those in bulk, one audit entry a batch)."""
    if key in terminals:
        return terminals[key]
    parts = (key or "").split(":")
    if len(parts) == 3 and parts[0] == "debit" and parts[1].isdigit():
        return parts[1]
    return None


def load_facts(ledger, now=None) -> Facts:
    tz, cutoff = ledger.business_tz, ledger.daily_cutoff
    now = now or ledger.now()
    with ledger.session() as s:
        programmes = {}
        for rec in s.execute(select(ProgrammeRecord)).scalars():
            definition = json.loads(rec.definition)
            programmes[rec.id] = ProgrammeInfo(rec.id, rec.name, rec.profile, definition.get("issuer_type"))
        cards = {cid: (num, prog) for cid, num, prog in s.execute(select(Card.id, Card.card_number, Card.programme_id))}
        terminals = _terminal_keys(s)
        entries = {}
        q = (select(JournalEntry.id, JournalEntry.kind, JournalEntry.created_at, JournalEntry.card_id,
                    JournalEntry.idempotency_key, Posting.amount, Account.category, Account.card_id)
             .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
             .order_by(JournalEntry.id, Posting.line))
        for eid, kind, at, card_id, key, amount, category, acc_card in s.execute(q):
            e = entries.get(eid)
            if e is None:
                e = entries[eid] = {"kind": kind, "at": at, "card_id": card_id, "key": key, "amount": 0,
                                    "liability": 0, "cash": 0, "bank": 0, "cards": []}
            if amount > 0:
                e["amount"] += amount
            if category == PREPAID:
                e["liability"] -= amount
                e["cards"].append(acc_card)
            elif category in ("cash", "bank"):
                e[category] += amount
    movements = []
    for eid in sorted(entries):
        e = entries[eid]
        card_id = e["card_id"] if e["card_id"] is not None else (e["cards"][0] if e["cards"] else None)
        number, prog = cards.get(card_id, (None, None))
        movements.append(Movement(eid, e["kind"], e["at"], business_day(e["at"], tz, cutoff), number, prog,
                                  e["amount"], e["liability"], e["cash"], e["bank"], _terminal_of(e["key"], terminals)))
    facts = Facts(movements, programmes, tz, cutoff, business_day(now, tz, cutoff))
    if hasattr(ledger, "exceptions"):
        facts.exceptions = list(ledger.exceptions())
    if hasattr(ledger, "batches"):
        facts.batches = list(ledger.batches())
    facts.checks = _integrity_checks(ledger)
    return facts


def _integrity_checks(ledger):
    checks = []
    unbalanced = ledger.unbalanced_entries()
    checks.append(("books balance (every entry sums to 0)", not unbalanced,
                   "unbalanced entries: %s" % unbalanced if unbalanced else "all entries balance"))
    broken = ledger.verify_audit_log()
    checks.append(("audit log hash chain", broken is None, str(broken) if broken else "verifies"))
    open_topups = ledger.unconfirmed_topups()
    checks.append(("top-ups confirmed on the card", not open_topups,
                   "%d pending/unconfirmed: %s" % (len(open_topups), ", ".join(t.txn_id for t in open_topups[:10]))
                   if open_topups else "none open"))
    return checks

