"""Four eyes where money or people are at stake, on SQLite and PostgreSQL:
- an auditor alone cannot dismiss a rollback, clone or forgery finding (the card would keep working):
  a second operator of another role must confirm the same outcome;
- a non-cash top-up taken by a seller counts as paid only once finance confirmed it;
- an admin cannot create or re-role an operator alone (a second identity for himself): a second
  issuer-admin approves, never the requester nor the operator concerned; the bootstrap of a new
  ledger is its first admin and that admin's second issuer-admin, marked as such."""
import json

import pytest

from icpurse.host.ledger import AuthenticationError, InvalidStateError, RoleError, SeparationOfDutiesError
from icpurse.host.issuance.topup import top_up
from icpurse.host.reconcile import engine
from trust_world import PW, WORKSTATION, issued_card, tap


def _rollback_finding(ledger, number):
    ev, _ = ledger.store.add_exception("test:rollback:%s" % number, "rollback", "card %s rolled back" % number,
                                       card_number=number, amount=10000, proposal="blacklist")
    return ev


def test_an_auditor_alone_cannot_dismiss_a_rollback(ledger):
    _, number = issued_card(ledger)
    f = _rollback_finding(ledger, number)
    asked = ledger.store.close_exception("auditor", f.id, "dismissed", "looks fine to me")
    assert asked.status == "open" and asked.close_requested_by == "auditor"
    with pytest.raises(SeparationOfDutiesError, match="another role"):
        ledger.store.close_exception("auditor", f.id, "dismissed", "still fine")  # the same operator again
    ledger.people.add_operator("auditor2", PW, "auditor", by="admin")
    ledger.people.approve_operator("admin2", "auditor2")
    with pytest.raises(SeparationOfDutiesError, match="another role"):
        ledger.store.close_exception("auditor2", f.id, "dismissed", "agreed")  # the same role
    with pytest.raises(InvalidStateError, match="dismissed"):
        ledger.store.close_exception("finance", f.id, "resolved", "other outcome")  # not what was asked
    assert ledger.store.exception(f.id).status == "open"
    done = ledger.store.close_exception("finance", f.id, "dismissed", "card checked at the counter")
    assert done.status == "dismissed" and "requested by auditor" in done.close_reason
    actions = [(e.action, e.operator) for e in ledger.audit.audit_entries(action="exception.*") if e.result == "ok"]
    assert actions[-2:] == [("exception.close_requested", "auditor"), ("exception.dismissed", "finance")]


def test_settling_a_forgery_through_the_discrepancy_account_takes_two(ledger):
    _, number = issued_card(ledger)
    ev, _ = ledger.store.add_exception("test:forgery:%s" % number, "forgery", "unexplained", card_number=number,
                                       amount=5000, proposal="blacklist")
    before = ledger.books.outstanding_balance(number)
    first = engine.settle(ledger, "auditor", ev.id, "honour it")
    assert first.status == "open" and ledger.books.outstanding_balance(number) == before  # nothing booked yet
    done = engine.settle(ledger, "finance", ev.id, "agreed")
    assert done.status == "resolved" and ledger.books.outstanding_balance(number) == before + 5000
    assert ledger.audit.verify_audit_log() is None


def test_other_findings_close_with_one_operator(ledger):
    ev, _ = ledger.store.add_exception("test:gap", "journal_gap", "a gap", terminal="12345678")
    assert ledger.store.close_exception("auditor", ev.id, "resolved", "records found").status == "resolved"


def test_a_non_cash_top_up_counts_as_paid_only_after_finance_confirms(ledger):
    ring = WORKSTATION.to_keyring()
    card, number = issued_card(ledger)
    out = top_up(ledger, tap(card), ring, 20000, "seller", card=number, payment_method="bank_transfer",
                 records={"payer_account": "Payer 6222 0000 0001"})  # a non-cash payment names the payer
    assert out.state == "confirmed"
    tb = ledger.books.trial_balance()
    assert tb.get("bank", 0) == 0 and tb["payments_pending"] == 20000  # not received yet
    (unpaid,) = ledger.topup_records.unpaid_topups()
    assert unpaid.txn_id == out.txn_id and not unpaid.payment_confirmed
    with pytest.raises(RoleError):  # the seller cannot confirm it
        ledger.topup_records.confirm_topup_payment("seller", out.txn_id)
    paid = ledger.topup_records.confirm_topup_payment("finance", out.txn_id, "BANK-REF-1")
    assert paid.payment_confirmed and ledger.topup_records.unpaid_topups() == []
    tb = ledger.books.trial_balance()
    assert tb["bank"] == 20000 and tb["payments_pending"] == 0
    assert ledger.audit.verify_audit_log() is None


def test_finance_cannot_confirm_a_top_up_it_took_itself(ledger):
    ring = WORKSTATION.to_keyring()
    card, number = issued_card(ledger)
    out = top_up(ledger, tap(card), ring, 20000, "finance", card=number, payment_method="bank_transfer",
                 records={"payer_account": "Payer 6222 0000 0001"})  # a non-cash payment names the payer
    with pytest.raises(SeparationOfDutiesError):
        ledger.topup_records.confirm_topup_payment("finance", out.txn_id)
    assert ledger.topup_records.confirm_topup_payment("finance2", out.txn_id).payment_confirmed


def test_an_admin_cannot_add_a_second_identity_alone(ledger):
    me2 = ledger.people.add_operator("admin-alt", PW, "finance", by="admin")
    assert me2.pending == "add" and not me2.active
    with pytest.raises(AuthenticationError):  # cannot sign in (not told apart from a wrong password)
        ledger.people.authenticate_operator("admin-alt", PW)
    with pytest.raises(RoleError, match="awaits approval"):
        ledger.sales.confirm_payment("admin-alt", "nothing")
    with pytest.raises(SeparationOfDutiesError, match="other than admin"):
        ledger.people.approve_operator("admin", "admin-alt")
    assert ledger.people.approve_operator("admin2", "admin-alt").active


def test_an_admin_cannot_re_role_itself_or_approve_a_change_it_asked_for(ledger):
    with pytest.raises(SeparationOfDutiesError, match="its own role"):
        ledger.people.request_role("admin", "admin", "finance")
    asked = ledger.people.request_role("admin", "seller", "finance")
    assert asked.pending == "role" and asked.role == "seller"
    with pytest.raises(SeparationOfDutiesError):
        ledger.people.approve_operator("admin", "seller")
    assert ledger.people.approve_operator("admin2", "seller").role == "finance"


def test_the_bootstrap_is_the_first_admin_and_its_second_admin_only(ledger):
    adds = [json.loads(e.details) for e in ledger.audit.audit_entries(action="operator.add")]
    assert [(d["username"], d["bootstrap"]) for d in adds[:3]] == [("admin", True), ("admin2", True),
                                                                    ("seller", False)]
    third = ledger.people.add_operator("admin3", PW, "issuer-admin", by="admin")  # past the bootstrap
    assert third.pending == "add"
