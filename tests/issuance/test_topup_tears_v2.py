"""The top-up and void tear sweeps of test_topup_tears.py on layout v2 cards (docs/card-layout.md,
"Layout v2"): an issuer write is header, credit record, then the two value blocks (the balance
block is the commit point). Pulled before every command, every write torn old / new / mixed:
ledger and card agree to the fen after `reconfirm`, booked exactly when the card carries it, and
the card still works (a store reader debits it, the counter tops it up)."""
from test_topup_tears import present, ring, still_works, sweep  # noqa: F401  (ring: the fixture)
from topup_world import sim_card

from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.topup import top_up, void
from icpurse.firmware import purse
from icpurse.host import codec

AMOUNT = 100


def v2_card(ledger, ring, issuer):
    card, number = sim_card(ledger, ring, issuer, layout=2)
    access, keys, v = purse.open_card(CardTag(card), ring, purse.KEY_B)
    assert purse.read_card(access, keys, v).layout == codec.LAYOUT_V2
    return card, number


def test_top_up_tear_sweep_on_a_v2_card(ledger, ring, demo_keyset):
    card, number = v2_card(ledger, ring, demo_keyset.issuer)
    start = ledger.books.outstanding_balance(number)
    outcomes, faults, total = sweep(ledger, ring, card, number,
                                    lambda tag: top_up(ledger, tag, ring, AMOUNT, "seller"), AMOUNT)
    pulls = [f for f in faults if f[0] == "pull"]
    tears = {f[1] for f in faults if f[0] == "tear"}
    assert len(pulls) >= 8 and tears == set(range(4)), faults  # header, credit record, balance, backup
    assert outcomes[True] and outcomes[False], outcomes  # early faults roll back, late ones commit
    confirmed = [t for t in ledger.topup_records.card_topups(number) if t.state == "confirmed"]
    assert len(confirmed) == total and ledger.books.outstanding_balance(number) == start + total * AMOUNT
    still_works(ledger, ring, card, number)


def test_void_tear_sweep_on_a_v2_card(ledger, ring, demo_keyset):
    card, number = v2_card(ledger, ring, demo_keyset.issuer)
    current = {}

    def prepare():
        current["t"] = top_up(ledger, present(card), ring, AMOUNT, "seller")
        assert current["t"].state == "confirmed"

    outcomes, faults, total = sweep(ledger, ring, card, number,
                                    lambda tag: void(ledger, tag, ring, current["t"].txn_id, "finance"), -AMOUNT, prepare)
    tears = {f[1] for f in faults if f[0] == "tear"}
    assert tears == set(range(4)), faults  # header, credit record, backup, balance (lower first)
    assert outcomes[True] and outcomes[False], outcomes
    voided = [t for t in ledger.topup_records.card_topups(number) if t.state == "voided"]
    assert len(voided) == total
    still_works(ledger, ring, card, number)
