"""Every crash the fuzzers found, as the crashing input replayed through its target and as a
direct test of the fixed behaviour."""
import base64

import pytest

import journal_files
import purse_read
from icpurse.firmware import codec, purse
from icpurse.firmware.journal import JournalCorrupt
from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.tag import CardTag
from icpurse.protocol import layout

# target name -> crash inputs (base64, as libFuzzer prints them)
CRASHES = {
    # a MAC-valid slot whose balance (0xFFFFFFFF) no value block can hold: recover() with key B
    # tried to write a ceiling of 4294967295 and died in the codec with ValueError
    "purse_read": ["+wD7AAAAAAoAf38B/////yb//////////////////////////////////wE=",
                   # a MAC-valid slot with seq 0xFFFFFFFF: plan_debit made seq 2**32 and the codec
                   # refused to seal it (ValueError)
                   "+woBAQAA//93d9Vubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm7/////bm5ubm5ubm5ubm5ubm5ubm5ubm5u"
                   "/wpubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubnduAAZ3ICAAIAAKAP8B"],
    # a directory where the journal anchor belongs: open() let IsADirectoryError (OSError) escape
    "journal_files": ["A4ry",
                      # "7.jr" next to "0000000007.jr": int() read both as segment 7; open() scanned
                      # it twice and died removing it twice (FileNotFoundError)
                      "R5Y7Ozs7Ozs7OzsHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7OzsleP//////////"],
}
TARGETS = {"purse_read": purse_read, "journal_files": journal_files}


@pytest.mark.parametrize("name,data", [(n, d) for n in CRASHES for d in CRASHES[n]])
def test_crash_input_replays_cleanly(name, data):
    TARGETS[name].test_one_input(base64.b64decode(data))


def _card_with_slot_balance(balance, seq=50, day=0, day_spent=0):
    """The fuzz target's issued card, with slot 0 re-sealed (right MAC key) to hold `balance`."""
    uid = purse_read.UIDS[0]
    blocks = [bytearray(b) for b in purse_read._image(uid)]
    keys = purse_read.ISSUER.for_card(uid, 1)
    raw = purse.seal_slot(keys, uid, 1, (seq, balance, day, day_spent, codec.TXN_LOAD, 1, 0, 0))
    first = layout.slot_block(0)
    blocks[first][:] = raw[:16]
    blocks[first + 1][:] = raw[16:]
    return ClassicCard(uid, blocks=blocks)


@pytest.mark.parametrize("ring,key_type", [(purse_read.READER, purse.KEY_A), (purse_read.ISSUER, purse.KEY_B)])
def test_slot_balance_beyond_value_block_is_refused_as_corrupt(ring, key_type):
    card = _card_with_slot_balance(0xFFFFFFFF)
    before = [bytes(b) for b in card.blocks]
    access, keys, v = purse.open_card(CardTag(card), ring, key_type)
    with pytest.raises(purse.Refused) as e:
        purse.read_card(access, keys, v)
    assert e.value.code == codec.R_CORRUPT
    assert "4294967295" in e.value.message
    assert [bytes(b) for b in card.blocks] == before


def test_largest_value_block_balance_still_reads():
    card = _card_with_slot_balance(0x7FFFFFFF)
    access, keys, v = purse.open_card(CardTag(card), purse_read.READER)
    assert purse.read_card(access, keys, v).balance == 0x7FFFFFFF


def test_credit_beyond_value_block_is_refused_without_a_cap():
    card = _card_with_slot_balance(5000)
    access, keys, v = purse.open_card(CardTag(card), purse_read.ISSUER, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    view.slot = view.slot[:1] + (0x7FFFFFFF - 10,) + view.slot[2:]  # a balance near the top
    with pytest.raises(purse.Refused) as e:
        purse.plan_credit(view, 11, purse.Policy(), purse_read.TODAY, codec.TXN_LOAD)
    assert e.value.code == codec.R_OVER_BALANCE_CAP
    assert purse.plan_credit(view, 10, purse.Policy(), purse_read.TODAY, codec.TXN_LOAD)[1] == 0x7FFFFFFF


def _view(card, ring=purse_read.READER, key_type=purse.KEY_A):
    access, keys, v = purse.open_card(CardTag(card), ring, key_type)
    return purse.read_card(access, keys, v)


def test_used_up_sequence_number_refuses_debit_and_credit():
    view = _view(_card_with_slot_balance(5000, seq=0xFFFFFFFF))
    for plan in (lambda: purse.plan_debit(view, 10, purse.Policy(), purse_read.TODAY, 1, 1),
                 lambda: purse.plan_credit(view, 10, purse.Policy(), purse_read.TODAY, codec.TXN_LOAD)):
        with pytest.raises(purse.Refused) as e:
            plan()
        assert e.value.code == codec.R_NOT_ALLOWED and "replace the card" in e.value.message
    assert purse.plan_debit(_view(_card_with_slot_balance(5000, seq=0xFFFFFFFE)), 10, purse.Policy(),
                            purse_read.TODAY, 1, 1)[0] == 0xFFFFFFFF


def test_day_spent_beyond_its_24_bits_is_refused_without_a_daily_cap():
    view = _view(_card_with_slot_balance(5000, day=purse_read.TODAY, day_spent=0xFFFFFF - 5))
    with pytest.raises(purse.Refused) as e:
        purse.plan_debit(view, 6, purse.Policy(), purse_read.TODAY, 1, 1)
    assert e.value.code == codec.R_OVER_DAILY_CAP
    assert purse.plan_debit(view, 5, purse.Policy(), purse_read.TODAY, 1, 1)[3] == 0xFFFFFF
    assert purse.plan_debit(view, 6, purse.Policy(), purse_read.TODAY + 1, 1, 1)[3] == 6  # a new day


def test_directory_in_place_of_the_anchor_is_journal_corruption():
    fs = journal_files.BASES[1].copy()
    del fs.files[journal_files.DIR + "/anchor"]
    fs.dirs[journal_files.DIR + "/anchor"] = True
    with pytest.raises(JournalCorrupt, match="anchor"):
        journal_files._journal(fs).open()


@pytest.mark.parametrize("name", ["7.jr", " 7.jr", "+7.jr", "0_7.jr", "-1.jr", "00000000007.jr", "x.jr"])
def test_segment_names_other_than_the_journals_own_are_corruption(name):
    fs = journal_files.BASES[0].copy()
    files_before = dict((p, bytes(d)) for p, d in fs.files.items())
    fs.files[journal_files.DIR + "/" + name] = bytearray(codec.JOURNAL_RECORD_SIZE)
    with pytest.raises(JournalCorrupt, match="unexpected file"):
        journal_files._journal(fs, 1).open()
    del fs.files[journal_files.DIR + "/" + name]
    assert dict((p, bytes(d)) for p, d in fs.files.items()) == files_before  # nothing repaired, nothing lost
