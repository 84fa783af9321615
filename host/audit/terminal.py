"""`icpurse audit terminal`: re-verify a terminal's journal as collected in the ledger — every record's
MAC (from its stored bytes), the chain, gaps in the numbering, and that the ledger's decoded columns
still say what the signed bytes say (an edited amount in the database is found too)."""
from dataclasses import dataclass, field

from icpurse.host.terminals import journal_records as jv

_COLUMNS = ("kind", "state", "key_version", "uid", "card_seq", "amount", "balance_after", "txn", "reader_time")


@dataclass
class TerminalAudit:
    terminal: str
    records: int = 0
    first: int = 0
    last: int = 0
    problems: list = field(default_factory=list)  # journal.Problem

    @property
    def ok(self):
        return not self.problems

    def as_dict(self):
        return {"terminal": self.terminal, "records": self.records, "first": self.first, "last": self.last,
                "ok": self.ok, "problems": [p.evidence() for p in self.problems]}


def audit_terminal(ledger, number, keys) -> TerminalAudit:
    """`keys`: {key_version: journal key of this terminal}."""
    rows = ledger.store.journal_records(number)
    out = TerminalAudit(number, len(rows))
    if not rows:
        return out
    out.first, out.last = rows[0].number, rows[-1].number
    term = int(number)
    # the first collected record may follow compacted, never-collected ones: its link is unknown
    prev_number = rows[0].number - 1
    prev_mac = jv.ZERO_MAC if prev_number == 0 else None
    if prev_number:
        out.problems.append(jv.Problem("gap", 1, "records 1..%d were never collected" % prev_number))
    good, problems = jv.verify_sequence([r.raw for r in rows], term, keys, prev_number, prev_mac)
    out.problems += problems
    stop = len(good)
    if stop < len(rows) and problems and problems[-1].kind != "gap":
        # carry on after the bad record so every problem is listed, not only the first
        rest = rows[stop + 1:]
        if rest:
            bad = jv.decode(rows[stop].raw)
            more, later = jv.verify_sequence([r.raw for r in rest], term, keys, bad.number, bad.mac)
            out.problems += later
    for row in rows:
        try:
            rec = jv.decode(row.raw)
        except ValueError:
            continue
        differ = [c for c in _COLUMNS if getattr(rec, c) != getattr(row, c)]
        if rec.number != row.number:
            differ.insert(0, "number")
        if differ:
            out.problems.append(jv.Problem("columns", row.number, "ledger columns %s of record %d differ from its "
                                           "signed bytes (edited in the database)" % (", ".join(differ), row.number),
                                           row.raw))
    return out
