"""Stock, registration, sale, payment and activation (docs/business-rules.md "Card lifecycle
states"): separation of duties enforced and audited, stock counts, real-name capture with the ID
number encrypted at rest."""
import json

import pytest
from sqlalchemy import text

from icpurse.host.ledger import (
    AuthenticationError, CapExceededError, InvalidStateError, NonCashRequiredError,
    ProgrammeViolationError, RealNameRequiredError, RoleError, SeparationOfDutiesError, open_ledger,
)
from icpurse.host.ledger.models import Operator
from icpurse.protocol.numbering import CardNumberError
from support.ledger import AUDIT_KEY
from world import HOLDER, PW, example, setup_world

U1, U2, U3, U4 = "04A1B2C3D4E501", "04A1B2C3D4E502", "04A1B2C3D4E503", "04A1B2C3D4E504"


def _refusals(ledger, action):
    return [e for e in ledger.audit.audit_entries(action=action) if e.result == "refused"]


def test_card_lifecycle_to_activation(ledger):
    setup_world(ledger)
    card = ledger.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "anonymous", 50000)
    assert (card.state, card.uid, card.key_version) == ("issued_to_point", U1, 1)
    ledger.sales.record_sale("seller", "9000000001")
    assert ledger.cards.card("9000000001").state == "sold"
    assert ledger.books.outstanding_balance("9000000001") == 0  # no money booked before finance confirms it
    ledger.sales.confirm_payment("finance", "9000000001")
    assert ledger.cards.card("9000000001").state == "paid"
    assert ledger.books.outstanding_balance("9000000001") == 50000
    ledger.sales.activate("9000000001", "finance")
    assert ledger.cards.card("9000000001").state == "activated"
    actions = [e.action for e in ledger.audit.audit_entries(card="9000000001")]
    assert actions == ["card.register", "card.sell", "card.confirm_payment", "card.activate"]


def test_seller_cannot_activate_own_sale_and_refusal_is_audited(ledger):
    setup_world(ledger)
    ledger.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "anonymous", 50000)
    ledger.sales.record_sale("seller", "9000000001")
    ledger.sales.confirm_payment("finance", "9000000001")
    with pytest.raises(SeparationOfDutiesError, match="another role") as exc:
        ledger.sales.activate("9000000001", "seller")
    assert isinstance(exc.value, PermissionError)
    with pytest.raises(SeparationOfDutiesError):  # another seller: same role as the seller
        ledger.sales.activate("9000000001", "seller2")
    assert ledger.cards.card("9000000001").state == "paid"  # nothing changed
    refused = _refusals(ledger, "card.activate")
    assert [(e.operator, e.card_number) for e in refused] == [("seller", "9000000001"), ("seller2", "9000000001")]
    assert json.loads(refused[0].details)["error"] == "SeparationOfDutiesError"
    assert ledger.audit.verify_audit_log() is None
    with pytest.raises(RoleError):  # an auditor has another role but may not activate
        ledger.sales.activate("9000000001", "auditor")
    ledger.sales.activate("9000000001", "finance")
    assert ledger.cards.card("9000000001").state == "activated"


def test_activation_only_after_payment_confirmed(ledger):
    setup_world(ledger)
    ledger.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "anonymous", 50000)
    ledger.sales.record_sale("seller", "9000000001")
    with pytest.raises(InvalidStateError, match="payment not confirmed"):
        ledger.sales.activate("9000000001", "finance")
    assert ledger.cards.card("9000000001").state == "sold"
    assert len(_refusals(ledger, "card.activate")) == 1


def test_payment_confirmed_only_by_finance(ledger):
    setup_world(ledger)
    ledger.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "anonymous", 50000)
    ledger.sales.record_sale("seller", "9000000001")
    with pytest.raises(RoleError):
        ledger.sales.confirm_payment("seller", "9000000001")
    with pytest.raises(RoleError):
        ledger.sales.record_sale("finance", "9000000002")
    assert ledger.books.outstanding_balance() == 0


def test_stock_count_reports_differences(ledger):
    setup_world(ledger, uids=(U1, U2))
    ledger.stock.receive_stock("finance", "B-2", [U3, U4])
    # warehouse holds U3, U4; P1 holds U1, U2. Counted at P1: U1 (U2 missing), U3 (belongs to the
    # warehouse) and a UID never received.
    count = ledger.stock.count_stock("auditor", ["04a1b2c3d4e501", U3, "DEADBEEF"], point_code="P1")
    assert (count.location, count.expected, count.counted) == ("P1", 2, 3)
    assert count.missing == [U2]
    assert count.unexpected == [(U3, "in_stock")]
    assert count.unknown == ["DEADBEEF"]
    assert not count.ok
    assert ledger.stock.count_stock("auditor", [U3, U4]).ok  # warehouse count matches
    results = [e.result for e in ledger.audit.audit_entries(action="stock.count")]
    assert results == ["differences", "ok"]


def test_each_card_number_and_uid_registered_once(ledger):
    setup_world(ledger)
    ledger.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "anonymous", 50000)
    with pytest.raises(InvalidStateError, match="already registered"):
        ledger.cards.register_card("finance", U2, "9000000001", "mofcom-compliant", "anonymous", 50000)
    with pytest.raises(InvalidStateError, match="already has a card number"):
        ledger.cards.register_card("finance", U1, "9000000002", "mofcom-compliant", "anonymous", 50000)
    with pytest.raises(InvalidStateError, match="no anonymous face value"):
        ledger.cards.register_card("finance", U2, "9000000003", "mofcom-compliant", "anonymous", 200000)
    with pytest.raises(InvalidStateError, match="already in stock"):
        ledger.stock.receive_stock("finance", "B-9", [U1])


def test_card_numbers_follow_the_programme_scheme(ledger):
    setup_world(ledger)
    ledger.programmes.register_programme("admin", example("utility-payment-card.toml"))
    # 5 031 2 0000042: business code 5, platform 031, face-value code 2 = 500 yuan, serial 42
    card = ledger.cards.register_card("finance", U1, "503120000042", "utility-payment", "anonymous", 50000)
    assert card.card_number == "503120000042"
    with pytest.raises(CardNumberError, match="platform"):
        ledger.cards.register_card("finance", U2, "504020000043", "utility-payment", "anonymous", 50000)
    with pytest.raises(InvalidStateError, match="encodes face value"):
        ledger.cards.register_card("finance", U2, "503110000043", "utility-payment", "anonymous", 50000)


def test_named_sale_needs_real_name_and_id_is_encrypted_at_rest(ledger):
    setup_world(ledger)
    ledger.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "named", 100000)
    with pytest.raises(RealNameRequiredError):
        ledger.sales.record_sale("seller", "9000000001")
    ledger.sales.record_sale("seller", "9000000001", holder=HOLDER)
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM holders")).mappings().all()
        audit = conn.execute(text("SELECT details FROM audit_log")).scalars().all()
    assert len(rows) == 1
    flat = repr(dict(rows[0])).upper()
    assert HOLDER.id_number.upper() not in flat
    assert HOLDER.id_number.encode() not in bytes(rows[0]["id_number_enc"])
    assert not any(HOLDER.id_number in d for d in audit)
    assert "<hidden>" in repr(HOLDER)
    assert ledger.cards.holder_id_number("9000000001") == HOLDER.id_number


def test_holder_id_needs_the_right_data_key(ledger_url, clock):
    from icpurse.host.ledger import DataKeyError

    led = open_ledger(ledger_url, audit_key=AUDIT_KEY, data_key=bytes(range(32)), clock=clock)
    setup_world(led)
    led.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "named", 100000)
    led.sales.record_sale("seller", "9000000001", holder=HOLDER)
    led.close()
    wrong = open_ledger(ledger_url, audit_key=AUDIT_KEY, data_key=b"\x55" * 32, clock=clock)
    try:
        with pytest.raises(DataKeyError, match="wrong ledger data key"):
            wrong.cards.holder_id_number("9000000001")
    finally:
        wrong.close()
    keyless = open_ledger(ledger_url, audit_key=AUDIT_KEY, clock=clock)
    try:
        keyless.cards.register_card("finance", U2, "9000000002", "mofcom-compliant", "named", 100000)
        with pytest.raises(DataKeyError):
            keyless.sales.record_sale("seller", "9000000002", holder=HOLDER)
        assert keyless.cards.card("9000000002").state == "issued_to_point"
    finally:
        keyless.close()


def test_non_cash_and_real_name_thresholds(ledger):
    setup_world(ledger)
    ledger.cards.register_card("finance", U1, "9000000001", "mofcom-compliant", "anonymous", 100000)
    # a unit buying 5,000 yuan of cards in one go must pay by non-cash means (MOFCOM)
    with pytest.raises(NonCashRequiredError, match="unit"):
        ledger.sales.record_sale("seller", "9000000001", buyer="unit", purchase_total=500000)
    with pytest.raises(NonCashRequiredError, match="remote"):
        ledger.sales.record_sale("seller", "9000000001", remote=True)
    # anonymous purchases of 10,000 yuan in one go need real-name capture
    with pytest.raises(RealNameRequiredError, match="anonymous purchase"):
        ledger.sales.record_sale("seller", "9000000001", payment_method="bank_transfer", purchase_total=1000000)
    ledger.sales.record_sale("seller", "9000000001", buyer="unit", purchase_total=499900)
    assert ledger.cards.card("9000000001").state == "sold"


def test_violating_programme_needs_an_audited_override(ledger):
    setup_world(ledger)
    store = example("company-store-card.toml")
    with pytest.raises(ProgrammeViolationError, match="company-store") as exc:
        ledger.programmes.register_programme("admin", store)
    assert len(exc.value.violations) == 7
    with pytest.raises(ProgrammeViolationError):
        ledger.programmes.register_programme("admin", store, override_reason="   ")
    with pytest.raises(RoleError):
        ledger.programmes.register_programme("finance", store, override_reason="legacy stock")
    assert [e.result for e in ledger.audit.audit_entries(action="programme.register")][-3:] == ["refused"] * 3
    ledger.programmes.register_programme("admin", store, override_reason="legacy cards sold before 2012, run-off only")
    (entry,) = ledger.audit.audit_entries(action="programme.override")
    details = json.loads(entry.details)
    assert entry.operator == "admin" and details["reason"].startswith("legacy cards")
    assert sorted(v["rule"] for v in details["violations"]) == sorted([
        "cap.anonymous", "cap.anonymous", "cap.named", "validity.named", "validity.anonymous",
        "forfeiture.no_cash_back", "forfeiture.residual_kept"])
    # cards can now be registered under it
    ledger.cards.register_card("finance", U1, "S-0001", "company-store", "anonymous", 200000)


def test_unregistered_programme_cannot_issue(ledger):
    setup_world(ledger)
    from icpurse.host.ledger import NotFound

    with pytest.raises(NotFound, match="not registered"):
        ledger.cards.register_card("finance", U1, "S-1", "company-store", "anonymous", 200000)


def test_sale_over_cap_refused(ledger):
    setup_world(ledger)
    ledger.programmes.register_programme("admin", example("company-store-card.toml"), override_reason="run-off")
    ledger.cards.register_card("finance", U1, "S-0003", "company-store", "anonymous", 500000)
    with pytest.raises(CapExceededError, match="1,000 yuan"):
        ledger.sales.record_sale("seller", "S-0003")
    assert ledger.cards.card("S-0003").state == "issued_to_point"


def test_operators_passwords_and_roles(ledger):
    setup_world(ledger)
    op = ledger.people.authenticate_operator("seller", PW)
    assert op.role == "seller"
    with pytest.raises(AuthenticationError):
        ledger.people.authenticate_operator("seller", "wrong password")
    with pytest.raises(AuthenticationError):
        ledger.people.authenticate_operator("nobody", PW)
    with pytest.raises(AuthenticationError):  # only an issuer-admin adds operators
        ledger.people.add_operator("x", PW, "seller")
    with pytest.raises(RoleError):
        ledger.people.add_operator("x", PW, "seller", by="finance")
    with ledger.uow.read() as s:
        stored = [o.password_hash for o in s.query(Operator)]
    assert all(h.startswith("$argon2id$") and PW not in h for h in stored)
    ledger.people.change_password("seller", PW, "another long password")
    ledger.people.authenticate_operator("seller", "another long password")
    logins = [(e.operator, e.result) for e in ledger.audit.audit_entries(action="operator.login")]
    assert logins[:3] == [("seller", "ok"), ("seller", "refused"), ("nobody", "refused")]


def test_first_operator_must_be_admin(ledger):
    with pytest.raises(InvalidStateError, match="issuer-admin"):
        ledger.people.add_operator("seller", PW, "seller")
