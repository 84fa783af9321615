"""Key-version rollover at the counter: a card of key version 1 is re-keyed to version 2 at its next
top-up (issue 5, item 1), then store readers take it with the new keys and the old keys no longer
open it; a card left half re-keyed is refused by every store reader, never debited."""
import pytest
from rekey_world import reader_ring, rings, store_debit, store_read, tap, v1_card

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.firmware.mifare import AuthError
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.rekey import plan as rekey_plan
from icpurse.host.cards import CardProblem
from icpurse.host.issuance.topup import top_up
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry


def test_top_up_rekeys_an_old_card_then_tops_it_up(ledger, demo_keyset):
    one, two = rings()
    card, number = v1_card(ledger, demo_keyset.issuer)
    assert ledger.cards.card(number).key_version == 1
    access, keys, _, view = store_read(card, reader_ring(1))
    before = {e[codec.LOG_ENTRY_SEQ]: e for e in purse.read_log(access, keys, view)}
    assert sorted(before) == [1, 2]
    out = top_up(ledger, tap(card), two, 1000, "seller", card=number, migrate=False)
    assert (out.state, out.card_balance) == ("confirmed", 51000), out
    assert "re-keyed to key version 2" in out.message
    assert ledger.cards.card(number).key_version == 2
    assert ledger.rekey_records.rekey_journal(number).state == "done"
    assert ledger.books.outstanding_balance(number) == 51000 and ledger.books.unbalanced_entries() == []
    # a reader holding only version 2 reads it: identity on version 2, balance, and the whole history
    access, keys, version, view = store_read(card, reader_ring(2))
    assert version == 2 and view.identity[codec.IDENTITY_KEY_VERSION] == 2
    assert (view.balance, view.value, view.seq) == (51000, 51000, 3)
    log = {e[codec.LOG_ENTRY_SEQ]: e for e in purse.read_log(access, keys, view)}
    assert sorted(log) == [1, 2, 3]
    for seq, entry in before.items():  # the old entries, re-sealed: same content, new MAC
        assert entry[:-1] == log[seq][:-1] and entry[-1] != log[seq][-1]
    assert log[3][codec.LOG_ENTRY_KIND] == codec.TXN_LOAD and log[3][codec.LOG_ENTRY_AMOUNT] == 1000
    # the old keys no longer open it (no sector of the layout opens with a version-1 key)
    with pytest.raises(purse.Refused) as e:
        store_read(card, reader_ring(1))
    assert e.value.code == codec.R_WRONG_KEY_VERSION
    old = one.for_card(card.uid, 1)
    tag = tap(card)
    for spec in layout.sector_map():
        for key_type in (purse.KEY_A, purse.KEY_B):
            if spec.number == 0 and key_type == purse.KEY_A:
                continue  # the public MAD key
            with pytest.raises(AuthError):
                tag.authenticate(geometry.first_block(spec.number), old.sector_key(spec.number, key_type), key_type)
    # a store reader holding both versions debits it with version 2
    slot, version = store_debit(card, reader_ring(2, 1), 700)
    assert version == 2 and slot[codec.PURSE_SLOT_BALANCE] == 50300
    slot, version = store_debit(card, reader_ring(2), 300, txn=2)
    assert slot[codec.PURSE_SLOT_BALANCE] == 50000
    # and the counter tops it up again without another re-key
    again = top_up(ledger, tap(card), two, 500, "seller", migrate=False)
    assert again.state == "confirmed" and "re-keyed" not in again.message
    assert len(ledger.audit.audit_entries(card=number, action="card.rekey.start")) == 1


def test_a_card_already_on_the_version_is_not_rekeyed(ledger, demo_keyset):
    _, two = rings()
    card, number = v1_card(ledger, demo_keyset.issuer)
    assert rekey_plan(tap(card), two, 1) is None  # already on version 1: nothing to do
    assert top_up(ledger, tap(card), two, 100, "seller", migrate=False).state == "confirmed"
    assert rekey_plan(tap(card), two, 2) is None


def _half_rekeyed(ledger, issuer, stop_after_writes):
    """A version-1 card whose re-key at top-up was pulled after `stop_after_writes` writes."""
    _, two = rings()
    card, number = v1_card(ledger, issuer)

    class Pull(Faults):
        def __init__(self):
            Faults.__init__(self)
            self.writes = 0

        def on_write(self, old, new):
            self.writes += 1
            if self.writes == stop_after_writes:
                self.remove_after(0)
            return Faults.on_write(self, old, new)

    card.faults = Pull()
    with pytest.raises(CardProblem) as e:
        top_up(ledger, CardTag(card), two, 1000, "seller", migrate=False)
    assert "re-key" in str(e.value)
    return card, number, two


@pytest.mark.parametrize("writes", [1, 2, 5, 14, 20])  # identity half / whole, slots and log, trailers
def test_a_half_rekeyed_card_is_refused_by_store_readers_not_debited(ledger, demo_keyset, writes):
    card, number, two = _half_rekeyed(ledger, demo_keyset.issuer, writes)
    assert ledger.rekey_records.rekey_journal(number).state == "started"
    snapshot = [bytes(b) for b in card.blocks]
    for versions in ((2, 1), (1,), (2,)):
        with pytest.raises(purse.Refused) as e:
            store_debit(card, reader_ring(*versions), 100)
        # old keys: the identity (written first) is sealed for version 2; new keys: the identity
        # sector (its trailer written last) does not open. Either way: wrong key version.
        assert e.value.code == codec.R_WRONG_KEY_VERSION, (versions, e.value.code, e.value.message)
        if 1 in versions:
            assert "re-key interrupted" in e.value.message
        assert [bytes(b) for b in card.blocks] == snapshot  # nothing written
    # the next top-up finishes the re-key first, then tops up
    out = top_up(ledger, tap(card), two, 1000, "seller", migrate=False)
    assert out.state == "confirmed" and out.card_balance == 51000
    assert ledger.rekey_records.rekey_journal(number).state == "done" and ledger.cards.card(number).key_version == 2
    _, _, version, view = store_read(card, reader_ring(2))
    assert (version, view.balance, view.value) == (2, 51000, 51000)


def test_a_rekey_pulled_before_its_first_write_restarts_from_the_card_as_it_is_now(ledger, demo_keyset):
    """Journalled, then the first write (the identity) torn leaving the old bytes: the card is
    still a whole version-1 card and may be used at a store before it comes back. The next top-up
    sees the identity still sealed for version 1, so nothing was written: it reads the card afresh
    (the debit included) instead of writing the journalled, now stale, records."""
    from topup_world import Recorder

    _, two = rings()
    card, number = v1_card(ledger, demo_keyset.issuer)
    card.faults = Recorder(tear_write=0, mode="old")
    with pytest.raises(CardProblem):
        top_up(ledger, CardTag(card), two, 1000, "seller", migrate=False)
    assert ledger.rekey_records.rekey_journal(number).state == "started" and ledger.rekey_records.rekey_journal(number).balance == 50000
    slot, version = store_debit(card, reader_ring(2, 1), 700)  # still a whole version-1 card
    assert version == 1 and slot[codec.PURSE_SLOT_BALANCE] == 49300
    out = top_up(ledger, tap(card), two, 1000, "seller", migrate=False)
    assert out.state == "confirmed" and out.card_balance == 50300
    j = ledger.rekey_records.rekey_journal(number)
    assert (j.state, j.seq, j.balance) == ("done", 3, 49300)
    assert len(ledger.audit.audit_entries(card=number, action="card.rekey.start")) == 2
    _, _, version, view = store_read(card, reader_ring(2))
    assert (version, view.balance, view.value, view.seq) == (2, 50300, 50300, 4)


def test_a_4k_card_is_rekeyed_mad2_sector_included(ledger, demo_keyset):
    from icpurse.hil.sim import factory
    from topup_world import issue, new_uid

    one, two = rings()
    card = factory.blank_card(new_uid(), "4k")
    number = issue(ledger, CardTag(card), one, demo_keyset.issuer, version=1)
    out = top_up(ledger, tap(card), two, 1000, "seller", migrate=False)
    assert out.state == "confirmed" and out.card_balance == 51000
    new = two.for_card(card.uid, 2)
    tag = tap(card)
    mad2 = 16
    tag.authenticate(geometry.first_block(mad2), new.sector_key(mad2, purse.KEY_B), purse.KEY_B)
    tag.authenticate(geometry.first_block(mad2), codec.MAD_KEY_A, purse.KEY_A)  # still the public MAD key
    assert ledger.cards.card(number).key_version == 2
    _, _, version, view = store_read(card, reader_ring(2))
    assert (version, view.balance) == (2, 51000)


def test_reconfirm_and_card_recover_finish_a_half_rekeyed_card(ledger, demo_keyset):
    from icpurse.host.issuance.service import Workstation
    from icpurse.host.issuance.topup import reconfirm

    for finish in ("reconfirm", "recover"):
        card, number, two = _half_rekeyed(ledger, demo_keyset.issuer, 9)
        if finish == "reconfirm":
            assert reconfirm(ledger, tap(card), two, "seller") == []  # nothing to settle, but the re-key is finished
        else:
            station = Workstation(ledger, [two.keyset(2), two.keyset(1)], demo_keyset.issuer, "finance")
            out = station.recover_card(tap(card))
            assert "finished the re-key to key version 2" in out.actions and out.balance == 50000
        assert ledger.rekey_records.rekey_journal(number).state == "done" and ledger.cards.card(number).key_version == 2
        _, _, version, view = store_read(card, reader_ring(2))
        assert (version, view.balance, view.value) == (2, 50000, 50000)
        assert ledger.books.outstanding_balance(number) == 50000 and ledger.topup_records.card_topups(number) == []
