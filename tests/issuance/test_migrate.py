"""Moving a layout v1 card to layout v2 at its top-up (host/issuance/migrate.py; docs/card-layout.md,
"Migration of v1 cards"): the balance carried to the fen, the top-up booked once on the v2 card,
journaled in the ledger, the v1 history kept, store readers reading the moved card as v2, and a
restored v1 image of a moved card refused where something still knows better."""
import pytest
from topup_world import balance_block, dump, sim_card

from icpurse.firmware import purse, purse2
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host import codec
from icpurse.host.cards import IntegrityProblem
from icpurse.host.issuance import migrate as mg
from icpurse.host.issuance.topup import top_up
from icpurse.keys import demo, exports
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry

FACE = 50000
AMOUNT = 1234
TERMINAL = 31000001


@pytest.fixture
def ring(demo_keyset):
    return demo_keyset.to_keyring()


def tap(card):
    card.faults = Faults()
    if not card.powered:
        card.enter_field()
    return CardTag(card)


def reader():
    return exports.reader_keyset(demo.demo_domain(), TERMINAL).to_keyring()


def store_view(card):
    access, keys, version = purse.open_card(tap(card), reader(), purse.KEY_A)
    return access, purse.read_card(access, keys, version)


def store_debit(card, amount):
    access, view = store_view(card)
    purse.recover(access, view)
    return purse.commit(access, view, purse.plan_debit(view, amount, purse.Policy(), 9600, TERMINAL, 7), 9600 * 86400)


def v1_card(ledger, ring, issuer):
    card, number = sim_card(ledger, ring, issuer, layout=1, face_value=FACE)
    assert store_view(card)[1].layout == codec.LAYOUT_VERSION
    return card, number


def test_a_v1_card_is_moved_to_v2_at_its_top_up_to_the_fen(ledger, ring, demo_keyset):
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    store_debit(card, 321)  # spent at a store as v1 (the ledger learns it from the reader journal)
    v1 = store_view(card)[1]
    history = {b: bytes(card.blocks[b]) for b in mg._history_blocks()}
    out = top_up(ledger, tap(card), ring, AMOUNT, "seller")
    assert out.state == "confirmed" and out.migrated and out.as_dict()["migrated"] is True
    assert "moved from layout v1 to v2" in out.message
    _, view = store_view(card)
    assert view.layout == codec.LAYOUT_V2 and view.gen == 9  # generation 8 from the move, 9 from the top-up
    assert view.balance == balance_block(card) == FACE - 321 + AMOUNT == out.card_balance
    assert purse2.gen_of_seq(out.card_seq) == 9
    j = ledger.migration_records.migration_journal(number)
    assert j.state == "done" and j.balance == j.v2_balance == FACE - 321 and j.seq == v1.seq
    assert j.v2_seq == purse2.seq_of(8, FACE - 321, FACE - 321)
    start = ledger.audit.audit_entries(card=number, action="card.migrate.start")
    assert len(start) == 1 and len(ledger.audit.audit_entries(card=number, action="card.migrate.done")) == 1
    started = ledger.migration_records.migration_journal(number)
    assert started.history == history  # v1 slots and log as they were, in the ledger
    # the v1 history stays on the card too (sectors 3-14 are not written by the move)
    assert all(bytes(card.blocks[b]) == history[b] for b in history)
    assert v1.seq < j.v2_seq < out.card_seq  # the counter keeps growing across the move
    # the topped-up card is a v2 card at the workstation too: the next top-up is an ordinary v2 one
    again = top_up(ledger, tap(card), ring, 100, "seller")
    assert again.state == "confirmed" and not again.migrated
    assert len(ledger.audit.audit_entries(card=number, action="card.migrate.start")) == 1


def test_the_move_writes_five_blocks_and_never_the_balance_block(ledger, ring, demo_keyset):
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    written = []

    class Rec(Faults):
        def on_write(self, old, new):
            written.append(bytes(old) != bytes(new))
            return Faults.on_write(self, old, new)

    c = mg.plan(tap(card), ring)[0]
    blocks = [b for b, _ in mg.plan(tap(card), ring)[1]]
    assert blocks == [layout.BACKUP_BLOCK, layout.CREDIT_BLOCK, layout.HEADER_BLOCK, layout.IDENTITY_BLOCK,
                      layout.IDENTITY_BLOCK + 1]
    assert layout.BALANCE_BLOCK not in blocks and c.balance == FACE
    before = bytes(card.blocks[layout.BALANCE_BLOCK])
    assert mg.migrate(ledger, tap(card), ring, number, "seller") == "migrated"
    assert bytes(card.blocks[layout.BALANCE_BLOCK]) == before
    assert mg.migrate(ledger, tap(card), ring, number, "seller") is None  # v2 now: nothing to do


def test_top_up_without_migration_leaves_a_v1_card_v1(ledger, ring, demo_keyset):
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    out = top_up(ledger, tap(card), ring, AMOUNT, "seller", migrate=False)
    assert out.state == "confirmed" and not out.migrated
    assert store_view(card)[1].layout == codec.LAYOUT_VERSION
    assert ledger.migration_records.migration_journal(number) is None


def test_a_restored_v1_image_of_a_moved_card_is_refused_at_the_counter(ledger, ring, demo_keyset):
    """The holder keeps a dump of the v1 card and writes it back after the move (cracked keys): the
    workstation refuses to credit it (its counter is below the v2 counter the ledger saw) and puts
    it on the exception list; a store reader that saw the card as v2 refuses it as an older state
    (tests/firmware: test_reader_v2), one that never saw it takes it as v1 until the programme's
    `v1_until` — and reconciliation finds the counter going back."""
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    old = [bytes(b) for b in card.blocks]
    assert top_up(ledger, tap(card), ring, AMOUNT, "seller").migrated
    for block, data in zip(card.blocks, old):
        block[:] = data
    assert store_view(card)[1].layout == codec.LAYOUT_VERSION  # a valid v1 card again, on the card alone
    snapshot = dump(card)
    with pytest.raises(IntegrityProblem, match="rolled back"):
        top_up(ledger, tap(card), ring, AMOUNT, "seller")
    assert dump(card) == snapshot  # nothing written: no second move of the old image
    assert [e for e in ledger.store.exceptions() if e.card_number == number and e.kind == "rollback"]


def test_a_reader_key_set_cannot_turn_a_moved_card_back_into_v1(ledger, ring, demo_keyset):
    """The v1 ceiling attack needs block 10 to read as zeros; on a moved card it is the purse header,
    which only key B writes (access condition 100): a store reader's key A is refused."""
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    top_up(ledger, tap(card), ring, AMOUNT, "seller")
    access, view = store_view(card)
    from icpurse.firmware.mifare import MifareError
    with pytest.raises(MifareError):
        access.write(layout.HEADER_BLOCK, bytes(16))
    assert any(card.blocks[layout.HEADER_BLOCK])
    assert store_view(card)[1].layout == codec.LAYOUT_V2


def test_a_v1_card_above_what_v2_holds_is_refused_before_anything_is_written(ledger, ring, demo_keyset):
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    # not reachable through a programme's cap; forged here with the issuer's key B
    access, keys, v = purse.open_card(tap(card), ring, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    purse.commit(access, view, purse.plan_credit(view, 0x1000000 - FACE, purse.Policy(), 9600, codec.TXN_ADJUST), 0)
    snapshot = dump(card)
    from icpurse.host.cards import OperationRefused
    with pytest.raises(OperationRefused, match="layout v2"):
        mg.migrate(ledger, tap(card), ring, number, "seller")
    assert dump(card) == snapshot and ledger.migration_records.migration_journal(number) is None


def test_history_blocks_are_the_v1_slots_and_log(ledger):
    sectors = {geometry.sector_of_block(b) for b in mg._history_blocks()}
    assert sectors == set(layout.SLOT_SECTORS + layout.LOG_SECTORS)


def test_card_recover_never_loads_the_face_value_again_after_a_top_up(ledger, ring, demo_keyset, station):
    """Regression (found by the migration tear sweep): `card recover` loaded the face value again onto
    an activated v2 card whose last issuer write was a top-up (the card's credit record names only
    that write), and onto a moved card (its credit record is the move's). 500 yuan created each time."""
    for lay in (2, 1):
        card, number = sim_card(ledger, ring, demo_keyset.issuer, layout=lay, face_value=FACE)
        assert top_up(ledger, tap(card), ring, AMOUNT, "seller").state == "confirmed"
        out = station.recover_card(tap(card))
        assert balance_block(card) == FACE + AMOUNT == ledger.books.outstanding_balance(number), out.actions
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    assert mg.migrate(ledger, tap(card), ring, number, "seller") == "migrated"
    station.recover_card(tap(card))
    assert balance_block(card) == FACE == ledger.books.outstanding_balance(number)


def test_an_old_key_version_v1_card_is_re_keyed_then_moved_then_topped_up(ledger, demo_keyset):
    from rekey_world import reader_ring, rings
    one, two = rings()
    card, number = sim_card(ledger, one, demo_keyset.issuer, version=1, layout=1, face_value=FACE)
    out = top_up(ledger, tap(card), two, AMOUNT, "seller")
    assert out.state == "confirmed" and out.migrated and "re-keyed to key version 2" in out.message
    access, keys, version = purse.open_card(tap(card), reader_ring(2), purse.KEY_A)
    view = purse.read_card(access, keys, version)
    assert (version, view.layout, view.balance) == (2, codec.LAYOUT_V2, FACE + AMOUNT)
    assert ledger.rekey_records.rekey_journal(number).state == "done"
    j = ledger.migration_records.migration_journal(number)
    assert j.state == "done" and j.key_version == 2 and j.balance == FACE
    assert ledger.books.outstanding_balance(number) == FACE + AMOUNT
