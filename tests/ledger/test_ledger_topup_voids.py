"""Voids written to the card like a purchase (docs/business-rules.md "Kiosk top-up", step 5):
pending → confirmed / cancelled / unconfirmed; the card's balance counts for the cap; real-name rule
for named top-ups."""
import pytest

from icpurse.host.ledger import CapExceededError, InvalidStateError, RealNameRequiredError
from world import HOLDER, sell_and_activate, setup_world

U1, U2 = "04A1B2C3D4E501", "04A1B2C3D4E502"
CARD, NAMED = "9000000001", "9000000002"


@pytest.fixture
def card(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, CARD, face_value=50000)  # anonymous, cap 1,000 yuan
    return CARD


def confirmed(ledger, card, key, amount=20000):
    t = ledger.topup_records.book_topup_pending(card, amount, key, operator="seller", card_seq=2)
    ledger.topup_records.book_topup_confirm(key, card_seq=3)
    return t


def test_void_pending_then_confirmed_books_back_once(ledger, card):
    t = confirmed(ledger, card, "V-1")
    assert t.id > 0 and t.void_state is None
    v = ledger.topup_records.book_void_pending("V-1", "finance", card_present=True, card_seq=3)
    assert (v.state, v.void_state, v.void_card_seq_before) == ("confirmed", "pending", 3)
    assert ledger.books.outstanding_balance(card) == 70000  # nothing booked before the card shows the void
    assert [x.txn_id for x in ledger.topup_records.unconfirmed_topups()] == ["V-1"]
    with pytest.raises(InvalidStateError, match="not yet confirmed"):  # no new top-up meanwhile
        ledger.topup_records.book_topup_pending(card, 100, "V-2", operator="seller")
    with pytest.raises(InvalidStateError, match="under way"):
        ledger.topup_records.book_void_pending("V-1", "finance", card_present=True)
    ledger.topup_records.book_void_confirm("V-1", card_seq=4)
    ledger.topup_records.book_void_confirm("V-1", card_seq=4)  # re-sent: nothing more
    got = ledger.topup_records.topup("V-1")
    assert (got.state, got.void_state) == ("voided", "confirmed")
    assert ledger.books.outstanding_balance(card) == 50000
    assert ledger.topup_records.unconfirmed_topups() == [] and ledger.books.unbalanced_entries() == []


def test_void_unconfirmed_then_cancelled_keeps_the_topup(ledger, card):
    confirmed(ledger, card, "V-3")
    ledger.topup_records.book_void_pending("V-3", "finance", card_present=True, card_seq=3)
    ledger.topup_records.book_void_unconfirmed("V-3")
    assert ledger.topup_records.topup("V-3").void_state == "unconfirmed"
    ledger.topup_records.book_void_cancel("V-3", reason="card shows no void")
    ledger.topup_records.book_void_cancel("V-3")
    got = ledger.topup_records.topup("V-3")
    assert (got.state, got.void_state) == ("confirmed", "cancelled")
    assert ledger.books.outstanding_balance(card) == 70000
    with pytest.raises(InvalidStateError, match="no void"):
        ledger.topup_records.book_void_confirm("V-3")
    # a cancelled void may be tried again
    ledger.topup_records.book_void_pending("V-3", "finance", card_present=True, card_seq=3)
    ledger.topup_records.book_void_confirm("V-3", card_seq=4)
    assert ledger.books.outstanding_balance(card) == 50000


def test_void_pending_checks_every_rule(ledger, card, clock):
    ledger.topup_records.book_topup_pending(card, 20000, "V-4", operator="seller")
    with pytest.raises(InvalidStateError, match="only a confirmed"):
        ledger.topup_records.book_void_pending("V-4", "finance", card_present=True)
    ledger.topup_records.book_topup_confirm("V-4")
    with pytest.raises(InvalidStateError, match="card present"):
        ledger.topup_records.book_void_pending("V-4", "finance", card_present=False)
    clock.advance(hours=13, minutes=5)  # 23:05 CST
    with pytest.raises(InvalidStateError, match="refund or adjustment"):
        ledger.topup_records.book_void_pending("V-4", "finance", card_present=True)
    assert ledger.topup_records.topup("V-4").void_state is None
    results = [e.result for e in ledger.audit.audit_entries(action="topup.void_pending")]
    assert results == ["refused", "refused", "refused"]


def test_cap_counts_the_card_balance_when_higher(ledger, card):
    # the ledger knows 500 yuan; the card says 900 (e.g. a confirmed load not yet seen here)
    with pytest.raises(CapExceededError, match="1,100"):
        ledger.topup_records.book_topup_pending(card, 20000, "V-5", operator="seller", card_balance=90000)
    ledger.topup_records.book_topup_pending(card, 10000, "V-6", operator="seller", card_balance=90000)


def test_named_topup_needs_the_registered_holder(ledger, card):
    sell_and_activate(ledger, U2, NAMED, kind="named", face_value=50000, holder=HOLDER)
    ledger.topup_records.book_topup_pending(NAMED, 10000, "V-7", operator="seller",
                                            holder_id_number=HOLDER.id_number)  # the holder, ID checked
    from icpurse.host.ledger.models import Card

    with ledger.engine.begin() as conn:  # a named card whose holder record is missing
        conn.execute(Card.__table__.update().where(Card.card_number == NAMED).values(holder_id=None))
    ledger.topup_records.book_topup_confirm("V-7")
    with pytest.raises(RealNameRequiredError):
        ledger.topup_records.book_topup_pending(NAMED, 10000, "V-8", operator="seller",
                                                holder_id_number=HOLDER.id_number)


def test_named_topup_captures_who_tops_up(ledger, card):
    """Real-name capture at every named-card top-up: the holder's ID (checked) or an agent's details;
    a non-cash top-up names the payer's account. Each refusal books nothing."""
    from icpurse.host.ledger import HolderInfo, NonCashRequiredError
    from icpurse.host.ledger.errors import IdentityMismatchError

    sell_and_activate(ledger, U2, NAMED, kind="named", face_value=50000, holder=HOLDER)
    books = ledger.books.trial_balance()
    with pytest.raises(RealNameRequiredError, match="holder's ID"):
        ledger.topup_records.book_topup_pending(NAMED, 10000, "N-1", operator="seller")
    with pytest.raises(IdentityMismatchError):
        ledger.topup_records.book_topup_pending(NAMED, 10000, "N-1", operator="seller", holder_id_number="X999")
    with pytest.raises(NonCashRequiredError, match="payer's account"):
        ledger.topup_records.book_topup_pending(NAMED, 10000, "N-1", operator="seller", payment_method="bank_transfer",
                                                holder_id_number=HOLDER.id_number)
    assert ledger.books.trial_balance() == books
    t = ledger.topup_records.book_topup_pending(NAMED, 10000, "N-1", operator="seller",
                                                agent=HolderInfo("Wang Wu", "110101199001011234", "139 0000"))
    assert t.state == "pending"
    assert ledger.books.trial_balance() != books


def test_refusal_at_the_card_is_audited(ledger, card):
    books = ledger.books.trial_balance()
    ledger.topup_records.record_topup_refusal("seller", "topup.refused", "card carries key version 1; re-key not implemented",
                                card_number=card)
    (entry,) = ledger.audit.audit_entries(action="topup.refused")
    assert (entry.result, entry.card_number, entry.operator) == ("refused", card, "seller")
    assert "re-key" in entry.details
    assert ledger.books.trial_balance() == books and ledger.audit.verify_audit_log() is None
