"""Double entry in integer fen: entries balance, the outstanding balance is derivable from
postings, and a retried booking never books twice."""
import pytest
from sqlalchemy import func, select, text

from icpurse.host.ledger import IdempotencyConflict, InvalidStateError, UnbalancedEntryError
from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger.models import JournalEntry, Posting
from world import setup_world, sell_and_activate

U1, U2 = "04A1B2C3D4E501", "04A1B2C3D4E502"


def test_sale_topup_redemption_balance_and_outstanding(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001", face_value=50000)  # 500 yuan, cash
    sell_and_activate(ledger, U2, "9000000002", face_value=100000, method="bank_transfer")  # 1,000 yuan
    ledger.books.book_redemption("9000000001", 12345, "t1:seq1", terminal="10000001")
    ledger.topup_records.book_topup_pending("9000000001", 30000, "T-1", operator="seller")
    ledger.topup_records.book_topup_confirm("T-1")

    assert ledger.books.outstanding_balance("9000000001") == 50000 - 12345 + 30000
    assert ledger.books.outstanding_balance("9000000002") == 100000
    assert ledger.books.outstanding_balance() == 50000 - 12345 + 30000 + 100000
    tb = ledger.books.trial_balance()
    assert tb["cash"] == 50000 + 30000
    assert tb["bank"] == 100000
    assert tb["redeemed"] == -12345
    assert tb["prepaid:9000000001"] == -(50000 - 12345 + 30000)
    assert sum(tb.values()) == 0
    assert ledger.books.unbalanced_entries() == []
    assert not any("forfeit" in code for code in tb)


def test_retrying_a_booking_books_once(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001")
    for _ in range(3):
        ledger.books.book_redemption("9000000001", 1000, "reader-10000001:seq-7")
    with ledger.uow.read() as s:
        keys = list(s.execute(select(JournalEntry.idempotency_key).order_by(JournalEntry.id)).scalars())
        n_postings = s.execute(select(func.count(Posting.id))).scalar_one()
    assert keys == ["sale:1", "reader-10000001:seq-7"]
    assert n_postings == 4
    assert ledger.books.outstanding_balance("9000000001") == 50000 - 1000
    with pytest.raises(IdempotencyConflict):
        ledger.books.book_redemption("9000000001", 2000, "reader-10000001:seq-7")
    assert ledger.books.outstanding_balance("9000000001") == 50000 - 1000


def test_idempotency_key_is_unique_in_the_database(ledger):
    with pytest.raises(Exception) as exc:
        with ledger.engine.begin() as conn:
            for _ in range(2):
                conn.execute(text("INSERT INTO journal_entries (idempotency_key, kind, created_at, memo) "
                                  "VALUES ('same', 't', CURRENT_TIMESTAMP, '')"))
    assert "unique" in str(exc.value).lower()


def test_unbalanced_or_fractional_entries_are_refused(ledger, clock):
    with ledger.uow.transaction() as s:
        cash, fee = bk.account(s, "cash"), bk.account(s, "fee_income")
        with pytest.raises(UnbalancedEntryError, match="do not balance"):
            bk.book(s, "k1", "fee", [bk.Line(cash, 100), bk.Line(fee, -99)], clock())
        with pytest.raises(UnbalancedEntryError, match="integer fen"):
            bk.book(s, "k2", "fee", [bk.Line(cash, 1.5), bk.Line(fee, -1.5)], clock())
        with pytest.raises(UnbalancedEntryError, match="at least two"):
            bk.book(s, "k3", "fee", [bk.Line(cash, 0)], clock())
    assert ledger.books.trial_balance() == {"cash": 0, "fee_income": 0}


def test_no_overdraft_on_redemption(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001", face_value=10000)
    with pytest.raises(InvalidStateError, match="overdraft"):
        ledger.books.book_redemption("9000000001", 10001, "r1")
    assert ledger.books.outstanding_balance("9000000001") == 10000


def test_discrepancy_is_booked_explicitly(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001", face_value=10000)
    ledger.books.book_discrepancy("9000000001", 700, "recon:2026-03-02:9000000001", "card shows 93 yuan, ledger 100")
    assert ledger.books.outstanding_balance("9000000001") == 9300
    assert ledger.books.trial_balance()["discrepancy"] == -700
    assert ledger.books.unbalanced_entries() == []
