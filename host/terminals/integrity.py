"""How far a terminal's collected journal is whole, and what the reader said its journal held.

Two rules keep a reader's journal from being trimmed or rewritten unnoticed (docs/back-office.md
"Journal integrity"):

* **Acknowledge only a whole, chained prefix.** Records are stored as soon as each verifies on its
  own (MAC under the terminal's journal key), in whatever order they come; the reader is told to
  drop them only up to the last record of an unbroken run from the previous acknowledgement, every
  record chained to the one before (`verified_end`). A number missing stops the run until the record
  comes, or until an operator closes the gap finding (the records are then lost for good, on record).
* **High-water marks.** At every contact the reader's last record number and that record's MAC
  (its INFO) are kept (`ledger.store.note_journal_mark`). A reader later reporting fewer records
  than a mark lost records (`truncated`); a collected record whose MAC is not the one reported under
  its number had its number reused (`number`).

Acknowledgements are marks too (source "ack"): the run is re-checked from the last one, never
trusting what the reader says was acknowledged.
"""
from icpurse.host.terminals import journal_records as jv

ACK = "ack"


def accepted_gaps(ledger, number) -> dict:
    """{first missing: last missing} of gaps an operator closed (the records are given up)."""
    out = {}
    for e in ledger.store.exceptions(kind="journal_gap"):
        if e.terminal == number and e.status in ("resolved", "dismissed") and "missing_to" in e.evidence:
            out[int(e.evidence["number"])] = int(e.evidence["missing_to"])
    return out


def last_ack(ledger, number) -> int:
    return max((m.last_number for m in ledger.store.journal_marks(number) if m.source == ACK), default=0)


def verified_end(ledger, number, start=None):
    """(n, problems): records start+1..n are all in the ledger, each chained to the one before;
    `problems` says why the run stops earlier than the highest stored record (gap or chain).
    `start`: the last acknowledgement (default: from the ledger's marks)."""
    start = last_ack(ledger, number) if start is None else start
    # one decode pass over the stored run (journal_records.decode_many), as collection verifies in batches
    recs = {r.number: r for r in jv.decode_many(
        [r.raw for r in ledger.store.journal_records(number, from_number=max(start, 1))])}
    gaps = accepted_gaps(ledger, number)
    if start == 0:
        prev_mac = jv.ZERO_MAC
    else:
        prev_mac = recs[start].mac if start in recs else None
    n = start
    problems = []
    highest = max(recs, default=0)
    while n < highest:
        k = n + 1
        rec = recs.get(k)
        if rec is not None:
            if prev_mac is not None and rec.prev_mac != prev_mac:
                problems.append(jv.Problem("chain", k, "record %d does not chain to record %d" % (k, k - 1), rec.raw))
                break
            n, prev_mac = k, rec.mac
        elif k in gaps:
            n, prev_mac = gaps[k], None  # given up by an operator: the chain restarts after it
        else:
            to = min(x for x in recs if x > k) - 1
            problems.append(jv.Problem("gap", k, "records %d..%d missing: nothing after them is acknowledged "
                                       "until they come (or the finding is closed)" % (k, to), b"",
                                       {"missing_to": to}))
            break
    return n, problems


def check_marks(ledger, number, reader_last: int, since: int, until: int):
    """Problems with the reader's high-water marks: `reader_last` (its last record now) below a mark
    it reported before, and collected records since < n <= until whose MAC is not the reported one."""
    problems = []
    marks = [m for m in ledger.store.journal_marks(number) if m.source != ACK]
    top = max(marks, key=lambda m: m.last_number, default=None)
    if top is not None and reader_last < top.last_number:
        problems.append(jv.Problem(
            "truncated", reader_last + 1, "the reader's journal ends at record %d, but it reported record %d "
            "(%s, %s): records were removed" % (reader_last, top.last_number, top.source,
                                                top.seen_at.isoformat(timespec="seconds")),
            b"", {"reader_last": reader_last, "reported_last": top.last_number}))
    wanted = [m for m in marks if since < m.last_number <= until]
    if wanted:
        stored = {r.number: r for r in ledger.store.journal_records(number, from_number=min(m.last_number for m in wanted))}
        for m in wanted:
            r = stored.get(m.last_number)
            if r is not None and jv.decode(r.raw).mac != m.last_mac:
                problems.append(jv.Problem(
                    "number", m.last_number, "record %d differs from the record %d the reader reported (%s, %s): "
                    "its numbers were reused after records were removed" % (
                        m.last_number, m.last_number, m.source, m.seen_at.isoformat(timespec="seconds")),
                    r.raw, {"reported_mac": m.last_mac.hex()}))
    return problems
