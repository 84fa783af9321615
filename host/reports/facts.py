"""Everything the reports need, read from the ledger once: one `Movement` per journal entry
(with its effect on the prepaid liability, cash and bank), the programmes, terminals and the
reconciliation state. Reports are pure functions of these facts, so tests can compute expectations
independently from the operations they performed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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
    "topup_payment": "non-cash top-up payments confirmed by finance",
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
    audit_head: tuple = (0, "0" * 64)  # (entries, head hash) of the audit log when the facts were read

    def outstanding(self, until=None, programme=None):
        """Outstanding prepaid balance (fen) at the end of business day `until` (None: now)."""
        return sum(m.liability for m in self.movements
                   if (until is None or m.day <= until) and (programme is None or m.programme_id == programme))


def _terminal_of(key, terminals):
    """The terminal of a booking: from the audit log or top-ups (`terminals`, the ledger's
    `books.booking_terminals()`), else from a reader-journal booking
    key `debit:<terminal>:<txn>` (the reconciliation books those in bulk, one audit entry a batch)."""
    if key in terminals:
        return terminals[key]
    parts = (key or "").split(":")
    if len(parts) == 3 and parts[0] == "debit" and parts[1].isdigit():
        return parts[1]
    return None


def load_facts(ledger, now=None) -> Facts:
    tz, cutoff = ledger.calendar.tz, ledger.calendar.cutoff
    now = now or ledger.now()
    programmes = {p.id: ProgrammeInfo(p.id, p.name, p.profile, p.definition.get("issuer_type"))
                  for p in ledger.programmes.registered()}
    terminals = ledger.books.booking_terminals()
    movements = [Movement(e.entry_id, e.kind, e.created_at, business_day(e.created_at, tz, cutoff), e.card_number,
                          e.programme_id, e.amount, e.liability, e.cash, e.bank, _terminal_of(e.key, terminals))
                 for e in ledger.books.entry_summaries()]
    facts = Facts(movements, programmes, tz, cutoff, business_day(now, tz, cutoff))
    facts.exceptions = list(ledger.store.exceptions())
    facts.batches = list(ledger.store.batches())
    facts.checks = _integrity_checks(ledger)
    facts.audit_head = ledger.audit.audit_head()
    return facts


def _integrity_checks(ledger):
    checks = []
    unbalanced = ledger.books.unbalanced_entries()
    checks.append(("books balance (every entry sums to 0)", not unbalanced,
                   "unbalanced entries: %s" % unbalanced if unbalanced else "all entries balance"))
    from icpurse.host.ledger import AuditKeyError

    try:
        broken = ledger.audit.verify_audit_log()
        checks.append(("audit log chain and sealed books", broken is None, str(broken) if broken else "verifies"))
    except AuditKeyError:
        checks.append(("audit log chain and sealed books", False,
                       "not verified: no audit key (give a key set, --keystore)"))
    open_topups = ledger.topup_records.unconfirmed_topups()
    checks.append(("top-ups confirmed on the card", not open_topups,
                   "%d pending/unconfirmed: %s" % (len(open_topups), ", ".join(t.txn_id for t in open_topups[:10]))
                   if open_topups else "none open"))
    return checks

