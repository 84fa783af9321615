"""Exhaustive pull / tear sweep of the move of a layout v1 card to v2 at its top-up (docs/card-layout.md,
"Migration of v1 cards"): the card is pulled before EVERY card command of the move and the top-up,
and every write is torn leaving the block old, new or a byte-wise mix (the fixtures of the top-up
and re-key sweeps: topup_world.Recorder). Right after the interruption:
- no fen was created or lost: a store reader either reads the card at its old balance (v1 or v2)
  or refuses it without writing anything, and the ledger holds what the card holds once settled;
- nothing is bricked: `icpurse card recover` (the workstation's recover_card) finishes a move that
  reached the card — the card is then v2 at the old balance, read by a store reader — and the top-up
  presented again (or `topup reconfirm` for one left unconfirmed) completes the rest.
At the end the card is v2 at face value + the top-up, the top-up booked exactly once, the move
journaled done once, and a store reader debits it."""
import pytest
from topup_world import BlockTag, Recorder, balance_block, sim_card

from icpurse.firmware import purse
from icpurse.firmware.mifare import MifareError
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host import codec
from icpurse.host.cards import CardProblem
from icpurse.host.issuance.service import Workstation
from icpurse.host.issuance.topup import reconfirm, top_up
from icpurse.keys import demo, exports
from icpurse.protocol import layout

FACE = 50000
AMOUNT = 1000
TERMINAL = 31000001
MIX_SEEDS = (1, 7)
MOVE = [layout.BACKUP_BLOCK, layout.CREDIT_BLOCK, layout.HEADER_BLOCK, layout.IDENTITY_BLOCK,
        layout.IDENTITY_BLOCK + 1]


@pytest.fixture
def ring(demo_keyset):
    return demo_keyset.to_keyring()


@pytest.fixture
def station(ledger, demo_keyset):
    return Workstation(ledger, demo_keyset.to_keysets(), demo_keyset.issuer, "finance")


def tap(card):
    card.faults = Faults()
    if not card.powered:
        card.enter_field()
    return CardTag(card)


def store_read(card):
    """(layout, balance) as a store reader reads it (key A), or the refusal code; writes nothing
    beyond what a reader's own repair may do (none here: the move never touches the balance block)."""
    ring = exports.reader_keyset(demo.demo_domain(), TERMINAL).to_keyring()
    try:
        access, keys, version = purse.open_card(tap(card), ring, purse.KEY_A)
        view = purse.read_card(access, keys, version)
    except purse.Refused as e:
        return e.code
    return view.layout, view.balance


def attempt(ledger, card, ring, faults):
    card.faults = faults
    try:
        return top_up(ledger, BlockTag(card), ring, AMOUNT, "seller").state
    except CardProblem as e:
        return "card problem: %s" % e


def check_interrupted(ledger, card, number, station, ring, first):
    """Right after the fault: what a store reader sees, then `card recover` (and its result)."""
    seen = store_read(card)
    if isinstance(seen, tuple):
        lay, bal = seen
        assert bal in (FACE, FACE + AMOUNT), seen  # never a fen created or lost
        if lay == codec.LAYOUT_V2 and bal == FACE + AMOUNT:
            assert first in ("unconfirmed", "confirmed"), first
    else:
        # refused until the issuer finishes: a torn header (forged / top-up incomplete), or the top-up's
        # balance block torn with its address bytes destroyed (corrupt: only key B rewrites them)
        assert seen in (codec.R_FORGED, codec.R_TOPUP_INCOMPLETE, codec.R_CORRUPT), seen
    if first == "unconfirmed":
        return  # a top-up left unconfirmed: `topup reconfirm` settles it (below)
    out = station.recover_card(tap(card))
    after = store_read(card)
    assert isinstance(after, tuple) and after[1] in (FACE, FACE + AMOUNT), (after, out.actions, out.hints)
    j = ledger.migration_records.migration_journal(number)
    if after[0] == codec.LAYOUT_V2:
        # the move reached the card: recover finished it (or the top-up had finished it)
        assert j.state == "done", (out.actions, out.hints)
    else:
        assert j is None or j.state == "started"  # never reached the card: the card is a good v1 card
    assert ledger.books.outstanding_balance(number) == FACE or first == "confirmed"


def settle_and_retry(ledger, card, ring, first):
    if first == "unconfirmed":
        first = reconfirm(ledger, tap(card), ring, "seller")[0].state
    if first != "confirmed":
        out = top_up(ledger, tap(card), ring, AMOUNT, "seller")
        assert out.state == "confirmed", (first, out)


def check_finished(ledger, card, number):
    assert store_read(card) == (codec.LAYOUT_V2, FACE + AMOUNT)
    assert balance_block(card) == FACE + AMOUNT
    assert ledger.books.outstanding_balance(number) == FACE + AMOUNT
    assert [t.state for t in ledger.topup_records.card_topups(number)].count("confirmed") == 1
    assert ledger.topup_records.unconfirmed_topups() == [] and ledger.books.unbalanced_entries() == []
    assert ledger.migration_records.migration_journal(number).state == "done"
    assert len(ledger.audit.audit_entries(card=number, action="card.migrate.done")) == 1
    # a store reader debits it as v2
    ring = exports.reader_keyset(demo.demo_domain(), TERMINAL).to_keyring()
    access, keys, version = purse.open_card(tap(card), ring, purse.KEY_A)
    view = purse.read_card(access, keys, version)
    purse.commit(access, view, purse.plan_debit(view, 1, purse.Policy(), 9600, TERMINAL, 1), 9600 * 86400)
    assert store_read(card) == (codec.LAYOUT_V2, FACE + AMOUNT - 1)


def v1_card(ledger, ring, issuer):
    return sim_card(ledger, ring, issuer, layout=1, face_value=FACE)


def test_pull_before_every_command_and_tear_every_write_of_the_move(ledger, ring, demo_keyset, station):
    card, number = v1_card(ledger, ring, demo_keyset.issuer)
    base = Recorder()
    BlockTag.blocks = blocks = []
    assert attempt(ledger, card, ring, base) == "confirmed"
    BlockTag.blocks = None
    check_finished(ledger, card, number)
    # the move: backup, credit record, header (commit point), identity x2; then the v2 top-up:
    # header, credit record, balance block (commit point), backup
    assert blocks == MOVE + [layout.HEADER_BLOCK, layout.CREDIT_BLOCK, layout.BALANCE_BLOCK,
                             layout.BACKUP_BLOCK], blocks
    total = base.count
    seen = {}
    for n in range(total):
        card, number = v1_card(ledger, ring, demo_keyset.issuer)
        rec = Recorder(pull_at=n)
        first = attempt(ledger, card, ring, rec)
        assert "remove" in rec.fired
        check_interrupted(ledger, card, number, station, ring, first)
        settle_and_retry(ledger, card, ring, first)
        check_finished(ledger, card, number)
        kind = first.split(":")[0]
        seen[kind] = seen.get(kind, 0) + 1
    # pulled during the move (or the reads before it): nothing booked; during the top-up's writes:
    # unconfirmed, settled by `topup reconfirm`
    assert {"card problem", "unconfirmed"} <= set(seen), seen
    torn = set()
    for k, block in enumerate(blocks):
        for mode, seed in [("old", 0), ("new", 0)] + [("mix", s) for s in MIX_SEEDS]:
            card, number = v1_card(ledger, ring, demo_keyset.issuer)
            rec = Recorder(tear_write=k, mode=mode, seed=seed)
            first = attempt(ledger, card, ring, rec)
            assert any(f.startswith("tear") for f in rec.fired), (k, block, mode)
            check_interrupted(ledger, card, number, station, ring, first)
            settle_and_retry(ledger, card, ring, first)
            check_finished(ledger, card, number)
            torn.add(k)
    assert torn == set(range(len(blocks)))
    assert ledger.audit.verify_audit_log() is None


def test_card_recover_itself_survives_pulls_and_tears(ledger, ring, demo_keyset, station):
    """A move stopped right after its commit point (identity not yet written): `card recover` is
    pulled before each of its commands and each of its writes torn; the next `card recover` finishes
    it, at the old balance, and nothing else changes."""
    fired = 0
    for plan in [dict(pull_at=n) for n in range(40)] + [dict(tear_write=k, mode=m, seed=s) for k in range(2)
                                                         for m, s in (("old", 0), ("new", 0), ("mix", 3))]:
        card, number = v1_card(ledger, ring, demo_keyset.issuer)
        # torn right after the header: identity blocks never written
        assert attempt(ledger, card, ring, Recorder(tear_write=3, mode="old")).startswith("card problem")
        assert store_read(card) == (codec.LAYOUT_V2, FACE)  # spendable at its balance meanwhile
        card.faults = rec = Recorder(**plan)
        try:
            station.recover_card(CardTag(card))
        except (CardProblem, MifareError):
            pass
        fired += bool(rec.fired)
        station.recover_card(tap(card))
        assert store_read(card) == (codec.LAYOUT_V2, FACE)
        assert ledger.migration_records.migration_journal(number).state == "done"
        assert ledger.books.outstanding_balance(number) == FACE
        settle_and_retry(ledger, card, ring, "card problem")
        check_finished(ledger, card, number)
    assert fired >= 10
