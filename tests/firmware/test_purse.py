"""The purse protocol on a simulated card: read, verify, debit, top up, refusals.

Dual-run: CPython (pytest) and MicroPython (tests/micropython/run.mjs)."""
import mpytest
import purse_fixtures as fx

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.firmware.keyring import NoKey
from icpurse.protocol import layout

R = purse.Refused


def refused(code, fn, *args):
    with mpytest.raises(R) as e:
        fn(*args)
    assert e.value.code == code, (e.value.code, e.value.message)


def test_fresh_card_reads_zero():
    card = fx.new_card()
    access, view = fx.tap(card)
    assert view.balance == 0 and view.seq == 1 and view.value == 0
    assert view.slot[codec.PURSE_SLOT_KIND] == codec.TXN_ISSUE
    assert view.card_number == b"\x50\x31\x00\x00\x00\x01"


def test_top_up_then_debit_moves_exact_fen():
    card = fx.new_card()
    fx.top_up(card, 50000)
    assert fx.balance_block(card) == 50000
    slot = fx.debit(card, 1234)
    assert slot[codec.PURSE_SLOT_BALANCE] == 48766 and slot[codec.PURSE_SLOT_SEQ] == 3
    assert fx.balance_block(card) == 48766
    access, view = fx.tap(card)
    assert view.balance == 48766 and not view.repaired
    log = purse.read_log(access, access.keys, view)
    assert [e[codec.LOG_ENTRY_SEQ] for e in log] == [3, 2, 1]
    assert log[0][codec.LOG_ENTRY_AMOUNT] == 1234 and log[0][codec.LOG_ENTRY_TERMINAL] == fx.TERMINAL
    assert log[1][codec.LOG_ENTRY_KIND] == codec.TXN_LOAD


def test_debit_refusals_write_nothing():
    card = fx.new_card(1000)
    before = [bytes(b) for b in card.blocks]
    refused(codec.R_INSUFFICIENT, fx.debit, card, 1001)
    refused(codec.R_OVER_TXN_CAP, fx.debit, card, 600, purse.Policy(txn_cap=500))
    refused(codec.R_BAD_AMOUNT, fx.debit, card, 0)
    refused(codec.R_BAD_AMOUNT, fx.debit, card, -5)
    assert [bytes(b) for b in card.blocks] == before


def test_daily_cap_counts_the_day():
    card = fx.new_card(10000)
    policy = purse.Policy(daily_cap=1000)
    fx.debit(card, 600, policy)
    refused(codec.R_OVER_DAILY_CAP, fx.debit, card, 500, policy)
    fx.debit(card, 400, policy)
    access, view = fx.tap(card)
    assert view.slot[codec.PURSE_SLOT_DAY_SPENT] == 1000


def test_expiry_with_grace():
    card = fx.new_card(1000, expiry=fx.TODAY - 10)
    access, view = fx.tap(card)
    purse.check_usable(view, purse.Policy(grace_days=30), fx.TODAY)  # inside grace
    refused(codec.R_EXPIRED, purse.check_usable, view, purse.Policy(grace_days=5), fx.TODAY)
    refused(codec.R_BLACKLISTED, purse.check_usable, view, purse.Policy(), fx.TODAY, True)


def test_forged_slot_is_refused_without_touching_the_card():
    card = fx.new_card(5000)
    # Attacker with key A changes the balance in the committed slot without the MAC key.
    access, view = fx.tap(card)
    blk = layout.slot_block(view.active)
    card.blocks[blk][4] = 0xFF  # a balance byte
    before = [bytes(b) for b in card.blocks]
    # The forged slot fails its MAC, so the older slot (issue, balance 0) is the best valid one;
    # the balance block (5000) is not explained by a tear of that slot: refused, nothing written.
    refused(codec.R_INCONSISTENT, fx.tap, card)
    assert [bytes(b) for b in card.blocks] == before and fx.balance_block(card) == 5000
    card2 = fx.new_card(5000)
    card2.blocks[layout.IDENTITY_BLOCK][6] ^= 1
    refused(codec.R_FORGED, fx.tap, card2)


def test_both_slots_invalid_is_corrupt():
    card = fx.new_card(100)
    for i in (0, 1):
        card.blocks[layout.slot_block(i)][0] ^= 0x55
    refused(codec.R_CORRUPT, fx.tap, card)


def test_reader_cannot_top_up():
    card = fx.new_card(100)
    access, view = fx.tap(card)
    plan = purse.plan_credit(view, 100, purse.Policy(), fx.TODAY, codec.TXN_LOAD)
    refused(codec.R_NOT_ALLOWED, purse.commit, access, view, plan, fx.NOW)
    with mpytest.raises(NoKey):
        access.keys.sector_key(layout.VALUE_SECTOR, purse.KEY_B)


def test_top_up_cap_on_new_balance():
    card = fx.new_card(90000)
    from icpurse.hil.sim.tag import CardTag
    access, keys, v = purse.open_card(CardTag(card), fx.issuer_ring(), purse.KEY_B)
    view = purse.read_card(access, keys, v)
    refused(codec.R_OVER_BALANCE_CAP, purse.plan_credit, view, 10001, purse.Policy(balance_cap=100000),
            fx.TODAY, codec.TXN_LOAD)


def test_unknown_card_and_key_versions():
    from icpurse.hil.sim import factory
    blank = factory.blank_card(fx.UID)
    refused(codec.R_UNKNOWN_CARD, fx.tap, blank)
    card_v2 = fx.new_card(300, version=2)
    refused(codec.R_WRONG_KEY_VERSION, fx.tap, card_v2, fx.reader_ring(1))
    access, view = fx.tap(card_v2, fx.reader_ring(1, 2))  # rollover: reader holds both versions
    assert view.key_version == 2 and view.balance == 300


def test_top_up_incomplete_is_left_to_the_issuer():
    card = fx.new_card(1000)
    # Simulate a top-up torn after its slot: slot says 3000 while ceiling and balance say 1000.
    from icpurse.hil.sim.tag import CardTag
    access, keys, v = purse.open_card(CardTag(card), fx.issuer_ring(), purse.KEY_B)
    view = purse.read_card(access, keys, v)
    plan = purse.plan_credit(view, 2000, purse.Policy(), fx.TODAY, codec.TXN_LOAD)
    raw = purse.seal_slot(keys, view.uid, v, plan)
    access.write(layout.slot_block(1 - view.active), raw)
    refused(codec.R_TOPUP_INCOMPLETE, fx.tap, card)
    fx.top_up(card, 1)  # the issuer recovers first (raises ceiling, writes balance), then credits
    access, view = fx.tap(card)
    assert view.balance == 3001 and fx.balance_block(card) == 3001
