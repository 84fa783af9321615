"""Top-up at the counter (docs/business-rules.md "Kiosk top-up") on simulated cards: the happy path,
automatic reversal, unconfirmed + re-confirmation, voids, and refusals that change nothing."""
import datetime as dt

import pytest

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.hil.sim import factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host.cards import CardProblem, OperationRefused, card_txn
from icpurse.host.issuance import topup
from icpurse.host.issuance.topup import reconfirm, top_up, unconfirmed, void
from icpurse.host.ledger import HolderInfo
from icpurse.keys import demo, exports
from icpurse.keys.hierarchy import KeyDomain
from topup_world import Recorder, balance_block, card_state, dump, sim_card

HOLDER = HolderInfo(name="Wang Wu", id_number="110105194912310021", contact="13700000000")


@pytest.fixture
def ring(demo_keyset):
    return demo_keyset.to_keyring()


@pytest.fixture
def world(ledger, ring, demo_keyset):
    card, number = sim_card(ledger, ring, demo_keyset.issuer)  # anonymous, 500 yuan loaded
    return card, number


def tap(card):
    card.faults = Faults()
    if not card.powered:
        card.enter_field()
    return CardTag(card)


def agree(ledger, ring, card, number):
    """Card (as a store reader sees it) and ledger agree to the fen; returns the balance."""
    balance, value, _ = card_state(tap(card), ring)
    assert balance == value == balance_block(card)
    assert ledger.books.outstanding_balance(number) == balance
    assert ledger.books.unbalanced_entries() == []
    return balance


def test_happy_path_top_up_is_confirmed_and_card_equals_ledger(ledger, ring, world, demo_keyset):
    card, number = world
    assert agree(ledger, ring, card, number) == 50000
    out = top_up(ledger, tap(card), ring, 12345, "seller", card=number, issuer=demo_keyset.issuer, migrate=False)
    assert (out.state, out.amount, out.card_balance) == ("confirmed", 12345, 62345)
    assert agree(ledger, ring, card, number) == 62345
    t = ledger.topup_records.topup(out.txn_id)
    assert t.state == "confirmed" and t.card_seq_before == 2 and t.card_seq_after == 3
    # the card's slot carries the issuer's terminal 0 and the ledger number of the top-up
    access, keys, v = purse.open_card(tap(card), ring, purse.KEY_A)
    view = purse.read_card(access, keys, v)
    assert view.slot[codec.PURSE_SLOT_KIND] == codec.TXN_LOAD
    assert (view.slot[codec.PURSE_SLOT_TERMINAL], view.slot[codec.PURSE_SLOT_TXN]) == (0, card_txn(t.id))
    log = purse.read_log(access, keys, view)
    assert (log[0][codec.LOG_ENTRY_SEQ], log[0][codec.LOG_ENTRY_AMOUNT]) == (3, 12345)
    assert ledger.cards.card(number).state == "in_use"
    assert unconfirmed(ledger) == []
    assert ledger.audit.verify_audit_log() is None


def test_resending_the_same_transaction_never_credits_twice(ledger, ring, world):
    card, number = world
    first = top_up(ledger, tap(card), ring, 1000, "seller", txn_id="KIOSK-1", migrate=False)
    again = top_up(ledger, tap(card), ring, 1000, "seller", txn_id="KIOSK-1", migrate=False)
    assert first.state == again.state == "confirmed"
    assert agree(ledger, ring, card, number) == 51000
    with pytest.raises(OperationRefused, match="already used"):
        top_up(ledger, tap(card), ring, 2000, "seller", txn_id="KIOSK-1", migrate=False)


def test_card_write_refused_before_the_commit_point_is_reversed(ledger, ring, world, monkeypatch):
    card, number = world
    before = dump(card)

    def refuse(*a, **k):
        raise purse.Refused(codec.R_CARD_CHANGED, "a different card is in the field")

    monkeypatch.setattr(purse, "commit", refuse)
    out = top_up(ledger, tap(card), ring, 5000, "seller", migrate=False)
    assert out.state == "reversed" and "账务撤销" in out.message
    assert dump(card) == before
    assert ledger.topup_records.topup(out.txn_id).state == "reversed"
    monkeypatch.undo()
    assert agree(ledger, ring, card, number) == 50000
    assert top_up(ledger, tap(card), ring, 5000, "seller", migrate=False).state == "confirmed"  # a retry is a new top-up
    assert agree(ledger, ring, card, number) == 55000


def test_failed_write_with_card_still_present_is_settled_at_once(ledger, ring, world):
    """The card does not answer one command (RF timeout) but stays on the reader: it is read back
    at once; before the slot write -> reversed, from the slot write on -> confirmed. Never unconfirmed."""
    card, number = world
    probe = Recorder()
    card.faults = probe
    top_up(ledger, CardTag(card), ring, 100, "seller", migrate=False)
    total = probe.count
    expected = agree(ledger, ring, card, number)
    states = set()
    for n in range(total):
        card.faults = Recorder(timeout_at=n)
        try:
            out = top_up(ledger, CardTag(card), ring, 100, "seller", migrate=False)
        except CardProblem:  # while reading, before anything is booked
            states.add("not read")
            assert agree(ledger, ring, card, number) == expected
            continue
        assert out.state in ("confirmed", "reversed"), (n, out)
        states.add(out.state)
        expected += 100 if out.state == "confirmed" else 0
        assert agree(ledger, ring, card, number) == expected
    assert states == {"not read", "confirmed", "reversed"}


# the writes of a top-up: 0 ceiling, 1-2 slot (the commit point), 3 balance block, 4-5 log entry
CEILING, SLOT_A, SLOT_B, BALANCE, LOG_A, LOG_B = range(6)


def test_card_pulled_mid_write_is_unconfirmed_then_reconfirmed_once(ledger, ring, world):
    card, number = world
    card.faults = Recorder(tear_write=SLOT_B, mode="new")  # pulled as the slot's last block is written
    out = top_up(ledger, CardTag(card), ring, 700, "seller", migrate=False)
    assert out.state == "unconfirmed" and "reconfirm" in out.message
    assert [t.txn_id for t in unconfirmed(ledger)] == [out.txn_id]
    # docs/business-rules.md "Kiosk top-up", step 9: no new sale before the last one is settled
    with pytest.raises(OperationRefused, match="reconfirm"):
        top_up(ledger, tap(card), ring, 700, "seller", migrate=False)
    (settled,) = reconfirm(ledger, tap(card), ring, "seller")
    assert settled.state == "confirmed"
    assert agree(ledger, ring, card, number) == 50700
    access, keys, v = purse.open_card(tap(card), ring, purse.KEY_A)
    view = purse.read_card(access, keys, v)
    assert purse.read_log(access, keys, view)[0][codec.LOG_ENTRY_SEQ] == 3  # the card side was finished
    before, books = dump(card), ledger.books.trial_balance()
    assert reconfirm(ledger, tap(card), ring, "seller") == []
    assert dump(card) == before and ledger.books.trial_balance() == books


def test_reconfirm_reverses_a_top_up_the_card_never_got(ledger, ring, world):
    card, number = world
    card.faults = Recorder(tear_write=SLOT_A, mode="mix", seed=5)  # the slot never became valid
    out = top_up(ledger, CardTag(card), ring, 700, "seller", migrate=False)
    assert out.state == "unconfirmed"
    assert ledger.books.outstanding_balance(number) == 50700  # the money is booked until settled
    (settled,) = reconfirm(ledger, tap(card), ring)
    assert settled.state == "reversed"
    assert agree(ledger, ring, card, number) == 50000


def store_debits(card, amounts):
    reader = exports.reader_keyset(demo.demo_domain(), 31000001).to_keyring()
    for i, amount in enumerate(amounts):
        access, keys, v = purse.open_card(tap(card), reader)
        view = purse.recover(access, purse.read_card(access, keys, v))
        purse.commit(access, view, purse.plan_debit(view, amount, purse.Policy(), view.slot[2], 31000001, 9 + i), 1)


@pytest.mark.parametrize("torn, debits, found", [
    (BALANCE, 1, "confirmed"),  # the top-up is the card's older slot (read in full for this)
    (LOG_B, 2, "confirmed"),  # both slots moved on; the log entry still tells
    (BALANCE, 2, "undecided"),  # slots moved on and no log entry was written: the card cannot tell
])
def test_reconfirm_after_the_card_moved_on(ledger, ring, world, torn, debits, found):
    """Unconfirmed top-up, then the holder spends at a store (the reader rolls the balance forward
    from the ceiling): the top-up is found at its counter value in the older slot or the log."""
    card, number = world
    card.faults = Recorder(tear_write=torn, mode="old" if torn == BALANCE else "new")
    out = top_up(ledger, CardTag(card), ring, 700, "seller", migrate=False)
    assert out.state == "unconfirmed"
    store_debits(card, [50] * debits)
    for i in range(debits):
        ledger.books.book_redemption(number, 50, "store:%d" % i)
    (settled,) = reconfirm(ledger, tap(card), ring)
    assert settled.state == found
    if found == "confirmed":
        assert agree(ledger, ring, card, number) == 50700 - 50 * debits
    else:
        assert "reconciliation" in settled.message
        assert ledger.topup_records.topup(out.txn_id).state == "unconfirmed"  # left for reconciliation, not guessed


def tap_with(card, faults):
    tag = tap(card)
    card.faults = faults
    return tag


# --- refusals: nothing written, nothing booked ---------------------------------------------


def refused_unchanged(ledger, card, number, fn, exc, match=None):
    before, books, topups = dump(card), ledger.books.trial_balance(), len(ledger.topup_records.card_topups(number))
    with pytest.raises(exc, match=match):
        fn()
    assert dump(card) == before
    assert ledger.books.trial_balance() == books and len(ledger.topup_records.card_topups(number)) == topups


def test_top_up_over_the_cap_is_refused(ledger, ring, world):
    card, number = world
    refused_unchanged(ledger, card, number, lambda: top_up(ledger, tap(card), ring, 50001, "seller", migrate=False),
                      OperationRefused, "cap")
    refusal = [e for e in ledger.audit.audit_entries(action="topup.pending") if e.result == "refused"]
    assert len(refusal) == 1 and refusal[0].card_number == number
    assert top_up(ledger, tap(card), ring, 50000, "seller", migrate=False).state == "confirmed"  # exactly at the cap: fine
    assert agree(ledger, ring, card, number) == 100000


def test_cap_counts_the_card_balance(ledger, ring, world):
    """The card holds more than the ledger knows (say an unreconciled credit): the cap applies to it."""
    card, number = world
    ledger.books.book_redemption(number, 20000, "store:x")  # the ledger believes 300 yuan are left
    refused_unchanged(ledger, card, number, lambda: top_up(ledger, tap(card), ring, 60000, "seller", migrate=False),
                      OperationRefused, "1,100")


def test_blacklisted_card_is_refused(ledger, ring, world):
    card, number = world
    ledger.blacklist.blacklist_add("auditor", number, "reported stolen")
    refused_unchanged(ledger, card, number, lambda: top_up(ledger, tap(card), ring, 1000, "seller", migrate=False),
                      OperationRefused, "blacklisted")


def test_card_of_another_issuer_is_refused(ledger, ring, world):
    other = exports.workstation_keyset(KeyDomain.generate(77)).to_keyring()
    stranger = factory.issued_card(b"\x7d\x00\x00\x01", other.for_card(b"\x7d\x00\x00\x01", 1),
                                   factory.identity_fields(1, issuer=77), 0)
    stranger.faults = Faults()
    before = dump(stranger)
    with pytest.raises(CardProblem, match="not a card of this issuer"):
        top_up(ledger, CardTag(stranger), ring, 1000, "seller", migrate=False)
    assert dump(stranger) == before and ledger.topup_records.unconfirmed_topups() == []


def test_card_number_entered_must_match_the_card(ledger, ring, world):
    card, number = world
    refused_unchanged(ledger, card, number, lambda: top_up(ledger, tap(card), ring, 1000, "seller",
                                                           card="900099999999", migrate=False), OperationRefused, "not 900099999999")


def test_named_card_top_up_and_real_name(ledger, ring, demo_keyset):
    card, number = sim_card(ledger, ring, demo_keyset.issuer, kind="named", face_value=100000, holder=HOLDER)
    # real-name capture at every named-card top-up: without the holder's ID (or an agent's) nothing happens
    refused_unchanged(ledger, card, number, lambda: top_up(ledger, tap(card), ring, 1000, "seller", migrate=False), OperationRefused,
                      "real-name")
    holder = {"holder_id_number": HOLDER.id_number}
    assert top_up(ledger, tap(card), ring, 400000, "seller", records=holder, migrate=False).state == "confirmed"  # named cap 5,000
    assert agree(ledger, ring, card, number) == 500000
    refused_unchanged(ledger, card, number, lambda: top_up(ledger, tap(card), ring, 1, "seller", records=holder, migrate=False),
                      OperationRefused, "cap")


def test_older_key_version_is_rekeyed_then_topped_up(ledger, ring, world):
    card, number = world  # key version 1; the workstation's current version is 2 (tests/issuance/test_rekey*.py)
    two = exports.workstation_keyset(demo.demo_domain(versions=2)).to_keyring()
    out = top_up(ledger, tap(card), two, 1000, "seller", migrate=False)
    assert out.state == "confirmed" and "re-keyed to key version 2" in out.message
    assert ledger.cards.card(number).key_version == 2 and agree(ledger, two, card, number) == 51000
    assert [e.action for e in ledger.audit.audit_entries(card=number) if e.action.startswith("card.rekey")] == [
        "card.rekey.start", "card.rekey.done"]
    assert ledger.audit.verify_audit_log() is None


def test_card_absent_nothing_booked(ledger, ring, world):
    card, number = world
    card.leave_field()
    with pytest.raises(CardProblem):
        top_up(ledger, CardTag(card), ring, 1000, "seller", migrate=False)
    assert ledger.topup_records.card_topups(number) == [] and ledger.books.outstanding_balance(number) == 50000


# --- void --------------------------------------------------------------------------------------


def test_void_same_day_takes_the_full_amount_back(ledger, ring, world):
    card, number = world
    t = top_up(ledger, tap(card), ring, 20000, "seller", migrate=False)
    out = void(ledger, tap(card), ring, t.txn_id, "finance", amount=20000)
    assert (out.state, out.card_balance) == ("voided", 50000)
    assert agree(ledger, ring, card, number) == 50000
    access, keys, v = purse.open_card(tap(card), ring, purse.KEY_A)
    view = purse.read_card(access, keys, v)
    assert (view.slot[codec.PURSE_SLOT_KIND], view.slot[codec.PURSE_SLOT_AMOUNT]) == (codec.TXN_VOID, 20000)
    assert ledger.topup_records.topup(t.txn_id).state == "voided"
    again = void(ledger, tap(card), ring, t.txn_id, "finance")
    assert again.state == "voided" and agree(ledger, ring, card, number) == 50000


def test_void_after_cut_off_is_refused(ledger, ring, world, clock):
    card, number = world
    t = top_up(ledger, tap(card), ring, 20000, "seller", migrate=False)
    clock.t = dt.datetime(2026, 3, 2, 15, 1, tzinfo=dt.timezone.utc)  # 23:01 CST, after the 23:00 cut-off
    refused_unchanged(ledger, card, number, lambda: void(ledger, tap(card), ring, t.txn_id, "finance"),
                      OperationRefused, "refund or adjustment")
    clock.t = dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.timezone.utc)  # next day
    refused_unchanged(ledger, card, number, lambda: void(ledger, tap(card), ring, t.txn_id, "finance"),
                      OperationRefused, "same day")
    assert ledger.topup_records.topup(t.txn_id).state == "confirmed"


def test_void_of_an_unconfirmed_top_up_is_refused(ledger, ring, world):
    card, number = world
    card.faults = Recorder(tear_write=SLOT_A, mode="old")
    t = top_up(ledger, CardTag(card), ring, 20000, "seller", migrate=False)
    assert t.state == "unconfirmed"
    before = dump(card)
    with pytest.raises(OperationRefused, match="reconfirm"):
        void(ledger, tap(card), ring, t.txn_id, "finance")
    assert dump(card) == before
    reconfirm(ledger, tap(card), ring)  # -> reversed
    refused_unchanged(ledger, card, number, lambda: void(ledger, tap(card), ring, t.txn_id, "finance"),
                      OperationRefused, "only a confirmed")


def test_partial_void_is_refused(ledger, ring, world):
    card, number = world
    t = top_up(ledger, tap(card), ring, 20000, "seller", migrate=False)
    refused_unchanged(ledger, card, number, lambda: void(ledger, tap(card), ring, t.txn_id, "finance", amount=10000),
                      OperationRefused, "full amount")
    (entry,) = ledger.audit.audit_entries(action="topup.void_refused")
    assert (entry.result, entry.card_number, entry.operator) == ("refused", number, "finance")


def test_void_with_the_card_absent_books_nothing(ledger, ring, world):
    card, number = world
    t = top_up(ledger, tap(card), ring, 20000, "seller", migrate=False)
    card.leave_field()
    books = ledger.books.trial_balance()
    with pytest.raises(CardProblem):
        void(ledger, CardTag(card), ring, t.txn_id, "finance")
    assert ledger.books.trial_balance() == books
    assert ledger.topup_records.topup(t.txn_id).state == "confirmed" and ledger.topup_records.topup(t.txn_id).void_state is None


def test_void_when_part_is_spent_is_refused(ledger, ring, world):
    card, number = world
    t = top_up(ledger, tap(card), ring, 20000, "seller", migrate=False)
    reader = exports.reader_keyset(demo.demo_domain(), 31000001).to_keyring()
    access, keys, v = purse.open_card(tap(card), reader)
    view = purse.read_card(access, keys, v)
    purse.commit(access, view, purse.plan_debit(view, 60000, purse.Policy(), view.slot[2], 31000001, 1), 1)
    ledger.books.book_redemption(number, 60000, "store:1")
    refused_unchanged(ledger, card, number, lambda: void(ledger, tap(card), ring, t.txn_id, "finance"),
                      OperationRefused, "already spent")


def test_torn_void_is_rolled_forward_by_a_store_reader(ledger, ring, world):
    """A void is a debit-like slot: if the card leaves after the slot, a store reader (key A)
    completes the balance block by decrement, as for a torn debit."""
    card, number = world
    t = top_up(ledger, tap(card), ring, 20000, "seller", migrate=False)
    probe = Recorder()
    card.faults = probe
    void(ledger, CardTag(card), ring, t.txn_id, "finance")
    assert len(probe.writes) == 5  # slot (2 blocks), TRANSFER of the decremented balance, log (2 blocks)
    card2, number2 = sim_card(ledger, ring, 0xD0)
    t2 = top_up(ledger, tap(card2), ring, 20000, "seller", migrate=False)
    card2.faults = Recorder(tear_write=1, mode="new")  # pulled as the void's slot is completed
    out = void(ledger, CardTag(card2), ring, t2.txn_id, "finance")
    assert out.state == "void_unconfirmed"
    assert balance_block(card2) == 70000  # the decrement did not happen
    reader = exports.reader_keyset(demo.demo_domain(), 31000001).to_keyring()
    access, keys, v = purse.open_card(tap(card2), reader)
    view = purse.recover(access, purse.read_card(access, keys, v))
    assert view.repaired and view.balance == balance_block(card2) == 50000
    (settled,) = reconfirm(ledger, tap(card2), ring)
    assert settled.state == "voided"
    assert agree(ledger, ring, card2, number2) == 50000
    assert topup.unconfirmed(ledger) == []
