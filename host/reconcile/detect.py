"""Card histories from every observation, and the divergences in them (rollback, clone).

An observation is a card state seen somewhere: a committed debit in a reader journal (card_seq,
balance_after), a card read by an audit, a top-up's write. Observations of one card are walked in
time order and threaded into *lines*: an observation continues a line when its counter is higher
than the line's last one and — when it directly follows it — its amount explains the balance step.
One card has one line. A second line means the same card showed two histories:

* **rollback**: the old line ends before the new one starts (an old dump written back, then used);
* **clone**: both lines keep being seen after the fork (two physical cards in use at once).

Both mean the card's counters cannot be trusted any more: the finding proposes a blacklist entry.
"""
from dataclasses import dataclass, field
from operator import itemgetter

from icpurse.host import codec

_DEBITS = (codec.TXN_DEBIT,)
_CREDITS = (codec.TXN_LOAD, codec.TXN_REFUND, codec.TXN_ADJUST, codec.TXN_RECOVER)


@dataclass(frozen=True)
class Observation:
    card_number: str
    time: int  # seconds since 2000-01-01 UTC
    seq: int
    balance: int
    source: str  # journal | audit | topup | ...
    ref: str  # where it was seen, e.g. "journal 10000001 #3"
    kind: int | None = None
    amount: int | None = None
    terminal: int | None = None
    txn: int | None = None

    def same_state(self, other) -> bool:
        """Same sequence number and nothing known that differs (a journal's PENDING/COMMITTED pair,
        or an audit of the state a journal recorded)."""
        if self.seq != other.seq or self.balance != other.balance:
            return False
        for a, b in ((self.terminal, other.terminal), (self.txn, other.txn), (self.amount, other.amount)):
            if a is not None and b is not None and a != b:
                return False
        return True

    def as_dict(self):
        return {"time": self.time, "seq": self.seq, "balance": self.balance, "source": self.source, "ref": self.ref,
                "kind": self.kind, "amount": self.amount, "terminal": self.terminal, "txn": self.txn}


@dataclass
class Line:
    obs: list = field(default_factory=list)

    @property
    def last(self):
        return self.obs[-1]

    @property
    def first_time(self):
        return self.obs[0].time

    @property
    def last_time(self):
        return self.obs[-1].time

    def continues(self, o: Observation) -> bool:
        last = self.last
        if o.seq <= last.seq:
            return False
        if o.seq == last.seq + 1 and o.amount is not None and o.kind is not None:
            if o.kind in _DEBITS:
                return last.balance - o.amount == o.balance
            if o.kind in _CREDITS:
                return last.balance + o.amount == o.balance
        return True  # transactions in between were not seen (yet): nothing contradicts


@dataclass
class Divergence:
    card_number: str
    kind: str  # rollback | clone
    fork: Observation  # first observation of the second history
    conflicting: Observation | None  # an earlier observation with the same seq and other content
    highest_before: Observation  # the highest counter seen before the fork
    lines: list

    def evidence(self):
        return {"fork": self.fork.as_dict(),
                "conflicting": self.conflicting.as_dict() if self.conflicting else None,
                "highest_before": self.highest_before.as_dict(),
                "histories": [[o.as_dict() for o in line.obs] for line in self.lines]}

    def summary(self):
        if self.kind == "rollback":
            what = "counter went back: seq %d (%s) after seq %d (%s)" % (
                self.fork.seq, self.fork.ref, self.highest_before.seq, self.highest_before.ref)
        else:
            what = "two histories in use: seq %d (%s) beside seq %d (%s)" % (
                self.fork.seq, self.fork.ref, self.highest_before.seq, self.highest_before.ref)
        if self.conflicting is not None:
            what += "; seq %d also seen with balance %d (%s)" % (
                self.conflicting.seq, self.conflicting.balance, self.conflicting.ref)
        return "card %s: %s" % (self.card_number, what)


def thread(observations):
    """Observations of one card -> (lines, divergences)."""
    obs = sorted(observations, key=lambda o: (o.time, o.seq))
    lines = []
    forks = []  # (fork observation, conflicting, highest before)
    by_state = {}  # (seq, balance) -> observations seen with it: "the same state again" in one lookup
    first_at = {}  # seq -> the first observation seen with it
    highest = None  # the first observation seen with the highest counter
    for o in obs:
        if any(p.same_state(o) for p in by_state.get((o.seq, o.balance), ())):
            continue  # the same state seen again
        fits = [ln for ln in lines if ln.continues(o)]
        if fits:
            max(fits, key=lambda ln: ln.last.seq).obs.append(o)
        elif not lines:
            lines.append(Line([o]))
        else:
            lines.append(Line([o]))
            forks.append((o, first_at.get(o.seq), highest, len(lines) - 1))
        by_state.setdefault((o.seq, o.balance), []).append(o)
        first_at.setdefault(o.seq, o)
        if highest is None or o.seq > highest.seq:
            highest = o
    divergences = []
    for fork, conflicting, highest, idx in forks:
        new = lines[idx]
        older = [ln for i, ln in enumerate(lines) if i != idx and ln.first_time <= new.first_time]
        interleaved = any(ln.last_time > new.first_time for ln in older)
        kind = "clone" if interleaved else "rollback"
        divergences.append(Divergence(fork.card_number, kind, fork, conflicting, highest, list(lines)))
    return lines, divergences


def latest(lines):
    """The newest observation of the card over all its lines (by time, then counter)."""
    return max((ln.last for ln in lines), key=lambda o: (o.time, o.seq), default=None)


# An entry of `one_line`: an observation's fields as a tuple (the thread's inputs, without building an
# Observation for each of a city day's records); anything may follow `txn` (the source it came from).
E_TIME, E_SEQ, E_BALANCE, E_KIND, E_AMOUNT, E_TERMINAL, E_TXN = range(7)
_BY_TIME = itemgetter(E_TIME, E_SEQ)


def entry(o: Observation) -> tuple:
    """An Observation as a `one_line` entry (the Observation itself last)."""
    return o.time, o.seq, o.balance, o.kind, o.amount, o.terminal, o.txn, o


def one_line(entries, start=None):
    """The entry `thread` would end the card's only line with when these observations (entries, in
    the order `thread` would get them) thread to exactly one line without divergences; else None
    (also for none at all). What `thread` does with one line: in time order (stable, as its sort),
    an observation with a higher counter than the line's last must continue it (the balance step
    explained when it directly follows); one with a counter the line already has must be the same
    state as the line's observation with that counter (then it is skipped: counters on one line only
    rise, so that is the only candidate); anything else opens a second line, a divergence.
    `start`: an entry the line starts with, every one of `entries` after it in time (then counter)
    and in counter, else None (thread([start] + entries) when that holds)."""
    entries = sorted(entries, key=_BY_TIME)
    if start is None:
        last, on_line, floor = None, {}, None  # on_line: seq -> the line's entry with that counter
    else:
        if entries and (entries[0][0], entries[0][1]) <= (start[0], start[1]):
            return None  # (in time order, the first is the earliest)
        last, on_line, floor = start, {start[1]: start}, start[1]
    for e in entries:
        seq = e[1]
        if last is None:
            pass
        elif seq > last[1]:
            if seq == last[1] + 1 and e[4] is not None and e[3] is not None:
                if e[3] in _DEBITS:
                    if last[2] - e[4] != e[2]:
                        return None
                elif e[3] in _CREDITS and last[2] + e[4] != e[2]:
                    return None
        else:
            p = on_line.get(seq)
            if p is None or p[2] != e[2] or (floor is not None and seq <= floor):
                return None
            for i in (E_TERMINAL, E_TXN, E_AMOUNT):
                a, b = p[i], e[i]
                if a is not None and b is not None and a != b:
                    return None
            continue  # the same state seen again
        last = on_line[seq] = e
    return last
