"""Ledger store operations on both backends: collected journal records stored once per terminal and
number, sign-ins, day-close batches, card observations, the exception list and blacklist approval."""
from dataclasses import dataclass

import pytest
from world import setup_world, sell_and_activate

from icpurse.host.ledger import InvalidStateError, RoleError


@dataclass(frozen=True)
class Rec:
    number: int
    raw: bytes
    kind: int = 3
    state: int = 2
    key_version: int = 1
    uid: str = "04A1B2C3D4E501"
    card_seq: int = 3
    amount: int = 150
    balance_after: int = 49850
    txn: int = 1
    reader_time: int = 825_000_000


def test_journal_records_are_stored_once_and_never_replaced(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "12345678", "Shop", "Acme")
    recs = [Rec(i, bytes([i]) * 54) for i in (1, 2, 3)]
    assert ledger.store.store_journal_records("12345678", recs).stored == 3
    assert ledger.store.last_journal_number("12345678") == 3
    res = ledger.store.store_journal_records("12345678", recs[1:] + [Rec(4, b"\x04" * 54)])
    assert (res.stored, res.duplicates, res.conflicts) == (1, 2, ())
    res = ledger.store.store_journal_records("12345678", [Rec(2, b"\xEE" * 54)])
    assert res.stored == 0 and res.conflicts == ((2, b"\x02" * 54, b"\xEE" * 54),)
    assert [r.raw[0] for r in ledger.store.journal_records("12345678")] == [1, 2, 3, 4]
    assert [r.number for r in ledger.store.journal_records(uid="04a1b2c3d4e501", from_number=3)] == [3, 4]


def test_sign_ins_and_day_close(ledger):
    setup_world(ledger)
    ledger.people.add_operator("clerk", "correct horse battery", "terminal-operator", by="admin")
    ledger.people.approve_operator("admin2", "clerk")
    ledger.store.add_terminal("admin", "12345678", "Shop", "Acme")
    with pytest.raises(RoleError):
        ledger.store.record_sign_in("seller", "12345678", reader_time=1, blacklist_version=0, day=1, batch=1, first_number=1)
    ledger.store.record_sign_in("clerk", "12345678", reader_time=1, blacklist_version=4, day=1, batch=1, first_number=9)
    (s,) = ledger.store.sign_ins("12345678")
    assert (s.blacklist_version, s.first_number) == (4, 9)
    b = ledger.store.record_day_close("clerk", "12345678", day=1, batch=1, first_number=9, last_number=12, reader_count=2,
                                reader_sum=300, journal_count=2, journal_sum=300)
    assert b.balanced
    again = ledger.store.record_day_close("clerk", "12345678", day=1, batch=1, first_number=9, last_number=12,
                                    reader_count=9, reader_sum=9, journal_count=9, journal_sum=9)
    assert again == b  # a batch is closed once
    assert ledger.audit.verify_audit_log() is None


def test_exceptions_and_blacklist_approval(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, "04A1B2C3D4E501", "503100000001")
    ev, created = ledger.store.add_exception("fp-1", "rollback", "card went back", card_number="503100000001",
                                       evidence={"seq": [5, 3]}, proposal="blacklist")
    assert created and ev.status == "open"
    assert ledger.store.add_exception("fp-1", "rollback", "again", card_number="503100000001")[1] is False
    with pytest.raises(RoleError):
        ledger.store.approve_blacklist("seller", ev.id)
    done = ledger.store.approve_blacklist("auditor", ev.id)
    assert (done.status, done.blacklist_version) == ("approved", 1)
    (item,) = ledger.blacklist.blacklist_entries()
    assert item.card_number == "503100000001" and item.uid == "04A1B2C3D4E501" and item.evidence == {"seq": [5, 3]}
    with pytest.raises(InvalidStateError):
        ledger.store.approve_blacklist("auditor", ev.id)
    other, _ = ledger.store.add_exception("fp-2", "journal_gap", "records missing", terminal="12345678")
    with pytest.raises(InvalidStateError):
        ledger.store.approve_blacklist("auditor", other.id)  # proposes nothing
    closed = ledger.store.close_exception("auditor", other.id, "resolved", "reader replaced, records recovered")
    assert closed.status == "resolved"
    assert [e.id for e in ledger.store.exceptions("open")] == []
    assert ledger.audit.verify_audit_log() is None


def test_card_observations_are_idempotent(ledger):
    setup_world(ledger)
    sell_and_activate(ledger, "04A1B2C3D4E501", "503100000001")
    ledger.store.record_card_observation("503100000001", "audit", "audit:x:4", seq=4, balance=100)
    ledger.store.record_card_observation("503100000001", "audit", "audit:x:4", seq=4, balance=100)
    (o,) = ledger.store.card_observations("503100000001")
    assert (o.seq, o.balance, o.source) == (4, 100, "audit")
    assert ledger.cards.card_by_uid("04a1b2c3d4e501").card_number == "503100000001"
    assert ledger.cards.uid_map() == {"04A1B2C3D4E501": "503100000001"}
