"""The daily operations of issue 14 under the back office's trust rules (issue 13): an admin's
password reset takes a second admin; money out after the cut-off (a top-up refund/adjustment) takes
a second operator and, for a non-cash top-up, finance's confirmation that the money arrived; every
one of them is in the keyed audit chain. On PostgreSQL each job's own login may do its part of the
day and nothing more — through the API and through raw SQL (migration 0004b_operations_pg_roles)."""
import datetime as dt
import json

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from icpurse.host.ledger import (
    AuthenticationError, InvalidStateError, RoleError, SeparationOfDutiesError, open_ledger,
)
from support.ledger import AUDIT_KEY, DATA_KEY, drop_pg_database, fresh_pg_database
from trust_world import PW, setup

KIOSK = "31000001"
CST = dt.timezone(dt.timedelta(hours=8))
NEW_PW = "a new secret of nine"


def _card(ledger, number="920000000101", uid="04A1B2C3D4E5A1"):
    ledger.stock.receive_stock("finance", "B-" + uid, [uid])
    ledger.stock.issue_to_point("finance", [uid], "P1")
    ledger.cards.register_card("finance", uid, number, "mofcom-compliant", "anonymous", 50000)
    ledger.sales.record_sale("seller", number)
    ledger.sales.confirm_payment("finance", number)
    ledger.sales.activate(number, "finance")
    return number


def _kiosk_day(ledger, clock):
    ledger.outlets.register_kiosk("admin", KIOSK, "Kiosk Hall", "Example Retail")
    clock.t = dt.datetime(2026, 3, 2, 10, 0, tzinfo=CST)
    ledger.outlets.sign_in_kiosk("clerk", KIOSK)


def _topup(ledger, number, key, method="cash", operator="clerk", amount=10000):
    ledger.topup_records.book_topup_pending(number, amount, key, operator=operator, terminal=KIOSK, kiosk=True,
                                            card_seq=2, payment_method=method,
                                            payer_account=None if method == "cash" else "Payer 6222 0000 0009")
    return ledger.topup_records.book_topup_confirm(key, card_seq=3)


def test_an_admins_password_reset_takes_a_second_admin(ledger):
    with pytest.raises(SeparationOfDutiesError, match="own password"):
        ledger.people.reset_password("admin", "admin", NEW_PW)
    view = ledger.people.reset_password("admin", "auditor", NEW_PW, "forgotten")
    assert view.pending == "password"
    ledger.people.authenticate_operator("auditor", PW)  # nothing changed yet
    with pytest.raises(AuthenticationError):
        ledger.people.authenticate_operator("auditor", NEW_PW)
    for who in ("admin", "auditor"):  # not the admin who asked, not the operator it affects
        with pytest.raises((SeparationOfDutiesError, RoleError)):
            ledger.people.approve_operator(who, "auditor")
    with pytest.raises(InvalidStateError, match="awaiting approval"):
        ledger.people.reset_password("admin2", "auditor", "yet another one")
    ledger.people.approve_operator("admin2", "auditor")
    assert ledger.people.authenticate_operator("auditor", NEW_PW).pending is None
    with pytest.raises(AuthenticationError):
        ledger.people.authenticate_operator("auditor", PW)
    actions = [e.action for e in ledger.audit.audit_entries(None, None, operator=None) if "auditor" in e.details]
    assert "operator.reset_requested" in actions and "operator.approve" in actions
    assert ledger.audit.verify_audit_log() is None


def test_money_out_after_the_cut_off_takes_two_operators_and_confirmed_money(ledger, clock):
    number = _card(ledger)
    _kiosk_day(ledger, clock)
    _topup(ledger, number, "K-CASH")
    _topup(ledger, number, "K-BANK", method="bank_transfer")
    clock.t += dt.timedelta(days=1)  # past the cut-off: a refund, no longer a void
    with pytest.raises(InvalidStateError, match="confirm-payment"):  # money never seen to arrive is not paid back
        ledger.adjustments.request("clerk", "K-BANK", "refund", 1000, "customer changed their mind")
    ledger.topup_records.confirm_topup_payment("finance", "K-BANK", "BANK-REF-1")
    r = ledger.adjustments.request("clerk", "K-BANK", "refund", 1000, "customer changed their mind")
    with pytest.raises(RoleError):
        ledger.adjustments.approve("seller", r.id)  # a counter role never approves
    own = ledger.adjustments.request("finance", "K-CASH", "refund", 500, "asked by finance itself")
    with pytest.raises(SeparationOfDutiesError):
        ledger.adjustments.approve("finance", own.id)  # never the one who asked
    with pytest.raises(InvalidStateError, match="once approved"):
        ledger.adjustments.start("clerk", r.id, card_seq=4, card_balance=70000)
    ledger.adjustments.approve("finance2", r.id)
    ledger.adjustments.start("clerk", r.id, card_seq=4, card_balance=70000)
    ledger.adjustments.confirm("clerk", r.id)
    assert ledger.books.outstanding_balance(number) == 70000 - 1000
    kinds = [e.action for e in ledger.audit.audit_entries(number, "topup.adjust_*")
             if json.loads(e.details).get("id") == r.id and e.result == "ok"]
    assert kinds == ["topup.adjust_request", "topup.adjust_approve", "topup.adjust_pending", "topup.adjust_confirm"]
    assert ledger.audit.verify_audit_log() is None  # the refund's booking is sealed by the chain


# --- PostgreSQL: each job's own login ------------------------------------------------------------------

LOGINS = {"seller": "seller's own secret", "clerk": "clerk's own secret", "finance": "finance's own secret",
          "finance2": "finance2's own secret", "auditor": "auditor's own secret", "admin": "admin's own secret"}


@pytest.fixture
def office(pg_server, clock):
    url, conninfo, name = fresh_pg_database(pg_server)
    owner = open_ledger(url, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=clock)
    setup(owner)
    for who, pw in LOGINS.items():
        owner.people.create_login("admin2" if who == "admin" else "admin", who, pw)
    number = _card(owner)
    _kiosk_day(owner, clock)
    anonymous = make_url(url)._replace(username=None).render_as_string(hide_password=False)
    opened = []

    def login(operator):
        led = open_ledger(anonymous, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=clock, operator=operator,
                          password=LOGINS[operator])
        opened.append(led)
        return led

    try:
        yield owner, login, number
    finally:
        for led in opened + [owner]:
            led.close()
        drop_pg_database(conninfo, name)


def _denied(engine, sql, params=None):
    with pytest.raises(DBAPIError) as e:
        with engine.begin() as conn:
            conn.execute(text(sql), params or {})
    return str(e.value.orig)


def test_each_job_does_its_part_of_the_operations_day_on_its_own_login(office, clock):
    owner, login, number = office
    clerk, finance, finance2, auditor, seller = (login(w) for w in ("clerk", "finance", "finance2", "auditor",
                                                                      "seller"))
    clerk.outlets.sign_in_kiosk("clerk", KIOSK)
    _topup(clerk, number, "K-1")
    finance.outlets.set_cutoff("finance", dt.time(22, 0), outlet="Kiosk Hall")
    with pytest.raises(RoleError):
        seller.outlets.set_cutoff("seller", dt.time(21, 0), outlet="Kiosk Hall")
    seller_id = owner.people.operator_id("seller")
    assert "permission denied" in _denied(seller.engine, "INSERT INTO cutoffs (scope, target, at, set_by, set_at) "
                                                         "VALUES ('outlet', 'Kiosk Hall', '21:00', :o, now())",
                                          {"o": seller_id})  # ... and the server, on raw SQL
    clock.t += dt.timedelta(days=1)
    r = clerk.adjustments.request("clerk", "K-1", "refund", 2000, "paid twice")
    finance2.adjustments.approve("finance2", r.id)
    clerk.adjustments.start("clerk", r.id, card_seq=4, card_balance=60000)
    clerk.adjustments.confirm("clerk", r.id)
    assert owner.books.outstanding_balance(number) == 58000
    from icpurse.host.ledger.clearing import ClearingRow

    day = owner.business_date() - dt.timedelta(days=1)
    imported = auditor.clearing.import_file("auditor", day, [ClearingRow("K-9", KIOSK, number, 300)],
                                            source="ch.csv", digest="d1")
    auditor.clearing.resolve("auditor", imported.new_items[0].id, "ours-correct", "not ours")
    assert owner.audit.verify_audit_log() is None


def test_a_counter_login_cannot_approve_or_book_a_refund_itself(office, clock):
    owner, login, number = office
    clerk = login("clerk")
    clerk.outlets.sign_in_kiosk("clerk", KIOSK)
    _topup(clerk, number, "K-1")
    clock.t += dt.timedelta(days=1)
    r = clerk.adjustments.request("clerk", "K-1", "refund", 2000, "paid twice")
    # raw SQL on the clerk's own login: approve its own request, or flip the state past the approval
    assert "permission denied" in _denied(clerk.engine, "UPDATE topup_adjustments SET approved_by = requested_by "
                                                        "WHERE id = :i", {"i": r.id})
    assert "not a step" in _denied(clerk.engine, "UPDATE topup_adjustments SET state = 'pending' WHERE id = :i",
                                   {"i": r.id})
    msg = _denied(clerk.engine, "UPDATE topup_adjustments SET state = 'approved' WHERE id = :i", {"i": r.id})
    assert "approved or rejected only by finance" in msg
    msg = _denied(clerk.engine, "INSERT INTO topup_adjustments (topup_id, kind, amount, reason, state, requested_by, "
                                "requested_at, approved_by) SELECT topup_id, kind, amount, reason, 'approved', "
                                "requested_by, requested_at, requested_by FROM topup_adjustments WHERE id = :i",
                  {"i": r.id})
    assert "unapproved" in msg
    # book the refund's money without an approval: refused by row-level security
    clerk_id = owner.people.operator_id("clerk")
    msg = _denied(clerk.engine, "INSERT INTO journal_entries (idempotency_key, kind, created_at, operator_id, memo) "
                                "VALUES (:k, 'topup_refund', now(), :o, 'x')",
                  {"k": "topup:K-1:adjustment:%d" % r.id, "o": clerk_id})
    assert "row-level security" in msg
    assert owner.adjustments.adjustment(r.id).state == "requested"  # nothing changed


def test_switching_a_reader_to_issuance_use_is_a_terminal_job_and_audited(ledger):
    with pytest.raises(RoleError):
        ledger.outlets.record_reader_use("seller", "10000001", "issuance")
    ledger.outlets.record_reader_use("clerk", "10000001", "issuance")
    (entry,) = ledger.audit.audit_entries(action="terminal.use", operator="clerk")
    assert (entry.terminal_number, json.loads(entry.details)["use"]) == ("10000001", "issuance")
    assert [e.result for e in ledger.audit.audit_entries(action="terminal.use")] == ["refused", "ok"]
