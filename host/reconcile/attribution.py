"""Whose fault is a split card history: the card's, or the terminal's that wrote the records?

A reader's journal key sits in the reader. A merchant who extracts it can append MAC-valid debits
for a card that was never presented; they are collected and booked, and when the real card is next
seen its counter is below them. The same picture comes from a holder who writes an old dump back
after paying at that store. The bytes cannot tell the two apart (Classic cards sign nothing), so
the rule is about **witnesses** (docs/back-office.md "Who is to blame"):

* A history the card left behind (rollback-shaped: it ended before the card's current history
  started) whose records after the fork were **all written by one terminal T**, while the card's
  current history was seen by someone other than T, is *unexplained by the card's own history*:
  a terminal finding against T (`terminal_unexplained`), no blacklist proposal for the card, and
  T's unexplained debits do not count against the card's balance.
* Anything else — the old history seen by two parties, both histories in use at once (clone), or
  one card with such records at **two or more** terminals (a holder who rolls back again and
  again) — stays the card's: rollback / clone / forgery with a blacklist proposal, as before.

`split(observations)` is the whole rule, on one card's observations (detect.Observation); the
reconciliation engine calls it before threading the card's histories.
"""
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.host.reconcile.detect import latest, thread


@dataclass
class Unexplained:
    """Records of one terminal that the card's own later history does not contain."""

    card_number: str
    terminal: int
    records: list  # detect.Observation, oldest first
    seen_after: object  # the card's first observation on its current history after the fork
    lines: list = field(default_factory=list)

    @property
    def debit_fen(self):
        return sum(o.amount or 0 for o in self.records if o.kind == codec.TXN_DEBIT)

    def evidence(self):
        return {"card_number": self.card_number, "terminal": self.terminal,
                "records": [o.as_dict() for o in self.records], "card_seen_after": self.seen_after.as_dict(),
                "histories": [[o.as_dict() for o in ln.obs] for ln in self.lines]}

    def summary(self):
        seqs = [o.seq for o in self.records]
        return ("terminal %08d: %d journal record(s) for card %s (seq %d..%d, %d fen of debits) that the card's "
                "own history does not contain: the card was next seen at seq %d (%s)" % (
                    self.terminal, len(self.records), self.card_number, min(seqs), max(seqs), self.debit_fen,
                    self.seen_after.seq, self.seen_after.ref))


def _witness(o):
    return ("journal", o.terminal) if o.source == "journal" else (o.source, None)


def _one_round(observations):
    """The first divergence the rule attributes to a terminal, as Unexplained, or None."""
    lines, divergences = thread(observations)
    newest = latest(lines)
    current = next(ln for ln in lines if any(o is newest for o in ln.obs))
    for d in divergences:
        if d.kind != "rollback":
            continue
        fork = d.fork.seq
        left = [o for ln in lines if ln is not current for o in ln.obs if o.seq >= fork]
        after = [o for o in current.obs if o.seq >= fork]
        witnesses = {_witness(o) for o in left}
        if len(witnesses) != 1 or not left or not after:
            continue
        kind, terminal = next(iter(witnesses))
        if kind != "journal" or terminal is None:
            continue
        if all(_witness(o) == ("journal", terminal) for o in after):
            continue  # the same terminal on both sides: nothing to weigh its word against
        if min(o.time for o in after) < max(o.time for o in left):
            continue  # both in use at once: a clone, the card's
        seen = min(after, key=lambda o: (o.time, o.seq))
        return Unexplained(d.card_number, terminal, sorted(left, key=lambda o: (o.seq, o.time)), seen, list(lines))
    return None


def split(observations):
    """One card's observations -> (observations to thread as the card's history, [Unexplained])."""
    kept = list(observations)
    found = []
    while True:
        u = _one_round(kept)
        if u is None:
            break
        found.append(u)
        gone = {id(o) for o in u.records}
        kept = [o for o in kept if id(o) not in gone]
    if len({u.terminal for u in found}) >= 2:
        return list(observations), []  # two terminals for one card: the card is the common factor
    return kept, found
