"""The personalisation journal (started before the first card write, done after verification),
programme numbers on cards, stock received by count, and audited card recoveries — on SQLite and
PostgreSQL."""
import pytest
from world import setup_world

from icpurse.host.ledger import InvalidStateError, NotFound, RoleError

UID = "04A1B2C3D4E501"
IDENTITY = (1, 1, 0xD0, 1, bytes.fromhex("000100000001"), 80, 0, 2026, 1, 0, 0, 9557, 10653, 0)


def start(ledger, uid=UID, number="000100000001", operator="finance", **kw):
    return ledger.personalisation_records.start_personalisation(operator, uid, card_number=number, programme_id="mofcom-compliant",
                                        kind="anonymous", face_value=50000, key_version=1, identity=IDENTITY,
                                        card_time=825732000, **kw)


def test_start_reserves_the_number_and_keeps_the_identity_until_done(ledger):
    setup_world(ledger)
    p = start(ledger)
    assert (p.state, p.card_number, p.attempts, p.identity, p.card_time) == (
        "started", "000100000001", 1, IDENTITY, 825732000)
    assert ledger.cards.card_by_uid(UID).card_number == "000100000001"  # registered in the same transaction
    assert [x.uid for x in ledger.personalisation_records.personalisations("started")] == [UID]
    # the same UID again (card pulled, presented again): same entry, the attempt counted
    again = start(ledger, number="000100000999")
    assert again.card_number == "000100000001" and again.attempts == 2 and again.identity == IDENTITY
    done = ledger.personalisation_records.finish_personalisation("finance", UID)
    assert done.state == "done" and done.finished_at is not None
    assert ledger.personalisation_records.finish_personalisation("finance", UID).state == "done"  # idempotent
    assert ledger.personalisation_records.personalisations("started") == []
    actions = [e.action for e in ledger.audit.audit_entries(card="000100000001")]
    assert actions == ["card.register", "card.personalise.start", "card.personalise.resume", "card.personalise.done"]
    assert ledger.audit.verify_audit_log() is None


def test_damaged_entries_keep_the_number_and_can_be_retried(ledger):
    setup_world(ledger)
    start(ledger)
    p = ledger.personalisation_records.mark_personalisation_damaged("finance", UID, "sector 7 does not open")
    assert p.state == "damaged" and p.note == "sector 7 does not open"
    assert [x.uid for x in ledger.personalisation_records.personalisations("damaged")] == [UID]
    assert start(ledger).state == "started"
    ledger.personalisation_records.finish_personalisation("finance", UID)
    with pytest.raises(InvalidStateError):
        ledger.personalisation_records.mark_personalisation_damaged("finance", UID, "late")


def test_only_issuer_roles_personalise_and_the_refusal_changes_nothing(ledger):
    setup_world(ledger)
    with pytest.raises(RoleError):
        start(ledger, operator="seller")
    assert ledger.personalisation_records.personalisation(UID) is None and ledger.cards.card_by_uid(UID) is None
    assert ledger.audit.audit_entries(action="card.personalise.start")[-1].result == "refused"


def test_a_number_taken_is_refused_and_nothing_is_journalled(ledger):
    setup_world(ledger)
    start(ledger)
    with pytest.raises(InvalidStateError, match="already registered"):
        start(ledger, uid="04A1B2C3D4E502")
    assert ledger.personalisation_records.personalisation("04A1B2C3D4E502") is None


def test_programme_codes_are_assigned_once_in_order_of_first_use(ledger):
    setup_world(ledger)
    assert ledger.personalisation_records.programme_code("finance", "mofcom-compliant") == 1
    assert ledger.personalisation_records.programme_code("finance", "mofcom-compliant") == 1
    with pytest.raises(NotFound):
        ledger.personalisation_records.programme_code("finance", "no-such-programme")
    assert len(ledger.audit.audit_entries(action="programme.card_code")) == 1  # assigned once


def test_last_card_number_by_prefix(ledger):
    setup_world(ledger)
    assert ledger.cards.last_card_number("0001", 12) is None
    start(ledger)
    start(ledger, uid="04A1B2C3D4E502", number="000100000010")
    assert ledger.cards.last_card_number("0001", 12) == "000100000010"
    assert ledger.cards.last_card_number("0002", 12) is None


def test_stock_received_by_count_is_identified_one_card_at_a_time(ledger):
    setup_world(ledger)
    ledger.stock.receive_stock("finance", "B-COUNT", count=2)
    start(ledger, uid="04000001", batch="B-COUNT")
    ledger.stock.bind_stock_uid("finance", "B-COUNT", "04000002")
    assert ledger.stock.stock_state("04000002") == "in_stock"
    with pytest.raises(InvalidStateError, match="no unidentified cards left"):
        ledger.stock.bind_stock_uid("finance", "B-COUNT", "04000003")
    with pytest.raises(NotFound, match="never received into stock"):
        start(ledger, uid="04000003", number="000100000002")
    with pytest.raises(ValueError):
        ledger.stock.receive_stock("finance", "B-EMPTY")


def test_card_recovery_is_audited(ledger):
    setup_world(ledger)
    start(ledger)
    ledger.personalisation_records.record_card_recovery("finance", "000100000001", UID, ["rolled forward"], 2, 12345)
    (entry,) = ledger.audit.audit_entries(action="card.recover")
    assert entry.card_number == "000100000001" and '"balance":12345' in entry.details
    with pytest.raises(NotFound):
        ledger.personalisation_records.record_card_recovery("finance", "000100000099", UID, [], 1, 0)
