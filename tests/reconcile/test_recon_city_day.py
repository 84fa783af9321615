"""A simulated day: several store readers, hundreds of transactions, a top-up, a card pulled
mid-write and presented again — collected, closed and reconciled to the fen."""
import random

import pytest

from icpurse.host.readers.serial import ReaderLinkError
from icpurse.host.reconcile import engine
from icpurse.host.terminals import service
from support import store as sw

TERMINALS = ("36000001", "36000002", "36000003", "36000004")
CARDS = 24
SALES = 300


def test_a_day_of_sales_reconciles_to_the_fen(world):
    rng = random.Random(20260302)
    cards = [world.issue(50000) for _ in range(CARDS)]
    for t in TERMINALS:
        world.reader(t)
        world.sign_in(t)
    paid_in = 50000 * CARDS
    sold = 0
    per_terminal = {t: [0, 0] for t in TERMINALS}
    for i in range(SALES):
        t = rng.choice(TERMINALS)
        n, card = rng.choice(cards)
        amount = rng.randint(1, 2500)
        if i == 150:
            world.top_up(n, 10000, "T-noon")
            paid_in += 10000
        if i == 200:
            # the customer pulls the card while its purse slot (the commit point) is being written:
            # no sale; presented again, the reader rolls the pending record back and sells anew
            card.faults.tear_next_write("mix", seed=7)
            with pytest.raises(ReaderLinkError):
                world.tap(t, n, amount)
        world.tap(t, n, amount)
        sold += amount
        per_terminal[t][0] += 1
        per_terminal[t][1] += amount
    # every sale is a PENDING and a COMMITTED record; the torn one a PENDING and a ROLLED_BACK
    assert sum(world.readers[t][1].info()["journal_next"] - 1 for t in TERMINALS) == 2 * SALES + 2
    for t in TERMINALS:
        batch, rep = service.day_close(world.ledger, world.readers[t][1], world.keys(t), "clerk", t)
        assert rep.problems == [] and batch.balanced
        assert (batch.reader_count, batch.reader_sum) == tuple(per_terminal[t]), t
    rep = engine.run(world.ledger, sw.DOMAIN, day=world.ledger.business_date())
    assert rep.findings == []
    t = rep.totals
    assert t["journal_debit_fen"] == t["redeemed_fen"] == t["day_close_reader_fen"] == t["day_close_journal_fen"] == sold
    assert t["journal_debits"] == sum(c for c, _ in per_terminal.values())
    assert t["outstanding_fen"] == paid_in - sold
    assert t["outstanding_fen"] == sum(world.read(card).balance for _, card in cards)
    assert t["discrepancy_fen"] == 0 and t["unbalanced_entries"] == 0 and t["pending_unresolved"] == 0
    for n, card in cards:
        assert world.ledger.books.outstanding_balance(n) == world.read(card).balance, n
    assert engine.run(world.ledger, sw.DOMAIN).booked["redemptions"] == 0


def test_the_same_day_twice_is_not_booked_twice(world):
    n, card = world.issue(50000)
    world.reader(TERMINALS[0])
    world.sign_in(TERMINALS[0])
    for amount in (100, 200, 300):
        world.tap(TERMINALS[0], n, amount)
    world.collect(TERMINALS[0])
    first = engine.run(world.ledger, sw.DOMAIN)
    second = engine.run(world.ledger, sw.DOMAIN)
    assert (first.booked["fen"], second.booked["fen"]) == (600, 0)
    assert world.ledger.books.outstanding_balance(n) == 49400
