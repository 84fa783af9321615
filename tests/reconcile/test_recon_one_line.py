"""`detect.one_line`, the clean-line fast path of reconciliation, against `detect.thread` on random
card histories: it must name the same newest observation exactly when `thread` finds one line and no
divergence, and nothing otherwise; with a `start` (a card's stored tail) exactly when every other
observation comes after it in time and counter and `thread` of all of them finds one clean line."""
import random

import pytest

from icpurse.host import codec
from icpurse.host.reconcile import detect
from icpurse.host.reconcile.detect import Observation

KINDS = (codec.TXN_DEBIT, codec.TXN_LOAD, codec.TXN_REFUND, None, 99)


def _history(rng, n):
    """A card's observations: mostly one consistent line (so that clean ones are common), with
    repeats, ties in time, gaps, forks and odd fields mixed in at random rates."""
    out, seq, balance, time = [], rng.randint(0, 5), rng.randint(0, 3000), rng.randint(0, 50)
    for _ in range(n):
        r = rng.random()
        if out and r < 0.12:  # the same state seen again, maybe by someone knowing less
            o = rng.choice(out)
            out.append(Observation(o.card_number, o.time + rng.randint(-2, 3), o.seq, o.balance,
                                   rng.choice(("journal", "audit")), "again %d" % len(out), o.kind,
                                   o.amount if rng.random() < 0.7 else rng.choice((None, (o.amount or 0) + 1)),
                                   o.terminal if rng.random() < 0.8 else rng.choice((None, 7)),
                                   o.txn if rng.random() < 0.8 else None))
            continue
        if out and r < 0.18:  # a fork: an old counter with other content
            o = rng.choice(out)
            out.append(Observation("c", o.time + rng.randint(0, 4), o.seq + rng.randint(-1, 1),
                                   o.balance + rng.choice((0, -100)), "journal", "fork %d" % len(out),
                                   codec.TXN_DEBIT, 100, 3, 900 + len(out)))
            continue
        kind = rng.choice(KINDS)
        amount = rng.choice((None, 50, 100, 200))
        step = rng.choice((1, 1, 1, 2, 3))
        seq += step
        if kind == codec.TXN_DEBIT and amount is not None:
            balance -= amount if rng.random() < 0.9 else amount + 1
        elif kind in (codec.TXN_LOAD, codec.TXN_REFUND) and amount is not None:
            balance += amount if rng.random() < 0.9 else amount - 1
        else:
            balance += rng.choice((0, 10, -10))
        time += rng.choice((0, 0, 1, 5, -1))
        out.append(Observation("c", time, seq, balance, rng.choice(("journal", "audit", "topup")),
                               "obs %d" % len(out), kind, amount, rng.choice((None, 1, 2)),
                               rng.choice((None, len(out)))))
    rng.shuffle(out) if rng.random() < 0.3 else None  # the input order matters only on ties in time
    return out


def _clean_end(observations):
    lines, divergences = detect.thread(observations)
    if len(lines) == 1 and not divergences:
        return lines[0].last
    return None


@pytest.mark.parametrize("seed", range(8))
def test_one_line_agrees_with_thread(seed):
    rng = random.Random(seed)
    clean = dirty = 0
    for _ in range(2500):
        obs = _history(rng, rng.randint(0, 14))
        want = _clean_end(obs)
        got = detect.one_line([detect.entry(o) for o in obs])
        assert (got[-1] if got is not None else None) is want, obs
        clean += want is not None
        dirty += want is None
    assert clean > 300 and dirty > 300  # both outcomes were exercised


@pytest.mark.parametrize("seed", range(8))
def test_one_line_from_a_tail_agrees_with_thread(seed):
    rng = random.Random(1000 + seed)
    clean = dirty = 0
    for _ in range(2500):
        obs = _history(rng, rng.randint(1, 14))
        t, new = obs[0], obs[1:]
        after = all(o.seq > t.seq and (o.time, o.seq) > (t.time, t.seq) for o in new)
        want = _clean_end([t] + new) if after else None
        got = detect.one_line([detect.entry(o) for o in new], start=detect.entry(t))
        assert (got[-1] if got is not None else None) is want, obs
        clean += want is not None
        dirty += want is None
    assert clean > 300 and dirty > 300
