"""The operator audit log is hash-chained: it verifies, and an edit, a deletion or an insertion made
directly in the database is found at the first broken link."""
import hashlib
import json

from sqlalchemy import text

from icpurse.host.ledger import audit
from world import setup_world


def _chain(ledger):
    setup_world(ledger)
    ledger.blacklist.blacklist_add("auditor", "9000000001", "rollback")
    return ledger.audit.audit_entries()


def test_chain_verifies_and_matches_the_documented_hash(ledger):
    entries = _chain(ledger)
    assert len(entries) >= 10
    assert ledger.audit.verify_audit_log() is None
    assert entries[0].prev_hash == "0" * 64
    for prev, e in zip(entries, entries[1:]):
        assert e.prev_hash == prev.entry_hash and e.seq == prev.seq + 1
    # recompute entry 1 independently of audit.py: SHA-256(prev || compact JSON array)
    e = entries[0]
    content = json.dumps([e.seq, e.at, e.operator, e.action, e.card_number, e.terminal_number, e.result, e.details],
                         separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    assert hashlib.sha256(bytes(32) + content).hexdigest() == e.entry_hash
    assert (e.operator, e.action, e.at) == ("admin", "operator.add", "2026-03-02T02:00:00.000000Z")
    assert ledger.audit.audit_head() == (entries[-1].seq, entries[-1].entry_hash)


def test_edited_row_is_detected(ledger):
    entries = _chain(ledger)
    target = entries[4]
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET operator = 'finance' WHERE seq = :s"), {"s": target.seq})
    broken = ledger.audit.verify_audit_log()
    assert broken is not None and broken.seq == target.seq and "edited" in broken.reason


def test_edit_with_recomputed_hash_breaks_the_next_link(ledger):
    entries = _chain(ledger)
    t = entries[3]
    forged_details = json.dumps({"forged": True})
    forged = audit.entry_hash(t.prev_hash, t.seq, t.at, t.operator, t.action, t.card_number, t.terminal_number,
                              t.result, forged_details)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = :d, entry_hash = :h WHERE seq = :s"),
                     {"d": forged_details, "h": forged, "s": t.seq})
    broken = ledger.audit.verify_audit_log()
    assert broken.seq == entries[4].seq and "prev_hash" in broken.reason


def test_deleted_row_is_detected(ledger):
    entries = _chain(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": entries[2].seq})
    broken = ledger.audit.verify_audit_log()
    assert broken.seq == entries[2].seq and "missing" in broken.reason


def test_every_state_change_is_audited_in_its_transaction(ledger):
    setup_world(ledger)
    actions = [e.action for e in ledger.audit.audit_entries()]
    assert actions == ["operator.add"] * 5 + ["programme.register", "stock.add_sales_point", "stock.receive",
                                              "stock.issue_to_point"]
    ops = [(e.operator, json.loads(e.details).get("username")) for e in ledger.audit.audit_entries(action="operator.add")]
    assert ops[0] == ("admin", "admin") and ops[1] == ("admin", "seller")
