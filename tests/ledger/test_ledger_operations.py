"""Daily operations in the ledger: kiosks (signed in before they take top-ups), terminal status,
sales points, cut-offs per programme or outlet (which decide between a void and a refund),
refunds and adjustments with four eyes, and the clearing house's 对账 lists."""
import datetime as dt

import pytest

from icpurse.host.ledger import InvalidStateError, NotFound, RoleError, SeparationOfDutiesError
from world import sell_and_activate, setup_world

U1 = "04A1B2C3D4E501"
CARD = "9000000001"
KIOSK = "31000001"
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def day(ledger, clock):
    setup_world(ledger)
    ledger.people.add_operator("clerk", "correct horse battery", "terminal-operator", by="admin")
    ledger.people.approve_operator("admin2", "clerk")  # four eyes over operators
    sell_and_activate(ledger, U1, CARD, face_value=50000)
    ledger.outlets.register_kiosk("admin", KIOSK, "Kiosk Hall", "Example Retail")
    clock.t = dt.datetime(2026, 3, 2, 10, 0, tzinfo=CST)
    return ledger


def kiosk_topup(ledger, key, amount=10000):
    t = ledger.topup_records.book_topup_pending(CARD, amount, key, operator="clerk", terminal=KIOSK, kiosk=True,
                                                card_seq=2)
    ledger.topup_records.book_topup_confirm(key, card_seq=3)
    return t


def test_a_kiosk_takes_top_ups_only_signed_in_and_enabled(day, clock):
    with pytest.raises(InvalidStateError, match="not signed in today"):
        kiosk_topup(day, "K-1")
    day.outlets.sign_in_kiosk("clerk", KIOSK)
    kiosk_topup(day, "K-1")
    clock.t += dt.timedelta(days=1)  # a new business day: sign in again
    with pytest.raises(InvalidStateError, match="not signed in today"):
        kiosk_topup(day, "K-2")
    day.outlets.sign_in_kiosk("clerk", KIOSK)
    with pytest.raises(RoleError):
        day.outlets.set_terminal_status("clerk", KIOSK, "disabled")
    day.outlets.set_terminal_status("admin", KIOSK, "disabled", "broken screen")
    with pytest.raises(InvalidStateError, match="disabled"):
        kiosk_topup(day, "K-2")
    with pytest.raises(InvalidStateError, match="disabled"):
        day.outlets.sign_in_kiosk("clerk", KIOSK)
    (entry,) = [e for e in day.audit.audit_entries(action="terminal.status") if '"broken screen"' in e.details]
    assert entry.operator == "admin" and day.audit.verify_audit_log() is None


def test_sales_points_can_be_disabled_once_empty(day):
    view = day.outlets.add_sales_point("admin", "SP-02", "Second counter")
    assert (view.active, view.cards) == (True, 0)
    with pytest.raises(InvalidStateError, match="still holds"):
        day.outlets.set_sales_point_active("admin", "P1", False)  # setup_world issued cards to P1
    day.outlets.set_sales_point_active("admin", "SP-02", False)
    day.stock.receive_stock("finance", "B-2", ["04A1B2C3D4E5FF"])
    with pytest.raises(InvalidStateError, match="disabled"):
        day.stock.issue_to_point("finance", ["04A1B2C3D4E5FF"], "SP-02")
    with pytest.raises(NotFound, match="salespoint add"):
        day.stock.issue_to_point("finance", ["04A1B2C3D4E5FF"], "SP-99")


def test_the_most_specific_cut_off_decides_void_or_refund(day, clock):
    day.outlets.sign_in_kiosk("clerk", KIOSK)
    kiosk_topup(day, "K-1")
    # 10:00, before the built-in 23:00: a void, not a refund
    with pytest.raises(InvalidStateError, match="can still be voided"):
        day.adjustments.request("clerk", "K-1", "refund", 2000, "too much")
    day.outlets.set_cutoff("admin", dt.time(9, 30), programme="mofcom-compliant")
    assert day.outlets.effective_cutoff(programme="mofcom-compliant", outlet="Kiosk Hall")[0] == dt.time(9, 30)
    day.outlets.set_cutoff("admin", dt.time(22, 0), outlet="Kiosk Hall")  # the outlet's wins
    assert day.outlets.effective_cutoff(programme="mofcom-compliant", outlet="Kiosk Hall") == (
        dt.time(22, 0), "outlet Kiosk Hall")
    with pytest.raises(InvalidStateError, match="can still be voided"):
        day.adjustments.request("clerk", "K-1", "refund", 2000, "too much")
    clock.t = dt.datetime(2026, 3, 2, 22, 30, tzinfo=CST)  # past the outlet's cut-off
    with pytest.raises(InvalidStateError, match="cut-off"):
        day.topup_records.book_void_pending("K-1", "finance", card_present=True, card_seq=3)
    a = day.adjustments.request("clerk", "K-1", "refund", 2000, "too much")
    assert a.state == "requested"
    with pytest.raises(NotFound):
        day.outlets.set_cutoff("admin", dt.time(22, 0), outlet="No Such Outlet")


def test_refunds_and_adjustments_need_four_eyes_and_book_only_when_confirmed(day, clock):
    day.outlets.sign_in_kiosk("clerk", KIOSK)
    kiosk_topup(day, "K-1")
    clock.t = dt.datetime(2026, 3, 3, 9, 0, tzinfo=CST)  # the next day: no void any more
    books = day.books.trial_balance()
    r = day.adjustments.request("clerk", "K-1", "refund", 6000, "paid twice")
    with pytest.raises(InvalidStateError, match="can still be taken back"):
        day.adjustments.request("clerk", "K-1", "debit", 5000, "too much")  # 6,000 + 5,000 > 10,000
    with pytest.raises(RoleError):
        day.adjustments.approve("clerk", r.id)
    day.people.add_operator("finance2", "correct horse battery", "finance", by="admin")
    day.people.approve_operator("admin2", "finance2")
    asked = day.adjustments.request("finance", "K-1", "credit", 500, "rounding")
    with pytest.raises(SeparationOfDutiesError):
        day.adjustments.approve("finance", asked.id)  # never the one who asked
    day.adjustments.approve("finance2", asked.id, approve=False, reason="no evidence")
    assert day.adjustments.adjustment(asked.id).state == "rejected"
    with pytest.raises(InvalidStateError, match="once approved"):
        day.adjustments.start("clerk", r.id, card_seq=3, card_balance=60000)
    day.adjustments.approve("finance", r.id)
    with pytest.raises(InvalidStateError, match="holds"):
        day.adjustments.start("clerk", r.id, card_seq=3, card_balance=5000)
    day.adjustments.start("clerk", r.id, card_seq=3, card_balance=60000)
    assert day.books.trial_balance() == books  # nothing booked before the card shows it
    day.adjustments.settle("clerk", r.id, "cancelled", "card pulled before the commit")
    assert day.adjustments.adjustment(r.id).state == "approved"  # may be written again
    day.adjustments.start("clerk", r.id, card_seq=3, card_balance=60000)
    day.adjustments.confirm("clerk", r.id)
    day.adjustments.confirm("clerk", r.id)  # again: nothing more
    assert day.books.outstanding_balance(CARD) == 60000 - 6000
    assert day.books.trial_balance()["cash"] == books["cash"] - 6000
    assert day.audit.verify_audit_log() is None


def test_clearing_lists_long_short_and_mismatch_once(day):
    from icpurse.host.ledger.clearing import ClearingRow

    day.outlets.sign_in_kiosk("clerk", KIOSK)
    for key in ("K-1", "K-2", "K-3"):
        kiosk_topup(day, key, 1000)
    date = day.business_date()
    rows = [ClearingRow("K-1", KIOSK, CARD, 1000), ClearingRow("K-2", KIOSK, CARD, 1200),
            ClearingRow("K-9", KIOSK, CARD, 300), ClearingRow("K-8", KIOSK, CARD, 0)]
    result = day.clearing.import_file("finance", date, rows, source="ch.csv", digest="d1")
    assert (result.rows, result.matched) == (4, 1)
    found = {(i.kind, i.txn_id, i.our_amount, i.their_amount) for i in result.new_items}
    assert found == {("long", "K-3", 1000, None), ("amount_mismatch", "K-2", 1000, 1200), ("short", "K-9", None, 300)}
    again = day.clearing.import_file("finance", date, rows, source="ch.csv", digest="d1")
    assert again.already_imported and again.new_items == []
    later = day.clearing.import_file("finance", date, rows[:1], source="ch2.csv", digest="d2")
    assert {(i.kind, i.txn_id) for i in later.new_items} == {("long", "K-2")}  # K-3 listed already
    with pytest.raises(ValueError, match="twice"):
        day.clearing.import_file("finance", date, rows + rows[:1], source="x", digest="d3")
    with pytest.raises(RoleError):
        day.clearing.import_file("clerk", date, rows, source="x", digest="d4")
    item = next(i for i in day.clearing.items(date) if i.txn_id == "K-9")
    with pytest.raises(ValueError, match="reason"):
        day.clearing.resolve("finance", item.id, "ours-correct", " ")
    done = day.clearing.resolve("auditor", item.id, "ours-correct", "not our kiosk; ticket CH-77")
    assert (done.status, done.action) == ("resolved", "ours-correct")
    with pytest.raises(InvalidStateError, match="already resolved"):
        day.clearing.resolve("finance", item.id, "duplicate", "again")
    assert len(day.clearing.items(date, "open")) == 3
    (entry,) = [e for e in day.audit.audit_entries(action="clearing.resolve") if e.result == "ok"]
    assert entry.operator == "auditor" and "CH-77" in entry.details
    assert {e.result for e in day.audit.audit_entries(action="clearing.resolve")} == {"ok", "refused"}
