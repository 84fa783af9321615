"""Kiosk top-ups (docs/business-rules.md "Kiosk top-up"): booked once, reversed when the write
fails, re-confirmed when the outcome is unknown, voided only the same day before the cut-off; caps
on the post-top-up balance; blacklisted cards refused."""
import datetime as dt

import pytest

from icpurse.host.ledger import (
    BlacklistedError, CapExceededError, IdempotencyConflict, InvalidStateError, NonCashRequiredError,
)
from world import sell_and_activate, setup_world

U1 = "04A1B2C3D4E501"
CARD = "9000000001"


@pytest.fixture
def card(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, CARD, face_value=50000)  # anonymous, cap 1,000 yuan
    ledger.store.add_terminal("admin", "31000001", "Post kiosk 1", "Example Power Supply")
    return CARD


def test_confirmed_topup_is_booked_once(ledger, card):
    t = ledger.topup_records.book_topup_pending(card, 20000, "K-1", operator="seller", terminal="31000001", card_seq=3)
    assert (t.state, t.terminal, t.amount) == ("pending", "31000001", 20000)
    again = ledger.topup_records.book_topup_pending(card, 20000, "K-1", operator="seller", terminal="31000001", card_seq=3)
    assert again.txn_id == "K-1"
    assert ledger.books.outstanding_balance(card) == 70000  # booked once, not twice
    ledger.topup_records.book_topup_confirm("K-1", card_seq=4)
    ledger.topup_records.book_topup_confirm("K-1", card_seq=4)  # a re-sent confirmation changes nothing
    assert ledger.topup_records.topup("K-1").state == "confirmed"
    assert ledger.cards.card(card).state == "in_use"
    assert ledger.books.outstanding_balance(card) == 70000
    with pytest.raises(IdempotencyConflict):
        ledger.topup_records.book_topup_pending(card, 30000, "K-1")


def test_failed_write_is_reversed(ledger, card):
    ledger.topup_records.book_topup_pending(card, 20000, "K-2", operator="seller")
    ledger.topup_records.book_topup_reverse("K-2", reason="card write failed")
    ledger.topup_records.book_topup_reverse("K-2")  # idempotent
    assert ledger.topup_records.topup("K-2").state == "reversed"
    assert ledger.books.outstanding_balance(card) == 50000
    assert ledger.books.trial_balance()["cash"] == 50000
    with pytest.raises(InvalidStateError):
        ledger.topup_records.book_topup_confirm("K-2")
    assert ledger.books.unbalanced_entries() == []


def test_unconfirmed_topups_are_listed_and_reconfirmed(ledger, card):
    ledger.topup_records.book_topup_pending(card, 10000, "K-3", operator="seller")
    ledger.topup_records.book_topup_unconfirmed("K-3")
    assert [t.txn_id for t in ledger.topup_records.unconfirmed_topups()] == ["K-3"]
    with pytest.raises(InvalidStateError, match="not yet confirmed"):  # no new sale until it is settled
        ledger.topup_records.book_topup_pending(card, 5000, "K-4", operator="seller")
    ledger.topup_records.book_topup_confirm("K-3", card_seq=5)  # re-confirmation found the write on the card
    assert ledger.topup_records.unconfirmed_topups() == []
    assert ledger.books.outstanding_balance(card) == 60000
    ledger.topup_records.book_topup_pending(card, 5000, "K-4", operator="seller")
    ledger.topup_records.book_topup_unconfirmed("K-4")
    ledger.topup_records.book_topup_reverse("K-4")  # re-confirmation found no write
    assert ledger.books.outstanding_balance(card) == 60000


def test_void_same_day_before_cutoff(ledger, card, clock):
    ledger.topup_records.book_topup_pending(card, 20000, "K-5", operator="seller")
    with pytest.raises(InvalidStateError, match="only a confirmed"):
        ledger.topup_records.book_topup_void("K-5", "finance", card_present=True)
    ledger.topup_records.book_topup_confirm("K-5")
    with pytest.raises(InvalidStateError, match="card present"):
        ledger.topup_records.book_topup_void("K-5", "finance", card_present=False)
    clock.advance(hours=3)
    t = ledger.topup_records.book_topup_void("K-5", "finance", card_present=True)
    assert t.state == "voided"
    assert ledger.books.outstanding_balance(card) == 50000
    assert [e.result for e in ledger.audit.audit_entries(action="topup.void")] == ["refused", "refused", "ok"]


def test_no_void_after_cutoff_or_next_day(ledger, card, clock):
    ledger.topup_records.book_topup_pending(card, 20000, "K-6", operator="seller")  # 10:00 CST
    ledger.topup_records.book_topup_confirm("K-6")
    clock.t = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.timezone.utc)  # 23:30 CST, after the 23:00 cut-off
    with pytest.raises(InvalidStateError, match="cut-off"):
        ledger.topup_records.book_topup_void("K-6", "finance", card_present=True)
    clock.t = dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.timezone.utc)  # next day 10:00 CST
    with pytest.raises(InvalidStateError, match="same day"):
        ledger.topup_records.book_topup_void("K-6", "finance", card_present=True)
    assert ledger.topup_records.topup("K-6").state == "confirmed"
    assert ledger.books.outstanding_balance(card) == 70000


def test_cap_applies_to_the_post_topup_balance(ledger, card):
    ledger.topup_records.book_topup_pending(card, 50000, "K-7", operator="seller")  # 500 + 500 = 1,000 yuan: at the cap
    ledger.topup_records.book_topup_confirm("K-7")
    with pytest.raises(CapExceededError, match="1,000 yuan"):
        ledger.topup_records.book_topup_pending(card, 1, "K-8", operator="seller")
    assert ledger.books.outstanding_balance(card) == 100000
    (refusal,) = [e for e in ledger.audit.audit_entries(action="topup.pending") if e.result == "refused"]
    assert refusal.card_number == card


def test_blacklisted_card_is_refused(ledger, card):
    ledger.blacklist.blacklist_add("auditor", card, "counter regression", {"seen_seq": 4, "ledger_seq": 7})
    with pytest.raises(BlacklistedError):
        ledger.topup_records.book_topup_pending(card, 1000, "K-9", operator="seller")
    assert ledger.books.outstanding_balance(card) == 50000


def test_credit_cards_and_unsold_cards_refused(ledger, card):
    with pytest.raises(NonCashRequiredError):  # the compliant programme does not accept credit cards
        ledger.topup_records.book_topup_pending(card, 1000, "K-10", operator="seller", payment_method="credit_card")
    ledger.cards.register_card("finance", "04A1B2C3D4E502", "9000000002", "mofcom-compliant", "anonymous", 10000)
    with pytest.raises(InvalidStateError, match="only activated"):
        ledger.topup_records.book_topup_pending("9000000002", 1000, "K-11", operator="seller")


def test_disabled_terminal_refused(ledger, card):
    ledger.store.set_terminal_status("admin", "31000001", "disabled")
    with pytest.raises(InvalidStateError, match="disabled"):
        ledger.topup_records.book_topup_pending(card, 1000, "K-12", terminal="31000001")
    assert ledger.store.terminal("31000001").status == "disabled"
