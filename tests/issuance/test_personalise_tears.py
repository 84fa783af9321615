"""Exhaustive tear sweep of journaled personalisation (issue 5: "a card pulled at any point is
detected at the next attempt and completed — never bricked").

For one blank card per run, the card is pulled before EVERY card command of a personalisation,
and every WRITE is torn leaving the block old or new (and, for data blocks, a byte-wise mix);
then the card is presented again and personalised again. It must end fully personalised and
verified (read back with key B and with a store reader's key A), with the card number reserved
before the interruption, and the ledger journal must agree (done, same number, same UID).

Torn TRAILER writes with a byte-wise mix are swept separately (`test_a_mixed_trailer_...`): on a
real card a trailer whose access-bit bytes end up inconsistent blocks its sector for good, and
key bytes that are neither old nor new open with no key anyone holds. No software can undo that;
the workstation must recognise it, write nothing blindly, mark the journal entry `damaged` with
the reason and keep the number reserved. docs/security.md cites this test.
"""
import pytest
from issuance_world import UTILITY, Feeder, blank_in_stock

from icpurse.firmware import purse
from icpurse.firmware.codec import MF_AUTH_A
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.keys import demo, exports
from icpurse.protocol.mifare import geometry
from icpurse.protocol.numbering import card_number_from_bcd

MIX_SEEDS = (1, 7)
TRAILERS_1K = {geometry.trailer_block(s) for s in range(16)}


class Recorder(Faults):
    """Counts card commands and remembers which were writes (and of which block); can pull the
    card before command n or tear the write at command n."""

    def __init__(self, pull_at=-1, tear_at=-1, mode="old", seed=0):
        Faults.__init__(self)
        self.count = 0
        self.writes = {}  # command index -> block
        self.pull_at, self.tear_at, self.mode, self.seed = pull_at, tear_at, mode, seed

    def before_command(self):
        n = self.count
        self.count += 1
        if n == self.pull_at:
            self.remove_after(0)
        if n == self.tear_at:
            self.tear_next_write(self.mode, self.seed)
        return Faults.before_command(self)


class RecordingTag(CardTag):
    def write_block(self, block, data):
        faults = self.card.faults
        if isinstance(faults, Recorder):
            faults.writes[faults.count] = block
        CardTag.write_block(self, block, data)


@pytest.fixture(scope="module")
def reader_ring():
    """A store reader's keys (key A only): what the card must open with after personalisation."""
    return exports.reader_keyset(demo.demo_domain(), 31000001).to_keyring()


def interrupted_then_finished(ledger, station, faults):
    card = blank_in_stock(ledger)
    card.faults = faults
    first = station.personalise_card(RecordingTag(card), UTILITY)
    card.faults = None
    card.enter_field()  # presented again
    second = station.personalise_card(RecordingTag(card), UTILITY)
    return card, first, second


def check_finished(ledger, card, first, second, reader_ring):
    assert second.ok, (first, second)
    uid = card.uid.hex().upper()
    journal = ledger.personalisation_records.personalisation(uid)
    assert journal.state == "done"
    if first.card_number is not None:  # the number reserved before the interruption is kept
        assert second.card_number == first.card_number
    assert journal.card_number == second.card_number
    assert ledger.cards.card_by_uid(uid).card_number == second.card_number
    # never bricked: a store reader opens it (key A), sees the number and an empty purse
    access, keys, version = purse.open_card(CardTag(card), reader_ring, MF_AUTH_A)
    view = purse.read_card(access, keys, version)
    assert card_number_from_bcd(view.card_number) == second.card_number
    # layout v2: generation 1 (the counter's top byte), nothing debited (docs/card-layout.md)
    assert (view.layout, view.balance, view.seq, view.value) == (2, 0, 1 << 24, 0)
    return first.outcome


def test_a_pull_before_every_command_and_every_torn_write_is_finished_at_the_next_attempt(ledger, station,
                                                                                          reader_ring):
    base = Recorder()
    card, first, second = interrupted_then_finished(ledger, station, base)
    assert first.outcome == "personalised" and second.outcome == "already-done"
    total, writes = base.count, dict(base.writes)
    # layout v2 on a 1K card: MAD (blocks 1, 2), identity (4, 5, 6), purse (8, 9, 10) + 3 trailers
    assert total > 30 and len(writes) == 2 + 3 + 3 + 3
    outcomes = {}
    for n in range(total + 1):
        card, first, second = interrupted_then_finished(ledger, station, Recorder(pull_at=n))
        key = (check_finished(ledger, card, first, second, reader_ring), second.outcome,
               "wrote" if second.sectors_written else "verified only")
        outcomes[key] = outcomes.get(key, 0) + 1
    torn = 0
    for n, block in sorted(writes.items()):
        modes = [("old", 0), ("new", 0)]
        if block not in TRAILERS_1K:
            modes += [("mix", s) for s in MIX_SEEDS]
        for mode, seed in modes:
            card, first, second = interrupted_then_finished(ledger, station, Recorder(tear_at=n, mode=mode, seed=seed))
            assert first.outcome == "interrupted", first
            check_finished(ledger, card, first, second, reader_ring)
            torn += 1
    # early pulls leave nothing to resume; pulls while writing are resumed; the last commands
    # (verification) are pulls after every write
    assert outcomes.get(("interrupted", "personalised", "wrote")), outcomes  # pulled before the journal entry
    assert outcomes.get(("interrupted", "resumed", "wrote")), outcomes  # pulled while writing: resumed
    assert outcomes.get(("interrupted", "resumed", "verified only")), outcomes  # pulled while verifying
    assert outcomes.get(("personalised", "already-done", "verified only")) == 1, outcomes  # n == total: no pull
    assert torn == len(writes) * 2 + (len(writes) - 3) * len(MIX_SEEDS)
    assert ledger.personalisation_records.personalisations("started") == [] and ledger.personalisation_records.personalisations("damaged") == []
    assert ledger.audit.verify_audit_log() is None


def test_a_mixed_trailer_write_is_finished_or_reported_damaged_never_written_blindly(ledger, station, reader_ring):
    base = Recorder()
    interrupted_then_finished(ledger, station, base)
    trailer_writes = [n for n, block in base.writes.items() if block in TRAILERS_1K]
    assert len(trailer_writes) == 3  # layout v2: MAD, identity and purse sectors
    seen = {"finished": 0, "damaged": 0}
    for n in trailer_writes:
        for seed in (1, 2, 3):
            card, first, second = interrupted_then_finished(ledger, station, Recorder(tear_at=n, mode="mix", seed=seed))
            assert first.outcome == "interrupted"
            uid = card.uid.hex().upper()
            if second.ok:
                check_finished(ledger, card, first, second, reader_ring)
                seen["finished"] += 1
                continue
            # damaged: clear message, journal says so, the number stays reserved for this UID
            assert second.outcome == "damaged", second
            assert "set the card aside" in second.message and second.card_number == first.card_number
            journal = ledger.personalisation_records.personalisation(uid)
            assert journal.state == "damaged" and journal.note
            before = [bytes(b) for b in card.blocks]
            third = station.personalise_card(CardTag(card), UTILITY)  # again: still refused, nothing written
            assert third.outcome == "damaged" and [bytes(b) for b in card.blocks] == before
            seen["damaged"] += 1
    # with these seeds every mixed trailer blocks its sector (access bits inconsistent): all damaged,
    # each reported and left alone; a lucky mix that keeps a whole trailer would be finished
    assert seen["damaged"] > 0, seen


def test_a_pulled_batch_card_is_finished_when_presented_again(ledger, station):
    cards = [blank_in_stock(ledger) for _ in range(3)]
    faults = Recorder(pull_at=25)  # while writing (a v2 1K personalisation: 38 commands)
    cards[1].faults = faults
    results = station.personalise_batch(Feeder(cards), UTILITY, count=3)
    assert [r.outcome for r in results] == ["personalised", "interrupted", "personalised"]
    assert results[1].card_number is not None  # reserved before the pull
    cards[1].faults = None
    cards[1].enter_field()
    again = station.personalise_batch(Feeder([cards[1]]), UTILITY, count=1)
    assert again[0].outcome == "resumed" and again[0].card_number == results[1].card_number
    numbers = [r.card_number for r in results]
    assert numbers == ["503110000001", "503110000002", "503110000003"]
