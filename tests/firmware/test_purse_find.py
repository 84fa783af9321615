"""purse.find_txn, the one rule for "is this transaction on the card?" (docs/card-layout.md,
"Finding a transaction on a card"): every outcome, what it may be concluded from, and which card
blocks it reads to get there.

Dual-run: CPython (pytest) and MicroPython (tests/micropython/run.mjs)."""
import purse_fixtures as fx

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.hil.sim.tag import CardTag

DEBIT = codec.TXN_DEBIT
T = fx.TERMINAL


def issuer(card):
    """The card opened and read with key B, as the issuer's tools do."""
    access, keys, v = purse.open_card(CardTag(card), fx.issuer_ring(), purse.KEY_B)
    return access, purse.read_card(access, keys, v)


def reader(card):
    """The card opened and read with key A, as the store reader does before it settles anything."""
    access, keys, v = purse.open_card(CardTag(card), fx.reader_ring())
    return access, purse.read_card(access, keys, v)


def commands(card, fn):
    """(result of fn(), card commands it sent)."""
    rec = fx.Recorder()
    card.faults = rec
    out = fn()
    card.faults = fx.Faults()
    return out, rec.count


def snapshot(card):
    return [bytes(b) for b in card.blocks]


def restore(card, blocks):
    for i, b in enumerate(blocks):
        card.blocks[i][:] = b


def test_committed_in_the_newest_slot_reads_nothing_more():
    card = fx.new_card(5000)  # seq 2
    fx.debit(card, 700, txn=41)  # seq 3
    access, view = reader(card)
    found, n = commands(card, lambda: purse.find_txn(access, view, T, 41, DEBIT, 700, 3))
    assert found == purse.COMMITTED and n == 0
    assert view.log is None


def test_each_field_must_match():
    card = fx.new_card(5000)
    fx.debit(card, 700, txn=41)  # seq 3
    access, view = reader(card)
    for terminal, txn, kind, amount in ((T, 42, DEBIT, 700), (T + 1, 41, DEBIT, 700), (T, 41, codec.TXN_VOID, 700),
                                        (T, 41, DEBIT, 701)):
        # another transaction holds counter 3: ours did not happen
        assert purse.find_txn(access, view, terminal, txn, kind, amount, 3) == purse.ABSENT, (terminal, txn, kind,
                                                                                               amount)


def test_absent_when_the_counter_never_reached_it():
    card = fx.new_card(5000)  # seq 2: the reader saw 2, wrote nothing that stuck
    access, view = reader(card)
    found, n = commands(card, lambda: purse.find_txn(access, view, T, 41, DEBIT, 700, 3))
    assert found == purse.ABSENT and n == 0


def test_an_older_copy_of_the_card_is_its_own_outcome():
    card = fx.new_card(5000)  # seq 2
    old = snapshot(card)
    fx.debit(card, 100, txn=1)  # seq 3
    fx.debit(card, 100, txn=2)  # seq 4: a reader saw 4 and writes 5 ...
    restore(card, old)  # ... but the card presented is a dump from seq 2
    access, view = reader(card)
    assert view.seq == 2
    assert purse.find_txn(access, view, T, 3, DEBIT, 100, 5) == purse.OLD_COPY
    assert purse.find_txn(access, view, T, 3, DEBIT, 100, 3) == purse.ABSENT  # saw 2: not older than that


def test_one_transaction_later_the_older_slot_decides_without_the_log():
    card = fx.new_card(5000)
    fx.debit(card, 700, txn=41)  # seq 3
    fx.debit(card, 50, txn=42)  # seq 4
    access, view = reader(card)
    older = 1 - view.active
    assert view.slots[older] is None  # read_card read only its head
    found, n = commands(card, lambda: purse.find_txn(access, view, T, 41, DEBIT, 700, 3))
    assert found == purse.COMMITTED
    assert view.log is None and n == 3  # authenticate its sector, read its two blocks
    assert view.slots[older][codec.PURSE_SLOT_SEQ] == 3
    assert purse.find_txn(access, view, T, 40, DEBIT, 700, 3) == purse.ABSENT


def test_further_back_the_log_decides():
    card = fx.new_card(5000)
    fx.debit(card, 700, txn=41)  # seq 3
    for txn in (42, 43, 44):
        fx.debit(card, 10, txn=txn)  # seq 4..6
    access, view = reader(card)
    assert purse.find_txn(access, view, T, 41, DEBIT, 700, 3) == purse.COMMITTED
    assert view.log is not None
    # the log is read once per view
    found, n = commands(card, lambda: purse.find_txn(access, view, T, 99, DEBIT, 10, 4))
    assert found == purse.ABSENT and n == 0


def test_unknown_when_neither_slot_nor_log_shows_the_counter():
    card = fx.new_card(5000)  # seq 2
    access, view = reader(card)
    purse.recover(access, view)
    plan = purse.plan_debit(view, 700, purse.Policy(), fx.TODAY, T, 41)
    purse.commit(access, view, plan, fx.NOW, log=False)  # seq 3, its log entry never written
    fx.debit(card, 10, txn=42)  # seq 4
    fx.debit(card, 10, txn=43)  # seq 5: slot 3 overwritten
    access, view = reader(card)
    assert purse.find_txn(access, view, T, 41, DEBIT, 700, 3) == purse.UNKNOWN
    assert purse.find_txn(access, view, T, 99, DEBIT, 700, 3) == purse.UNKNOWN


def test_unknown_once_the_log_ring_went_round():
    card = fx.new_card(50000)
    fx.debit(card, 700, txn=41)  # seq 3
    for txn in range(100, 100 + codec.LOG_ENTRIES):
        fx.debit(card, 1, txn=txn)
    access, view = reader(card)
    assert purse.find_txn(access, view, T, 41, DEBIT, 700, 3) == purse.UNKNOWN


def test_without_a_counter_anywhere_in_slots_or_log():
    card = fx.new_card(5000)
    access, view = issuer(card)
    purse.recover(access, view)
    purse.commit(access, view, purse.plan_credit(view, 300, purse.Policy(), fx.TODAY, codec.TXN_REFUND, 0, 77),
                 fx.NOW)  # seq 3
    fx.debit(card, 10, txn=1)  # seq 4
    access, view = issuer(card)
    assert purse.find_txn(access, view, 0, 77, codec.TXN_REFUND, 300) == purse.COMMITTED  # older slot
    fx.debit(card, 10, txn=2)
    fx.debit(card, 10, txn=3)
    access, view = issuer(card)
    assert purse.find_txn(access, view, 0, 77, codec.TXN_REFUND, 300) == purse.COMMITTED  # log
    assert purse.find_txn(access, view, 0, 78, codec.TXN_REFUND, 300) == purse.ABSENT
    assert purse.find_txn(access, view, 0, 77, codec.TXN_REFUND, 301) == purse.ABSENT


def test_an_issue_credit_of_txn_0_is_the_face_value_load_of_older_tools():
    card = fx.new_card()  # personalised: ISSUE of 0 fen at seq 1
    access, view = issuer(card)
    assert purse.find_txn(access, view, 0, 5, codec.TXN_ISSUE, 10000) == purse.ABSENT
    purse.commit(access, view, purse.plan_credit(view, 10000, purse.Policy(), fx.TODAY, codec.TXN_ISSUE), fx.NOW)
    access, view = issuer(card)
    assert purse.find_txn(access, view, 0, 5, codec.TXN_ISSUE, 10000) == purse.COMMITTED
    assert purse.find_txn(access, view, 0, 5, codec.TXN_ISSUE, 20000) == purse.ABSENT
    assert purse.find_txn(access, view, 0, 5, codec.TXN_LOAD, 10000) == purse.ABSENT  # only ISSUE


def test_a_new_issue_credit_matches_its_own_txn_only():
    card = fx.new_card()
    access, view = issuer(card)
    purse.commit(access, view, purse.plan_credit(view, 10000, purse.Policy(), fx.TODAY, codec.TXN_ISSUE, 0, 5),
                 fx.NOW)
    access, view = issuer(card)
    assert purse.find_txn(access, view, 0, 5, codec.TXN_ISSUE, 10000, 2) == purse.COMMITTED
    assert purse.find_txn(access, view, 0, 6, codec.TXN_ISSUE, 10000) == purse.ABSENT


def test_writing_a_log_entry_forgets_the_log_read_before():
    card = fx.new_card(5000)
    access, view = issuer(card)
    assert purse.find_txn(access, view, 0, 9, codec.TXN_LOAD, 100) == purse.ABSENT
    assert view.log is not None
    purse.recover(access, view)
    slot = purse.commit(access, view, purse.plan_credit(view, 100, purse.Policy(), fx.TODAY, codec.TXN_LOAD, 0, 9),
                        fx.NOW)
    assert view.log is None
    assert purse.find_txn(access, view, 0, 9, codec.TXN_LOAD, 100, slot[codec.PURSE_SLOT_SEQ]) == purse.COMMITTED
