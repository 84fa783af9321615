"""The top-up counter compares the card's counter with the ledger's last-seen state before
crediting: a card written back to an older dump is refused with a clear message, nothing is written
or booked, and the card goes on the exception list (crediting it would re-seal the rolled-back
state). On SQLite and PostgreSQL."""
import pytest

from icpurse.host.cards import IntegrityProblem
from icpurse.host.issuance.topup import top_up
from trust_world import WORKSTATION, issued_card, restore, snapshot, tap


def test_a_rolled_back_card_is_refused_at_the_counter(ledger):
    ring = WORKSTATION.to_keyring()
    card, number = issued_card(ledger)
    old = snapshot(card)  # the holder keeps a dump of the card with 500 yuan
    assert top_up(ledger, tap(card), ring, 10000, "seller", card=number).state == "confirmed"
    restore(card, old)  # ... and writes it back (counter and balance of before the top-up)
    books = ledger.books.trial_balance()
    with pytest.raises(IntegrityProblem, match="rolled back") as refused:
        top_up(ledger, tap(card), ring, 10000, "seller", card=number)
    assert refused.value.exit_code == 5 and "Nothing was written or booked" in str(refused.value)
    assert snapshot(card) == old  # not a byte written
    assert ledger.books.trial_balance() == books and ledger.topup_records.unconfirmed_topups() == []
    (finding,) = ledger.store.exceptions(kind="rollback", card_number=number)
    assert finding.proposal == "blacklist" and finding.evidence["highest_seen"] > finding.evidence["card_seq"]
    assert ledger.audit.verify_audit_log() is None


def test_a_card_at_its_last_seen_counter_is_topped_up(ledger):
    ring = WORKSTATION.to_keyring()
    card, number = issued_card(ledger)
    assert top_up(ledger, tap(card), ring, 10000, "seller", card=number).state == "confirmed"
    assert top_up(ledger, tap(card), ring, 10000, "seller", card=number).state == "confirmed"
    assert ledger.store.exceptions(kind="rollback") == []
