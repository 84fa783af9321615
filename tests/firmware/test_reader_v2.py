"""The store reader with layout v2 cards, and what it remembers of recent cards (issue 11).

Dual-run (CPython and MicroPython): link frames -> firmware -> PN532 driver -> simulated PN532 ->
card, as tests/firmware/test_reader.py, with the debit's tears and power losses swept the same way.
"""
import purse_fixtures as fx
import reader_fixtures as rf
from crashfs import CrashFS, PowerLoss

from icpurse.firmware.hal.sim import FlashPowerLoss, SimFlash
from icpurse.hil.sim.faults import Faults
from icpurse.host import codec
from icpurse.protocol import layout

START = 20000


def v2(balance=START, **kw):
    return fx.new_card(balance, layout=2, **kw)


def refusal(vr, amount=100):
    try:
        rf.debit(vr, amount)
    except rf.LinkRefused as e:
        return e
    raise AssertionError("debit was not refused")


def configure(vr, balance_cap=0, v1_until=0, txn_cap=0, daily_cap=0):
    """The programme's card rules reach the reader in its signed day configuration."""
    rf.configure(vr, balance_cap=balance_cap, v1_until=v1_until, txn_cap=txn_cap, daily_cap=daily_cap)


def test_a_v2_debit_touches_one_sector_and_is_journalled_after_the_signal():
    vr = rf.reader()
    card = v2()
    rf.present(vr, card)
    calls = []
    orig = card.authenticate

    def auth(*args):
        calls.append(args[1])
        return orig(*args)

    card.authenticate = auth
    res = rf.debit(vr, 1234)
    assert res[codec.DEBIT_RESULT_BALANCE] == START - 1234
    assert res[codec.DEBIT_RESULT_CARD_NUMBER] == b"\x50\x31\x00\x00\x00\x01"
    assert fx.balance_block(card) == START - 1234 and fx.value(card, layout.BACKUP_BLOCK) == START - 1234
    assert calls == [layout.BALANCE_BLOCK]  # one authentication: the purse sector
    records = rf.journal(vr)
    assert [r[codec.JOURNAL_RECORD_STATE] for r in records] == [codec.JR_PENDING, codec.JR_COMMITTED]
    assert vr.ui.state == 3


def test_consecutive_debits_on_v1_and_v2_cards_in_one_reader():
    vr = rf.reader()
    a, b = v2(), fx.new_card(START, uid=b"\x01\x02\x03\x04")
    for i in range(4):
        for name, card in (("a", a), ("b", b)):
            rf.present(vr, card, name)
            res = rf.debit(vr, 100)
            assert res[codec.DEBIT_RESULT_BALANCE] == START - 100 * (i + 1)
    total, per_txn = rf.committed_debits(rf.journal(vr))
    assert total == 800 and max(per_txn.values()) == 1


def test_an_old_copy_of_the_card_is_refused_at_the_reader_that_saw_it():
    for make in (v2, fx.new_card):
        vr = rf.reader()
        card = make(START)
        rf.present(vr, card)
        rf.debit(vr, 500)
        dump = card.to_mfd()
        rf.debit(vr, 700)
        for i, b in enumerate(fx.blocks_of(dump)):
            card.blocks[i][:] = b  # the holder writes the older dump back
        before = card.to_mfd()
        e = refusal(vr, 100)
        assert e.detail == codec.R_OLDER_STATE, e
        assert card.to_mfd() == before
        # a reader that never saw the card cannot tell (docs/security.md: detected at collection)
        other = rf.reader()
        rf.present(other, card)
        assert rf.debit(other, 100)[codec.DEBIT_RESULT_BALANCE] == START - 500 - 100


def test_the_memory_survives_a_reboot():
    vr = rf.reader()
    card = v2()
    rf.present(vr, card)
    dump = card.to_mfd()
    rf.debit(vr, 300)
    vr.boot()
    for i, b in enumerate(fx.blocks_of(dump)):
        card.blocks[i][:] = b
    rf.present(vr, card)
    assert refusal(vr).detail == codec.R_OLDER_STATE


def test_a_balance_over_the_programme_cap_is_refused():
    vr = rf.reader()
    configure(vr, balance_cap=50000)
    ok, rich = v2(50000, uid=b"\x01\x02\x03\x04"), v2(50001)
    rf.present(vr, ok, "ok")
    assert rf.debit(vr, 1)[codec.DEBIT_RESULT_BALANCE] == 49999
    rf.present(vr, rich, "rich")
    assert refusal(vr).detail == codec.R_OVER_BALANCE_CAP


def test_the_daily_total_is_the_readers_own():
    vr = rf.reader()
    configure(vr, daily_cap=3000)
    card = v2()
    rf.present(vr, card)
    rf.debit(vr, 2000)
    assert refusal(vr, 1500).detail == codec.R_OVER_DAILY_CAP
    assert rf.debit(vr, 1000)[codec.DEBIT_RESULT_BALANCE] == START - 3000


def test_v1_cards_are_refused_after_the_transition():
    vr = rf.reader()
    configure(vr, v1_until=fx.TODAY - 1)
    old = fx.new_card(START, uid=b"\x01\x02\x03\x04")
    rf.present(vr, old, "old")
    assert refusal(vr).detail == codec.R_TRANSITION_OVER
    rf.present(vr, v2(), "new")
    assert rf.debit(vr, 1)[codec.DEBIT_RESULT_BALANCE] == START - 1
    configure(vr, v1_until=fx.TODAY)
    rf.present(vr, old, "old")
    assert rf.debit(vr, 1)[codec.DEBIT_RESULT_BALANCE] == START - 1


def _commands_of_a_debit():
    vr = rf.reader()
    card = v2()
    card.faults = fx.Recorder()
    rf.present(vr, card)
    rf.debit(vr, 777)
    return card.faults.count, card.faults.writes


def _settle(vr, card):
    card.faults = Faults()
    rf.present(vr, card)
    res = rf.debit(vr, 1)
    total, per_txn = rf.committed_debits(rf.journal(vr))
    assert res[codec.DEBIT_RESULT_BALANCE] == START - total, (res, total)
    assert fx.balance_block(card) == res[codec.DEBIT_RESULT_BALANCE]
    assert max(per_txn.values()) == 1, "a transaction committed twice"
    assert codec.decode_reader_info(vr.request(codec.LINK_CMD_INFO))[codec.READER_INFO_PENDING] == 0
    return total


def test_pull_the_v2_card_before_every_command_then_present_it_again():
    count, writes = _commands_of_a_debit()
    assert count <= 8 and len(writes) == 2  # select, auth, 2 reads, 2 x (decrement, transfer)
    outcomes = set()
    for n in range(count + 1):
        vr = rf.reader()
        card = v2()
        rf.present(vr, card)
        card.faults.remove_after(n)
        try:
            rf.debit(vr, 777)
        except rf.LinkRefused:
            pass
        outcomes.add(_settle(vr, card))
    assert outcomes == {1, 778}, outcomes


def test_every_write_of_a_v2_debit_torn_in_each_way():
    count, writes = _commands_of_a_debit()
    seen = set()
    for n in writes:
        for mode, seed in (("old", 0), ("new", 0), ("mix", 1), ("mix", 11)):
            vr = rf.reader()
            card = v2()
            card.faults = fx.Recorder(tear_at=n, mode=mode, seed=seed)
            rf.present(vr, card)
            try:
                rf.debit(vr, 777)
            except rf.LinkRefused:
                pass
            seen.add(_settle(vr, card))
    assert seen == {1, 778}, seen


def test_power_loss_at_every_flash_write_of_a_debit():
    """The state ring (write-ahead before the card write) and the journal files after it: power
    fails at each of their writes, torn two ways; the reader boots and the card is presented again."""
    flash = SimFlash()
    fs = CrashFS()
    vr = rf.VirtualReader("/r", fs=fs, open_fn=fs.open, flash=flash)
    rf.provision(vr)
    card = v2()
    rf.present(vr, card)
    ring0, fs0 = flash.changes, fs.ops
    rf.debit(vr, 500)
    ring_writes, fs_writes = flash.changes - ring0, fs.ops - fs0
    assert ring_writes >= 1 and fs_writes >= 2
    points = [("ring", i, cut) for i in range(ring_writes) for cut in (0, 20)]
    points += [("fs", i, keep) for i in range(fs_writes) for keep in (0, 7)]
    outcomes = set()
    for where, at, cut in points:
        flash = SimFlash()
        fs = CrashFS()
        vr = rf.VirtualReader("/r", fs=fs, open_fn=fs.open, flash=flash)
        rf.provision(vr)
        card = v2()
        rf.present(vr, card)
        if where == "ring":
            flash.fail_at, flash.cut = flash.changes + at, cut
        else:
            fs.arm(fs.ops + at, cut)
        try:
            rf.debit(vr, 500)
        except (PowerLoss, FlashPowerLoss):
            pass
        flash.fail_at = -1
        fs.reboot()
        vr.boot()
        outcomes.add(_settle(vr, card))
    assert outcomes == {1, 501}, outcomes


def _migrate(card):
    """The issuer's move of a v1 card to v2 (host/issuance/migrate.py writes these same blocks, in
    this order, after journaling them): key B, the balance block untouched."""
    from icpurse.firmware import purse, purse2
    from icpurse.hil.sim.tag import CardTag
    access, keys, v = purse.open_card(CardTag(card), fx.issuer_ring(), purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, keys, v))
    for block, data in purse2.migration_blocks(keys, view, bytes(access.read(layout.BALANCE_BLOCK))):
        access.write(block, data)


def test_a_moved_card_is_taken_as_v2_and_its_v1_image_refused_where_the_card_was_seen_as_v2():
    vr = rf.reader()
    card = fx.new_card(START)
    rf.present(vr, card)
    assert rf.debit(vr, 300)[codec.DEBIT_RESULT_BALANCE] == START - 300  # seen as v1
    v1_dump = card.to_mfd()
    _migrate(card)
    assert fx.balance_block(card) == START - 300
    rf.present(vr, card)
    assert rf.debit(vr, 200)[codec.DEBIT_RESULT_BALANCE] == START - 500  # accepted as v2, at the carried balance
    assert fx.value(card, layout.BACKUP_BLOCK) == START - 500
    for i, b in enumerate(fx.blocks_of(v1_dump)):
        card.blocks[i][:] = b  # the holder writes the v1 image back (it needs the cracked key B)
    before = card.to_mfd()
    assert refusal(vr).detail == codec.R_OLDER_STATE  # back to v1 after v2: an old copy
    assert card.to_mfd() == before
    # a reader that never saw the card as v2 cannot tell during the transition (the back office
    # does: the counter goes back from v2 to v1), and refuses every v1 card after `v1_until`
    other = rf.reader()
    rf.present(other, card)
    assert rf.debit(other, 100)[codec.DEBIT_RESULT_BALANCE] == START - 300 - 100
    configure(other, v1_until=fx.TODAY - 1)
    rf.present(other, card)
    assert refusal(other).detail == codec.R_TRANSITION_OVER
