"""Exhaustive pull / tear sweep of a re-key at top-up (a version-1 card topped up at a workstation
whose current key version is 2): the card is pulled before EVERY card command of the re-key and
the top-up, and every write is torn leaving the block old or new (and, for data blocks, a byte-wise
mix). Then the card is presented again (top-up retry, or `card recover` first, or `topup reconfirm`
for a top-up left unconfirmed). It must end on version 2 with the right balance and on-card log,
the ledger agreeing to the fen, the top-up booked exactly once and the re-key journal done.

A torn TRAILER write with a byte-wise mix can leave a sector that no key opens: the workstation
must say so (card damaged, set aside), mark the re-key journal damaged, write nothing blindly, and
the card's balance stays known in the ledger (docs/security.md)."""
import pytest
from rekey_world import reader_ring, rings, store_read, tap, v1_card

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.host.issuance.service import Workstation
from icpurse.host.cards import CardProblem
from icpurse.host.issuance.topup import reconfirm, top_up
from icpurse.protocol.mifare import geometry
from topup_world import BlockTag, Recorder, balance_block

AMOUNT = 1000
FACE = 50000
MIX_SEEDS = (1, 7)
TRAILERS = {geometry.trailer_block(s) for s in range(16)}


def attempt(ledger, card, two, faults):
    card.faults = faults
    try:
        return top_up(ledger, BlockTag(card), two, AMOUNT, "seller", migrate=False).state
    except CardProblem as e:
        return "card problem: %s" % e


def settle_and_retry(ledger, station, card, number, two, first, via_recover):
    """Present the card again: settle an unconfirmed top-up, else (optionally `card recover`
    first) top up again unless the first attempt already went through."""
    if first in ("unconfirmed",):
        outcomes = reconfirm(ledger, tap(card), two, "seller")
        first = outcomes[0].state
    if first != "confirmed":
        if via_recover:
            station.recover_card(tap(card))
        out = top_up(ledger, tap(card), two, AMOUNT, "seller", migrate=False)
        assert out.state == "confirmed", (first, out)
    return first


def check_finished(ledger, card, number):
    _, _, version, view = store_read(card, reader_ring(2))  # a reader holding only version 2
    assert version == 2 and view.identity[codec.IDENTITY_KEY_VERSION] == 2
    assert view.balance == view.value == balance_block(card) == FACE + AMOUNT
    access, keys, _, view = store_read(card, reader_ring(2))
    log = {e[codec.LOG_ENTRY_SEQ]: e for e in purse.read_log(access, keys, view)}
    assert sorted(log) == [1, 2, 3] and log[3][codec.LOG_ENTRY_AMOUNT] == AMOUNT
    assert log[2][codec.LOG_ENTRY_BALANCE] == FACE and log[3][codec.LOG_ENTRY_BALANCE] == FACE + AMOUNT
    with pytest.raises(purse.Refused):
        store_read(card, reader_ring(1))  # the old keys no longer open it
    assert ledger.books.outstanding_balance(number) == FACE + AMOUNT
    assert [t.state for t in ledger.topup_records.card_topups(number) if t.state == "confirmed"] == ["confirmed"]
    assert ledger.topup_records.unconfirmed_topups() == [] and ledger.books.unbalanced_entries() == []
    assert ledger.rekey_records.rekey_journal(number).state == "done" and ledger.cards.card(number).key_version == 2
    assert len(ledger.audit.audit_entries(card=number, action="card.rekey.done")) == 1


@pytest.fixture
def station(ledger, demo_keyset):
    _, two = rings()
    return Workstation(ledger, [two.keyset(2), two.keyset(1)], demo_keyset.issuer, "finance")


def test_pull_before_every_command_and_tear_every_write_then_retry(ledger, demo_keyset, station):
    _, two = rings()
    card, number = v1_card(ledger, demo_keyset.issuer)
    base = Recorder()
    BlockTag.blocks = blocks = []
    assert attempt(ledger, card, two, base) == "confirmed"
    BlockTag.blocks = None
    check_finished(ledger, card, number)
    total = base.count
    # re-key: identity x2, the MAC block of both slots and both log entries, 15 trailers;
    # top-up: ceiling, slot x2, balance, log x2
    assert blocks[:6] == [4, 5, 13, 17, 25, 29], blocks  # the identity first
    # its trailer, then the purse sector's, last (a reader opens the purse sector first)
    assert sum(b in TRAILERS for b in blocks) == 15
    assert blocks[19:21] == [geometry.trailer_block(1), geometry.trailer_block(2)], blocks
    assert len(blocks) == 6 + 15 + 6, blocks
    seen = {}
    for n in range(total):
        card, number = v1_card(ledger, demo_keyset.issuer)
        rec = Recorder(pull_at=n)
        first = attempt(ledger, card, two, rec)
        assert "remove" in rec.fired
        settle_and_retry(ledger, station, card, number, two, first, via_recover=n % 2 == 1)
        check_finished(ledger, card, number)
        kind = first.split(":")[0]
        seen[kind] = seen.get(kind, 0) + 1
    # pulled during the re-key (or the read before it): nothing booked, the retry finishes it;
    # during the top-up's writes: unconfirmed (then settled by `topup reconfirm`)
    assert set(seen) == {"card problem", "unconfirmed"} and seen["card problem"] > 200, seen
    torn = 0
    for k, block in enumerate(blocks):
        modes = [("old", 0), ("new", 0)] + ([] if block in TRAILERS else [("mix", s) for s in MIX_SEEDS])
        for mode, seed in modes:
            card, number = v1_card(ledger, demo_keyset.issuer)
            rec = Recorder(tear_write=k, mode=mode, seed=seed)
            first = attempt(ledger, card, two, rec)
            assert any(f.startswith("tear") for f in rec.fired), (k, block, mode)
            settle_and_retry(ledger, station, card, number, two, first, via_recover=bool(k % 2))
            check_finished(ledger, card, number)
            torn += 1
    assert torn == len(blocks) * 2 + (len(blocks) - 15) * len(MIX_SEEDS)
    assert ledger.audit.verify_audit_log() is None


def test_a_mixed_trailer_write_is_finished_or_reported_damaged_never_written_blindly(ledger, demo_keyset, station):
    _, two = rings()
    card, number = v1_card(ledger, demo_keyset.issuer)
    BlockTag.blocks = blocks = []
    attempt(ledger, card, two, Recorder())
    BlockTag.blocks = None
    trailer_writes = [k for k, b in enumerate(blocks) if b in TRAILERS]
    seen = {"finished": 0, "damaged": 0}
    for k in trailer_writes:
        for seed in (1, 2, 3):
            card, number = v1_card(ledger, demo_keyset.issuer)
            first = attempt(ledger, card, two, Recorder(tear_write=k, mode="mix", seed=seed))
            assert first.startswith("card problem")
            card.faults = None
            try:
                out = top_up(ledger, tap(card), two, AMOUNT, "seller", migrate=False)
            except CardProblem as e:
                assert "Set the card aside" in str(e) and "500 yuan" in str(e), str(e)
                assert ledger.rekey_records.rekey_journal(number).state == "damaged"
                assert ledger.books.outstanding_balance(number) == FACE and ledger.topup_records.card_topups(number) == []
                before = [bytes(b) for b in card.blocks]
                for again in (lambda: top_up(ledger, tap(card), two, AMOUNT, "seller", migrate=False),
                              lambda: station.recover_card(tap(card))):
                    with pytest.raises(Exception) as e2:  # still refused, nothing written
                        again()
                    assert "Set the card aside" in str(e2.value)
                    assert [bytes(b) for b in card.blocks] == before
                seen["damaged"] += 1
                continue
            assert out.state == "confirmed"
            check_finished(ledger, card, number)
            seen["finished"] += 1
    assert seen["damaged"] > 0, seen
    assert ledger.audit.verify_audit_log() is None
