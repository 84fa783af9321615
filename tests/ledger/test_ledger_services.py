"""The ledger is a set of services over one unit of work (host/ledger/service.py): no inherited
behaviour, one transaction helper shared by all, and the read models that reports and
reconciliation use instead of querying the tables themselves."""
import pytest

from icpurse.host.ledger import InvalidStateError, Ledger
from icpurse.host.ledger.unit_of_work import UnitOfWork
from world import sell_and_activate, setup_world

SERVICES = ("people", "programmes", "stock", "cards", "sales", "personalisation_records", "topup_records",
            "blacklist", "store", "lifecycle_records", "rekey_records", "books", "audit")
U1, U2 = "04A1B2C3D4E501", "04A1B2C3D4E502"


def test_the_ledger_composes_services_that_share_one_unit_of_work(ledger):
    assert Ledger.__mro__ == (Ledger, object)  # composed, not a class of mixins
    assert isinstance(ledger.uow, UnitOfWork)
    for name in SERVICES:
        assert getattr(ledger, name).uow is ledger.uow, name
    # the flat methods of the old one-class ledger are gone (callers name the service)
    assert not any(hasattr(ledger, m) for m in ("book_topup_pending", "record_sale", "trial_balance", "session"))


def test_a_refusal_in_one_service_is_audited_through_the_shared_unit_of_work(ledger):
    setup_world(ledger)
    head = ledger.audit.audit_head()
    with pytest.raises(InvalidStateError, match="already exists"):
        ledger.stock.add_sales_point("admin", "P1", "again")
    (entry,) = [e for e in ledger.audit.audit_entries(action="stock.add_sales_point") if e.result == "refused"]
    assert entry.seq == head[0] + 1 and entry.prev_hash == head[1]  # appended to the one chain
    assert ledger.audit.verify_audit_log() is None


def test_read_models_for_reports_and_reconciliation(ledger, clock):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001", face_value=50000)
    sell_and_activate(ledger, U2, "9000000002", face_value=50000)
    ledger.store.add_terminal("admin", "31000001", "Kiosk", "Merchant")
    ledger.books.book_redemption("9000000001", 1200, "debit:31000001:7", terminal="31000001")
    ledger.books.book_redemption("9000000002", 300, "other:1")
    ledger.topup_records.book_topup_pending("9000000002", 10000, "K-1", operator="seller", terminal="31000001",
                                            card_seq=2, card_balance=49700)
    clock.advance(minutes=3)
    ledger.topup_records.book_topup_confirm("K-1", card_seq=3)
    ledger.topup_records.book_topup_pending("9000000001", 5000, "K-2", operator="seller", card_seq=4)

    assert ledger.books.booked_keys("debit:") == {"debit:31000001:7"}
    assert ledger.books.booking_terminals() == {"debit:31000001:7": "31000001", "topup:K-1": "31000001"}
    (confirmed,) = ledger.topup_records.confirmed_topups()  # K-2 is still pending
    assert (confirmed.txn_id, confirmed.card_balance_before, confirmed.card_seq_after) == ("K-1", 49700, 3)
    assert confirmed.settled_at == clock.t
    assert [p.id for p in ledger.programmes.registered()] == ["mofcom-compliant"]
    assert ledger.programmes.registered()[0].definition["id"] == "mofcom-compliant"

    # one summary per entry: 2 sales, 2 redemptions, 2 top-ups booked at pending
    summaries = ledger.books.entry_summaries()
    assert [(e.kind, e.card_number, e.amount, e.liability, e.cash) for e in summaries] == [
        ("sale", "9000000001", 50000, 50000, 50000),
        ("sale", "9000000002", 50000, 50000, 50000),
        ("redemption", "9000000001", 1200, -1200, 0),
        ("redemption", "9000000002", 300, -300, 0),
        ("topup", "9000000002", 10000, 10000, 10000),
        ("topup", "9000000001", 5000, 5000, 5000),
    ]
    assert sum(e.liability for e in summaries) == ledger.books.outstanding_balance()
    assert {e.programme_id for e in summaries} == {"mofcom-compliant"}


def test_journal_record_count(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "31000001", "Kiosk", "Merchant")
    assert ledger.store.journal_record_count() == ledger.store.journal_record_count("31000001") == 0
