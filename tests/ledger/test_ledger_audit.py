"""The operator audit log is a keyed hash chain that also seals the books: it verifies; an edit, a
deletion or an insertion made directly in the database is found at the first broken link — also
when the attacker re-hashes the chain (no audit key), deletes the newest entries (anchored head) or
moves money between postings with a balanced edit (the seal). On SQLite and PostgreSQL."""
import hashlib
import hmac
import json

import pytest
from sqlalchemy import text

from icpurse.host.ledger import audit
from icpurse.host.ledger.audit import AuditKeyError
from support.ledger import AUDIT_KEY
from world import sell_and_activate, setup_world

U1 = "04A1B2C3D4E501"  # in stock at P1 (world.setup_world)


def _chain(ledger):
    setup_world(ledger)
    ledger.blacklist.blacklist_add("auditor", "9000000001", "rollback")
    return ledger.audit.audit_entries()


def _sqlite_sha256_rehash(ledger):
    """The attack the unkeyed chain allowed: recompute every hash from the first entry on."""
    rows = ledger.audit.audit_entries()
    prev = audit.GENESIS
    with ledger.engine.begin() as conn:
        for e in rows:
            h = audit.legacy_entry_hash(prev, e.seq, e.at, e.operator, e.action, e.card_number, e.terminal_number,
                                        e.result, e.details)
            conn.execute(text("UPDATE audit_log SET prev_hash = :p, entry_hash = :h, scheme = 'sha256', "
                              "sealed_upto = NULL, seal = NULL WHERE seq = :s"),
                         {"p": "x%d" % e.seq, "h": "y%d" % e.seq, "s": e.seq})  # unique columns: two steps
            prev = h
        prev = audit.GENESIS
        for e in rows:
            h = audit.legacy_entry_hash(prev, e.seq, e.at, e.operator, e.action, e.card_number, e.terminal_number,
                                        e.result, e.details)
            conn.execute(text("UPDATE audit_log SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                         {"p": prev, "h": h, "s": e.seq})
            prev = h


def test_chain_verifies_and_matches_the_documented_keyed_hash(ledger):
    entries = _chain(ledger)
    assert len(entries) >= 10
    assert ledger.audit.verify_audit_log() is None
    assert entries[0].prev_hash == "0" * 64
    for prev, e in zip(entries, entries[1:]):
        assert e.prev_hash == prev.entry_hash and e.seq == prev.seq + 1
    # recompute entry 1 independently of audit.py: HMAC-SHA256(audit key, prev || compact JSON array)
    e = entries[0]
    content = json.dumps([e.seq, e.at, e.operator, e.action, e.card_number, e.terminal_number, e.result, e.details,
                          e.sealed_upto, e.seal], separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    assert hmac.new(AUDIT_KEY, bytes(32) + content, hashlib.sha256).hexdigest() == e.entry_hash
    assert hashlib.sha256(bytes(32) + content).hexdigest() != e.entry_hash  # keyed: SHA-256 alone is not it
    assert (e.operator, e.action, e.at, e.scheme) == ("admin", "operator.add", "2026-03-02T02:00:00.000000Z", "hmac")
    assert ledger.audit.audit_head() == (entries[-1].seq, entries[-1].entry_hash)


def test_edited_row_is_detected(ledger):
    entries = _chain(ledger)
    target = entries[4]
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET operator = 'finance' WHERE seq = :s"), {"s": target.seq})
    broken = ledger.audit.verify_audit_log()
    assert broken is not None and broken.seq == target.seq and "edited" in broken.reason


def test_an_edit_re_hashed_without_the_audit_key_is_detected(ledger):
    entries = _chain(ledger)
    t = entries[3]
    forged_details = json.dumps({"forged": True})
    wrong_key = bytes(32)  # the attacker's best guess: any key but the keystore's
    forged = audit.entry_hash(wrong_key, t.prev_hash, t.seq, t.at, t.operator, t.action, t.card_number,
                              t.terminal_number, t.result, forged_details, t.sealed_upto, t.seal)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = :d, entry_hash = :h WHERE seq = :s"),
                     {"d": forged_details, "h": forged, "s": t.seq})
    broken = ledger.audit.verify_audit_log()
    assert broken.seq == t.seq and "re-hashed" in broken.reason


def test_re_hashing_the_whole_log_the_unkeyed_way_is_detected(ledger):
    """The attack of the issue: edit an entry and recompute every entry_hash with SHA-256."""
    _chain(ledger)
    sell_and_activate(ledger, U1, "9000000001")
    _, head = ledger.audit.audit_head()
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET operator = 'seller' WHERE action = 'blacklist.add'"))
    _sqlite_sha256_rehash(ledger)
    broken = ledger.audit.verify_audit_log()
    # every entry now claims to predate the keyed log, yet bookings exist that nothing seals
    assert broken is not None and "sealed by no audit entry" in broken.reason
    assert "no longer extends" in ledger.audit.verify_audit_log(expect_head=head).reason


def test_deleted_row_is_detected(ledger):
    entries = _chain(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": entries[2].seq})
    broken = ledger.audit.verify_audit_log()
    assert broken.seq == entries[2].seq and "missing" in broken.reason


def test_deleting_the_newest_entries_is_detected_against_the_recorded_head(ledger):
    entries = _chain(ledger)
    seq, head = ledger.audit.audit_head()
    assert ledger.audit.verify_audit_log(expect_head=head) is None
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= :s"), {"s": entries[-2].seq})
    assert ledger.audit.verify_audit_log() is None  # a clean prefix: only the anchor shows what is gone
    broken = ledger.audit.verify_audit_log(expect_head=head)
    assert broken is not None and "no longer extends the expected head" in broken.reason
    # an older head the shortened log still extends passes
    assert ledger.audit.verify_audit_log(expect_head=entries[-3].entry_hash) is None


def test_a_balanced_edit_of_postings_is_detected(ledger):
    """500 yuan more on the card's prepaid account and in the till: every entry still balances;
    the seal of the audit entry that booked it does not."""
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001")
    assert ledger.audit.verify_audit_log() is None
    before = ledger.books.outstanding_balance("9000000001")
    with ledger.engine.begin() as conn:
        rows = conn.execute(text("SELECT p.id, p.amount FROM postings p ORDER BY p.entry_id, p.line")).all()
        (debit_id, amount), (credit_id, _) = rows[0], rows[1]
        conn.execute(text("UPDATE postings SET amount = amount + 50000 WHERE id = :i"), {"i": debit_id})
        conn.execute(text("UPDATE postings SET amount = amount - 50000 WHERE id = :i"), {"i": credit_id})
    assert ledger.books.unbalanced_entries() == []  # balanced: the old check sees nothing
    assert ledger.books.outstanding_balance("9000000001") == before + 50000
    broken = ledger.audit.verify_audit_log()
    assert broken is not None and "postings edited" in broken.reason


def test_a_booking_inserted_outside_the_ledger_is_detected(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001")
    with ledger.engine.begin() as conn:
        conn.execute(text("INSERT INTO journal_entries (idempotency_key, kind, created_at, memo) "
                          "VALUES ('forged', 'topup', CURRENT_TIMESTAMP, '')"))
    broken = ledger.audit.verify_audit_log()
    assert broken is not None and "sealed by no audit entry" in broken.reason


def test_a_deleted_posting_is_detected(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001")
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM postings WHERE id = (SELECT max(id) FROM postings)"))
    broken = ledger.audit.verify_audit_log()
    assert broken is not None and "postings edited" in broken.reason


def test_every_booking_is_sealed_by_the_audit_entry_of_its_transaction(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001")
    (confirm,) = ledger.audit.audit_entries(action="card.confirm_payment")
    entry = ledger.books.booking("sale:1")
    assert confirm.sealed_upto == entry.id and confirm.seal is not None
    assert ledger.audit.audit_entries(action=audit.SEAL_ACTION) == []  # nothing booked after its audit entry


def test_a_ledger_without_the_audit_key_records_nothing(ledger_url, clock):
    from icpurse.host.ledger import open_ledger

    led = open_ledger(ledger_url, clock=clock)
    try:
        with pytest.raises(AuditKeyError, match="audit key"):
            led.people.add_operator("admin", "correct horse battery", "issuer-admin")
        assert led.people.operators() == []
        with pytest.raises(AuditKeyError):
            led.audit.verify_audit_log()
    finally:
        led.close()


def test_every_state_change_is_audited_in_its_transaction(ledger):
    setup_world(ledger)
    actions = [e.action for e in ledger.audit.audit_entries()]
    assert actions == ["operator.add"] * 2 + ["operator.add", "operator.approve"] * 4 + [
        "programme.register", "stock.add_sales_point", "stock.receive", "stock.issue_to_point"]
    ops = [(e.operator, json.loads(e.details).get("username")) for e in ledger.audit.audit_entries(action="operator.add")]
    assert ops[0] == ("admin", "admin") and ops[1] == ("admin", "admin2") and ops[2] == ("admin", "seller")
    approvals = [(e.operator, json.loads(e.details)["username"]) for e in
                 ledger.audit.audit_entries(action="operator.approve")]
    assert approvals[0] == ("admin2", "seller")


def test_entries_filter_by_operator_card_terminal_action_and_day(ledger, clock):
    setup_world(ledger)
    sell_and_activate(ledger, U1, "9000000001")
    assert {e.operator for e in ledger.audit.audit_entries(operator="seller")} == {"seller"}
    assert {e.card_number for e in ledger.audit.audit_entries(card="9000000001")} == {"9000000001"}
    assert [e.action for e in ledger.audit.audit_entries(action="card.*")] == [
        "card.register", "card.sell", "card.confirm_payment", "card.activate"]
    today = ledger.business_date()
    assert len(ledger.audit.audit_entries(day=today)) == len(ledger.audit.audit_entries())
    assert ledger.audit.audit_entries(day=today.replace(year=2020)) == []
    assert len(ledger.audit.audit_entries(limit=2)) == 2
