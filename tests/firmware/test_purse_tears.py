"""Exhaustive tear sweeps of the purse protocol (docs/card-layout.md, tear recovery rule).

For a debit (store reader, key A) and a top-up (issuer, key B): the card is pulled before every
card command, and every WRITE/TRANSFER is torn leaving the block old, new or a byte-wise mix.
After each interruption the card is presented again and must: open (never bricked), hold either
the old or the new balance to the fen, agree with its committed slot, and take another transaction.
Dual-run: CPython and MicroPython."""
import purse_fixtures as fx

from icpurse.firmware import codec, purse
from icpurse.firmware.mifare import MifareError
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from purse_fixtures import Recorder

START = 10000
AMOUNT = 2345
MIX_SEEDS = (1, 7, 1234)


def do_debit(card):
    fx.debit(card, AMOUNT, txn=77)


def do_top_up(card):
    fx.top_up(card, AMOUNT)


def interrupted(operation, faults):
    card = fx.new_card(START)
    card.faults = faults
    try:
        operation(card)
        done = True
    except (MifareError, purse.Refused):
        done = False
    card.faults = Faults()
    card.enter_field()  # presented again
    return card, done


def check_after(card, expected_new, issuer_first):
    if issuer_first:
        # An interrupted top-up is finished at the counter (key B) before the card goes out.
        tag = CardTag(card)
        access, keys, v = purse.open_card(tag, fx.issuer_ring(), purse.KEY_B)
        purse.recover(access, purse.read_card(access, keys, v))
    access, view = fx.tap(card)
    assert view.balance in (START, expected_new), view.balance
    assert fx.balance_block(card) == view.balance
    committed = view.seq == 3  # issue = 1, the first top-up = 2, this transaction = 3
    assert committed == (view.balance == expected_new)
    # the card still works
    fx.debit(card, 1, txn=78)
    access, view2 = fx.tap(card)
    assert view2.balance == view.balance - 1 and view2.seq == view.seq + 1
    return committed


def sweep(operation, expected_new, issuer_first):
    base = Recorder()
    card, done = interrupted(operation, base)
    assert done
    total, writes = base.count, list(base.writes)
    assert writes, "the operation writes"
    outcomes = {True: 0, False: 0}
    for n in range(total + 1):
        card, done = interrupted(operation, Recorder(pull_at=n))
        outcomes[check_after(card, expected_new, issuer_first)] += 1
    for n in writes:
        for mode, seeds in (("old", (0,)), ("new", (0,)), ("mix", MIX_SEEDS)):
            for seed in seeds:
                card, done = interrupted(operation, Recorder(tear_at=n, mode=mode, seed=seed))
                outcomes[check_after(card, expected_new, issuer_first)] += 1
    # Both outcomes occur: early pulls roll back, late ones commit.
    assert outcomes[True] and outcomes[False], outcomes
    return total, len(writes)


def test_debit_survives_a_pull_before_every_command_and_every_torn_write():
    total, writes = sweep(do_debit, START - AMOUNT, issuer_first=False)
    assert total >= 10 and writes >= 3


def test_top_up_survives_a_pull_before_every_command_and_every_torn_write():
    total, writes = sweep(do_top_up, START + AMOUNT, issuer_first=True)
    assert total >= 10 and writes >= 4
