"""The void (撤销) of a load on the card: a VOID slot that lowers the balance by the load's amount,
committed by decrement (key B may decrement), torn and repaired like a debit; and `read_slot`, the
issuer's full read of either slot.

Dual-run: CPython (pytest) and MicroPython (tests/micropython/run.mjs)."""
import mpytest
import purse_fixtures as fx

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.protocol import layout


def issuer_view(card):
    access, keys, v = purse.open_card(CardTag(card), fx.issuer_ring(), purse.KEY_B)
    return access, keys, purse.recover(access, purse.read_card(access, keys, v))


def test_void_plan_lowers_the_balance_and_keeps_the_day_total():
    card = fx.new_card(10000)
    fx.debit(card, 700)  # today's spending: 700
    access, keys, view = issuer_view(card)
    plan = purse.plan_void(view, 2000, 0, 4242)
    assert plan == (4, 7300, fx.TODAY, 700, codec.TXN_VOID, 2000, 0, 4242)
    with mpytest.raises(purse.Refused) as e:
        purse.plan_void(view, 9301, 0, 1)
    assert e.value.code == codec.R_INSUFFICIENT


def test_void_commits_with_key_b_by_decrement():
    card = fx.new_card(10000)
    access, keys, view = issuer_view(card)
    slot = purse.commit(access, view, purse.plan_void(view, 2500, 0, 9), fx.NOW)
    assert slot[codec.PURSE_SLOT_KIND] == codec.TXN_VOID and fx.balance_block(card) == 7500
    access, view = fx.tap(card)
    assert view.balance == 7500 and not view.repaired
    assert purse.read_log(access, access.keys, view)[0][codec.LOG_ENTRY_KIND] == codec.TXN_VOID


def _torn_void(card):
    """Commit a void of 2500 and pull the card right after its slot (the decrement never happens)."""
    access, keys, view = issuer_view(card)
    plan = purse.plan_void(view, 2500, 0, 9)
    faults = Faults()
    card.faults = faults
    # the slot is 2 writes; the card leaves before the next command (the decrement)
    writes = []

    def on_write(old, new, _orig=faults.on_write):
        writes.append(1)
        if len(writes) == 2:
            faults.remove_after(0)
        return _orig(old, new)

    faults.on_write = on_write
    try:
        purse.commit(access, view, plan, fx.NOW)
        assert False, "the card should have left"
    except purse.MifareError:
        pass
    card.faults = Faults()
    card.enter_field()


def test_a_torn_void_is_rolled_forward_by_a_store_reader():
    card = fx.new_card(10000)
    _torn_void(card)
    assert fx.balance_block(card) == 10000
    access, view = fx.tap(card)  # key A: decrement the balance block by the void's amount
    assert view.repaired and view.balance == 7500 and fx.balance_block(card) == 7500


def test_a_torn_void_is_rolled_forward_by_the_issuer():
    card = fx.new_card(10000)
    _torn_void(card)
    access, keys, view = issuer_view(card)
    assert view.repaired and view.balance == 7500 and fx.balance_block(card) == 7500


def test_read_slot_reads_either_slot_in_full():
    card = fx.new_card(10000)  # seq 1 (issue, slot 0), seq 2 (load, slot 1)
    access, keys, view = issuer_view(card)
    older = purse.read_slot(access, keys, view, 1 - view.active)
    assert older[codec.PURSE_SLOT_SEQ] == 1 and older[codec.PURSE_SLOT_KIND] == codec.TXN_ISSUE
    assert purse.read_slot(access, keys, view, view.active) == view.slot
    card.blocks[layout.slot_block(0) + 1][0] ^= 0xFF  # a torn / forged slot does not verify
    access, keys, view = issuer_view(card)
    assert purse.read_slot(access, keys, view, 0) is None
