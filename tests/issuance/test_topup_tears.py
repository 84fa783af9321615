"""Exhaustive tear sweeps of a top-up and of a void at the counter (simulated card, fast CardTag
path): the card is pulled before every card command, and every WRITE/TRANSFER is torn leaving the
block old, new or a byte-wise mix. After each interruption the card is presented again and
`reconfirm` runs: ledger and card agree to the fen, the transaction is booked exactly when the card
carries it, a second `reconfirm` changes nothing, and the card still works."""
import itertools

import pytest

from icpurse.firmware import purse
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host.cards import CardProblem
from icpurse.host.issuance.topup import reconfirm, top_up, void
from icpurse.keys import demo, exports
from topup_world import Recorder, balance_block, card_state, dump, sim_card

AMOUNT = 100
MIX_SEEDS = (1, 7, 1234)
TEAR_MODES = [("old", 0), ("new", 0)] + [("mix", s) for s in MIX_SEEDS]


@pytest.fixture
def ring(demo_keyset):
    return demo_keyset.to_keyring()


def present(card):
    card.faults = Faults()
    if not card.powered:
        card.enter_field()
    return CardTag(card)


def check_settled(ledger, ring, card, number, before, after, outcome_states):
    """After an interruption and `reconfirm`: card == ledger, old or new balance, booked iff on the card,
    idempotent re-confirmation. Returns True if the transaction happened."""
    settled = reconfirm(ledger, present(card), ring)
    balance, value, _ = card_state(present(card), ring)
    assert balance == value == balance_block(card)
    assert balance in (before, after), (balance, before, after)
    assert ledger.books.outstanding_balance(number) == balance
    assert ledger.topup_records.unconfirmed_topups() == []
    assert ledger.books.unbalanced_entries() == []
    happened = balance == after
    states = outcome_states | {o.state for o in settled}
    assert not ({"confirmed", "voided"} & states and not happened), states
    snapshot, books = dump(card), ledger.books.trial_balance()
    assert reconfirm(ledger, present(card), ring) == []
    assert dump(card) == snapshot and ledger.books.trial_balance() == books
    return happened


def run(operation, card, faults):
    card.faults = faults
    try:
        out = operation(CardTag(card))
        states = {out.state}
    except CardProblem:  # pulled while the card was being read: nothing written or booked
        states = {"not read"}
    return states


def sweep(ledger, ring, card, number, operation, delta, prepare=None):
    """Every pull and every tear of `operation`. Returns ({happened: count} over the interrupted
    runs, the faults that fired, how many runs in all carried the transaction)."""
    outcomes = {True: 0, False: 0}
    total = [0]
    faults = []
    for n in itertools.count():
        if prepare:
            prepare()
        before = ledger.books.outstanding_balance(number)
        rec = Recorder(pull_at=n)
        states = run(operation, card, rec)
        happened = check_settled(ledger, ring, card, number, before, before + delta, states)
        total[0] += happened
        if "remove" not in rec.fired:
            assert happened
            break  # the operation ran to its end before command n
        outcomes[happened] += 1
        faults.append(("pull", n))
    for k in itertools.count():
        torn_any = False
        for mode, seed in TEAR_MODES:
            if prepare:
                prepare()
            before = ledger.books.outstanding_balance(number)
            rec = Recorder(tear_write=k, mode=mode, seed=seed)
            states = run(operation, card, rec)
            torn = any(f.startswith("tear") for f in rec.fired)
            happened = check_settled(ledger, ring, card, number, before, before + delta, states)
            total[0] += happened
            outcomes[happened] += torn
            torn_any = torn_any or torn
            if torn:
                faults.append(("tear", k, mode, seed))
        if not torn_any:
            break
    return outcomes, faults, total[0]


def still_works(ledger, ring, card, number):
    """A store reader takes the card (key A) and the counter can top it up again."""
    reader = exports.reader_keyset(demo.demo_domain(), 31000001).to_keyring()
    access, keys, v = purse.open_card(present(card), reader)
    view = purse.recover(access, purse.read_card(access, keys, v))
    assert not view.repaired
    out = top_up(ledger, present(card), ring, 1, "seller", migrate=False)
    assert out.state == "confirmed" and ledger.books.outstanding_balance(number) == out.card_balance


def test_top_up_tear_sweep(ledger, ring, demo_keyset):
    card, number = sim_card(ledger, ring, demo_keyset.issuer)
    start = ledger.books.outstanding_balance(number)
    outcomes, faults, total = sweep(ledger, ring, card, number,
                                    lambda tag: top_up(ledger, tag, ring, AMOUNT, "seller", migrate=False), AMOUNT)
    pulls = [f for f in faults if f[0] == "pull"]
    tears = {f[1] for f in faults if f[0] == "tear"}
    assert len(pulls) >= 15 and tears == set(range(6)), faults  # ceiling, slot x2, balance, log x2
    assert outcomes[True] and outcomes[False], outcomes  # early faults roll back, late ones commit
    confirmed = [t for t in ledger.topup_records.card_topups(number) if t.state == "confirmed"]
    assert len(confirmed) == total and ledger.books.outstanding_balance(number) == start + total * AMOUNT
    still_works(ledger, ring, card, number)


def test_void_tear_sweep(ledger, ring, demo_keyset):
    card, number = sim_card(ledger, ring, demo_keyset.issuer)
    current = {}

    def prepare():  # a fresh confirmed top-up to void each time
        current["t"] = top_up(ledger, present(card), ring, AMOUNT, "seller", migrate=False)
        assert current["t"].state == "confirmed"

    outcomes, faults, total = sweep(ledger, ring, card, number,
                                    lambda tag: void(ledger, tag, ring, current["t"].txn_id, "finance"), -AMOUNT, prepare)
    tears = {f[1] for f in faults if f[0] == "tear"}
    assert tears == set(range(5)), faults  # slot x2, balance (TRANSFER), log x2
    assert outcomes[True] and outcomes[False], outcomes
    voided = [t for t in ledger.topup_records.card_topups(number) if t.state == "voided"]
    assert len(voided) == total
    still_works(ledger, ring, card, number)


def test_reconfirm_itself_survives_pulls_and_tears(ledger, ring, demo_keyset):
    """Re-confirmation finishes the card side (balance block, log entry) before confirming: pulled
    or torn at any point, the top-up stays unconfirmed and the next re-confirmation completes it."""
    card, number = sim_card(ledger, ring, demo_keyset.issuer)
    fired = {"pull": 0, "tear": 0}

    def attempt(**plan):
        before = ledger.books.outstanding_balance(number)
        # a top-up committed on the card (slot written) whose balance block and log were not
        card.faults = Recorder(tear_write=3, mode="old")
        assert top_up(ledger, CardTag(card), ring, AMOUNT, "seller", migrate=False).state == "unconfirmed"
        present(card)
        card.faults = rec = Recorder(**plan)
        try:
            reconfirm(ledger, CardTag(card), ring)
        except CardProblem:  # pulled while the card was read or its card side finished: nothing confirmed yet
            assert ledger.topup_records.unconfirmed_topups() != []
        if rec.fired:
            fired["tear" if "tear_write" in plan else "pull"] += 1
        # the next re-confirmation completes it: confirmed (the slot is the commit point), card == ledger
        assert check_settled(ledger, ring, card, number, before, before + AMOUNT, set()) is True
        return bool(rec.fired)

    for n in itertools.count():
        if not attempt(pull_at=n):
            break
    for k in itertools.count():
        if not [attempt(tear_write=k, mode=m, seed=s) for m, s in TEAR_MODES][0]:
            break
    assert fired["pull"] >= 10 and fired["tear"] == 3 * len(TEAR_MODES), fired  # balance block, log x2
