"""Operators enforced by PostgreSQL (migration 0003c): each operator signs in to the server with its
own login role and password; the ledger binds the connection to that operator and the server refuses
what its job may not do — through the ledger API and through raw SQL alike. The issue's attack,
"anyone who can write the ledger can call the ledger API as any operator", is refused by the database.
(On SQLite one workstation's file has one trusted owner: test_trust_sqlite.py.)"""
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from icpurse.host.ledger import LoginError, RoleError, open_ledger
from icpurse.host.ledger import audit as audit_log
from support.ledger import AUDIT_KEY, DATA_KEY, drop_pg_database, fresh_pg_database
from trust_world import PW, setup

SELLER_PW, FINANCE_PW, ADMIN_PW = "seller's own secret", "finance's own secret", "admin's own secret"


@pytest.fixture
def office(pg_server, clock):
    """A PostgreSQL ledger set up by its owner (the DBA) with logins for seller, finance and admin."""
    url, conninfo, name = fresh_pg_database(pg_server)
    owner = open_ledger(url, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=clock)
    setup(owner)
    for who, pw, by in (("seller", SELLER_PW, "admin"), ("finance", FINANCE_PW, "admin"), ("admin", ADMIN_PW, "admin2")):
        assert owner.people.create_login(by, who, pw) == "%s.%s" % (name, who)
    owner.stock.receive_stock("finance", "B1", ["04A1B2C3"])
    owner.stock.issue_to_point("finance", ["04A1B2C3"], "P1")
    owner.cards.register_card("finance", "04A1B2C3", "910000000001", "mofcom-compliant", "anonymous", 50000)
    anonymous = make_url(url)._replace(username=None).render_as_string(hide_password=False)  # no user: the operator's
    opened = []

    def login(operator, password):
        led = open_ledger(anonymous, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=clock, operator=operator,
                          password=password)
        opened.append(led)
        return led

    try:
        yield owner, login
    finally:
        for led in opened + [owner]:
            led.close()
        drop_pg_database(conninfo, name)


def _denied(engine, sql, params=None):
    with pytest.raises(DBAPIError) as e:
        with engine.begin() as conn:
            conn.execute(text(sql), params or {})
    return str(e.value.orig)


def test_an_operator_signs_in_with_its_own_login_and_is_bound_to_it(office):
    owner, login = office
    seller = login("seller", SELLER_PW)
    assert seller.uow.bound_operator == "seller" and owner.uow.bound_operator is None
    assert seller.people.authenticate_operator("seller", SELLER_PW).username == "seller"
    with pytest.raises(LoginError, match="operator finance"):
        login("finance", "not finance's password")  # the server checks the password


def test_a_seller_cannot_confirm_a_payment_through_the_ledger_api(office):
    owner, login = office
    seller = login("seller", SELLER_PW)
    sale = seller.sales.record_sale("seller", "910000000001")  # its own job works
    assert sale.state == "recorded"
    with pytest.raises(RoleError, match="operator seller's"):
        seller.sales.confirm_payment("finance", "910000000001")  # impersonating finance
    assert owner.sales.face_value_entry("910000000001") is None  # nothing booked
    (refusal,) = [e for e in owner.audit.audit_entries(action="card.confirm_payment") if e.result == "refused"]
    assert refusal.operator == "seller"  # recorded under who tried
    finance = login("finance", FINANCE_PW)
    assert finance.sales.confirm_payment("finance", "910000000001").state == "paid"
    assert owner.audit.verify_audit_log() is None


def test_a_seller_cannot_confirm_a_payment_or_write_as_finance_in_raw_sql(office):
    owner, login = office
    seller = login("seller", SELLER_PW)
    seller.sales.record_sale("seller", "910000000001")
    engine = seller.engine
    assert "permission denied" in _denied(engine, "UPDATE sales SET state = 'paid'")
    # an audit entry in finance's name: refused by the server whatever its hash
    with pytest.raises(DBAPIError, match="this database login is operator seller"):
        with seller.uow.transaction() as s:
            audit_log.append(s, AUDIT_KEY, seller.now(), "finance", "card.confirm_payment", card="910000000001")
    # books only its own kinds of entry, in its own name (row-level security)
    sid = owner.people.operator_id("seller")
    assert "row-level security" in _denied(
        engine, "INSERT INTO journal_entries (idempotency_key, kind, operator_id, created_at, memo) "
                "VALUES ('sale:forged', 'sale', :o, now(), '')", {"o": sid})
    fid = owner.people.operator_id("finance")
    assert "row-level security" in _denied(
        engine, "INSERT INTO journal_entries (idempotency_key, kind, operator_id, created_at, memo) "
                "VALUES ('topup:forged', 'topup', :o, now(), '')", {"o": fid})
    # its own role, another's password hash: neither
    assert "permission denied" in _denied(engine, "UPDATE operators SET role = 'issuer-admin' WHERE username = 'seller'")
    assert "permission denied" in _denied(engine, "SELECT password_hash FROM operators")


def test_the_audit_log_and_the_books_are_insert_only_for_every_operator(office):
    owner, login = office
    for who, pw in (("seller", SELLER_PW), ("finance", FINANCE_PW), ("admin", ADMIN_PW)):
        engine = login(who, pw).engine
        for sql in ("UPDATE audit_log SET operator = 'x'", "DELETE FROM audit_log",
                    "UPDATE postings SET amount = amount", "DELETE FROM postings",
                    "UPDATE journal_entries SET memo = 'x'", "DELETE FROM journal_entries"):
            assert "permission denied" in _denied(engine, sql), (who, sql)


def test_an_admin_cannot_re_role_itself_even_in_raw_sql(office):
    owner, login = office
    admin = login("admin", ADMIN_PW)
    assert "cannot change its own role" in _denied(
        admin.engine, "UPDATE operators SET role = 'finance' WHERE username = 'admin'")
    with pytest.raises(RoleError):  # nor act as another admin through the API
        admin.people.approve_operator("admin2", "seller")


def test_a_login_is_made_by_another_admin_only(office):
    owner, _ = office
    from icpurse.host.ledger import SeparationOfDutiesError

    with pytest.raises(SeparationOfDutiesError, match="its own database login"):
        owner.people.create_login("admin2", "admin2", "a password of admin2")


def test_the_daily_jobs_run_through_their_own_logins(office):
    """The privilege matrix lets each job do its work: a seller's kiosk top-up (card write, booking,
    confirmation), finance's confirmation of its non-cash payment, the auditor's reconciliation."""
    from icpurse.host.issuance.topup import top_up
    from icpurse.host.reconcile import engine
    from trust_world import WORKSTATION, issued_card, tap

    owner, login = office
    owner.people.create_login("admin", "auditor", "auditor's own secret")
    card, number = issued_card(owner)
    seller = login("seller", SELLER_PW)
    out = top_up(seller, tap(card), WORKSTATION.to_keyring(), 10000, "seller", card=number,
                 payment_method="bank_transfer", records={"payer_account": "Payer 6222 0000 0001"})
    assert out.state == "confirmed"
    finance = login("finance", FINANCE_PW)
    assert finance.topup_records.confirm_topup_payment("finance", out.txn_id).payment_confirmed
    auditor = login("auditor", "auditor's own secret")
    report = engine.run(auditor, operator="auditor")
    assert report.totals["audit_log"] == "verifies" and report.findings == []
    assert {e.operator for e in owner.audit.audit_entries()[-8:]} <= {"seller", "finance", "auditor"}
