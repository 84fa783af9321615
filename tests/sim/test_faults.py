"""Fault injection: card removal after N commands, torn writes (old / new / seeded mix), RF
timeouts, and faults on the PN532 -> host link."""
import pytest

from icpurse.hil.sim.card import CardTimeout, ClassicCard
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.faults import Faults, torn_block
from simkit import ACK, NACK, Rig, frame, h

FF6 = h("FF FF FF FF FF FF")
UID = h("DEADBEEF")
OLD = bytes(range(16))
NEW = bytes(range(0xF0, 0x100))


def deck_with_card():
    faults = Faults()
    deck = Deck()
    c = deck.add("a", ClassicCard(UID, faults=faults))
    events = []
    deck.add_listener(lambda event, name, card: events.append((event, name)))
    deck.present("a")
    return faults, deck, c, events


def test_remove_after_n_commands():
    faults, deck, c, events = deck_with_card()
    faults.remove_after(2)
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    with pytest.raises(CardTimeout):
        c.read(4)
    assert deck.in_field is None
    assert events == [("present", "a"), ("remove", "a")]
    with pytest.raises(CardTimeout):
        c.select()  # gone until presented again
    deck.present("a")
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    assert c.read(4) == bytes(16)


def test_removal_through_the_pn532_is_a_timeout_status():
    rig = Rig(ClassicCard(UID, faults=Faults()))
    rig.list_card()
    rig.deck.in_field.faults.remove_after(1)
    assert rig.mifare(h("60 04") + FF6 + UID) == (0x00, b"")
    assert rig.mifare(h("30 04")) == (0x01, b"")
    assert rig.deck.in_field is None


@pytest.mark.parametrize("mode, expected", [("old", OLD), ("new", NEW)])
def test_torn_write_old_or_new(mode, expected):
    faults, deck, c, events = deck_with_card()
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    c.write(4, OLD)
    faults.tear_next_write(mode)
    with pytest.raises(CardTimeout):
        c.write(4, NEW)
    assert bytes(c.blocks[4]) == expected
    assert deck.in_field is None  # tearing = the card left the field mid-write
    assert faults.fired == ["tear_" + mode]


def test_torn_write_mix_is_deterministic_from_the_seed():
    results = {}
    for seed in (1, 2, 1):
        faults, deck, c, events = deck_with_card()
        c.select()
        c.authenticate(0x60, 4, FF6, UID)
        c.write(4, OLD)
        faults.tear_next_write("mix", seed=seed)
        with pytest.raises(CardTimeout):
            c.write(4, NEW)
        got = bytes(c.blocks[4])
        assert all(got[i] in (OLD[i], NEW[i]) for i in range(16))
        assert got not in (OLD, NEW)  # a real mix for these seeds
        results.setdefault(seed, set()).add(got)
    assert len(results[1]) == 1  # same seed, same block
    assert results[1] != results[2]


def test_torn_block_modes():
    assert torn_block(OLD, NEW, "old", 5) == OLD
    assert torn_block(OLD, NEW, "new", 5) == NEW
    assert torn_block(OLD, NEW, "mix", 5) == torn_block(OLD, NEW, "mix", 5)
    with pytest.raises(ValueError):
        torn_block(OLD, NEW, "half", 5)
    with pytest.raises(ValueError):
        Faults().tear_next_write("half")


def test_torn_transfer():
    faults, deck, c, events = deck_with_card()
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    c.write(5, h("64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA"))
    c.decrement(5, 1)
    faults.tear_next_write("old")
    with pytest.raises(CardTimeout):
        c.transfer(5)
    assert bytes(c.blocks[5]) == h("64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA")
    deck.present("a")
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    c.decrement(5, 1)
    faults.tear_next_write("new")
    with pytest.raises(CardTimeout):
        c.transfer(5)
    assert bytes(c.blocks[5]) == h("63 00 00 00 9C FF FF FF 63 00 00 00 05 FA 05 FA")


def test_rf_timeout_loses_the_session_but_not_the_card():
    faults, deck, c, events = deck_with_card()
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    faults.rf_timeout_next()
    with pytest.raises(CardTimeout):
        c.read(4)
    assert deck.in_field is c
    with pytest.raises(CardTimeout):
        c.read(4)  # no session any more: the reader has to re-select
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    assert c.read(4) == bytes(16)


def test_rf_timeout_during_in_list_passive_target():
    rig = Rig(ClassicCard(UID, faults=Faults()), finite_retries=True)
    rig.deck.in_field.faults.rf_timeout_next()
    assert rig.command(h("4A 01 00")) == h("4B 00")
    assert rig.command(h("4A 01 00"))[:2] == h("4B 01")


# --- host link faults -----------------------------------------------------------------------

GET_FW = h("00 00 FF 02 FE D4 02 2A 00")
FW_RSP = h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")


def test_bad_checksum_then_nack_gets_a_clean_copy():
    rig = Rig()
    rig.faults.bad_checksum_next()
    assert rig.send(GET_FW) == ACK + h("00 00 FF 06 FA D5 03 32 01 06 07 E9 00")
    assert rig.send(NACK) == FW_RSP


def test_dropped_ack():
    rig = Rig()
    rig.faults.drop_ack_next()
    assert rig.send(GET_FW) == FW_RSP
    assert rig.send(GET_FW) == ACK + FW_RSP


def test_garbage_before_the_next_frame():
    rig = Rig()
    rig.faults.garbage_before_next(h("13 37"))
    assert rig.send(GET_FW) == h("13 37") + ACK + FW_RSP
    assert rig.send(GET_FW) == ACK + FW_RSP


def test_truncated_response_then_nack():
    rig = Rig()
    rig.faults.truncate_next(5)
    assert rig.send(GET_FW) == ACK + FW_RSP[:5]
    assert rig.send(NACK) == FW_RSP


def test_faults_fire_once_each_in_order():
    rig = Rig()
    rig.faults.drop_ack_next()
    rig.faults.bad_checksum_next()
    rig.send(frame(h("02")))
    rig.send(frame(h("02")))
    assert rig.faults.fired == ["drop_ack", "bad_checksum"]
    assert rig.send(frame(h("02"))) == ACK + FW_RSP
