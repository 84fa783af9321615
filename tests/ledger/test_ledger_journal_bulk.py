"""Collected journals go into the ledger in bulk (host/ledger/bulk.py: multi-row INSERT on SQLite, COPY
on PostgreSQL) and come out exactly as the per-row ORM insert it replaced stored them: same columns,
same stored representation (the SQLite timestamp text included), one transaction and one audit entry
per batch, duplicates skipped, conflicts refused, a unique violation reported as SQLAlchemy's
IntegrityError (so the unit of work retries as for any statement). Both backends."""
from dataclasses import dataclass

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from world import setup_world

from icpurse.host.ledger import bulk
from icpurse.host.ledger.models import ReaderJournalRecord, Terminal

COLUMNS = ("number", "kind", "state", "key_version", "uid", "card_seq", "amount", "balance_after", "txn",
           "reader_time", "raw", "collected_at")


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


def recs(numbers, tag=0):
    return [Rec(n, bytes([(n + tag) & 0xFF]) * 53 + bytes([tag]), card_seq=n * 7, amount=n % 1000,
                balance_after=10 ** 9 - n, txn=n % (1 << 24), reader_time=825_000_000 + n,
                uid="" if n % 5 == 0 else "04A1B2C3") for n in numbers]


def stored_as_the_driver_returns_them(ledger, number):
    """The terminal's rows as the database driver hands them back (no SQLAlchemy type processing)."""
    with ledger.uow.read() as s:
        tid = s.execute(select(Terminal.id).where(Terminal.number == number)).scalar_one()
        rows = s.connection().exec_driver_sql(
            "SELECT %s FROM reader_journal WHERE terminal_id = %d ORDER BY number" % (", ".join(COLUMNS), tid)).all()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


def old_store(ledger, number, records):
    """What store_journal_records did before: one ORM bulk insert of dicts (the oracle)."""
    with ledger.uow.transaction() as s:
        tid = s.execute(select(Terminal.id).where(Terminal.number == number)).scalar_one()
        now = ledger.uow.now()
        s.execute(insert(ReaderJournalRecord), [dict(
            terminal_id=tid, number=r.number, kind=r.kind, state=r.state, key_version=r.key_version, uid=r.uid,
            card_seq=r.card_seq, amount=r.amount, balance_after=r.balance_after, txn=r.txn,
            reader_time=r.reader_time, raw=bytes(r.raw), collected_at=now) for r in records])


def test_bulk_rows_are_stored_exactly_as_the_orm_stored_them(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "10000001", "Shop", "Acme")
    ledger.store.add_terminal("admin", "10000002", "Shop", "Acme")
    batch = recs(range(1, 301))
    res = ledger.store.store_journal_records("10000001", batch)
    assert (res.stored, res.duplicates, res.conflicts) == (300, 0, ())
    old_store(ledger, "10000002", batch)
    new_rows = stored_as_the_driver_returns_them(ledger, "10000001")
    assert len(new_rows) == 300
    assert new_rows == stored_as_the_driver_returns_them(ledger, "10000002")
    views = ledger.store.journal_records("10000001")
    assert [(v.number, v.uid, v.amount, v.raw) for v in views] == [(r.number, r.uid, r.amount, r.raw) for r in batch]


def test_one_audit_entry_per_batch_and_the_chain_holds(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "10000001", "Shop", "Acme")
    before = len(ledger.audit.audit_entries(action="journal.store"))
    ledger.store.store_journal_records("10000001", recs(range(1, 501)))
    ledger.store.store_journal_records("10000001", recs(range(401, 601)))  # 100 again, 100 new
    ledger.store.store_journal_records("10000001", recs(range(1, 11)))  # nothing new: no entry
    entries = ledger.audit.audit_entries(action="journal.store")[before:]
    assert len(entries) == 2
    assert [e.terminal_number for e in entries] == ["10000001", "10000001"]
    assert ['"stored":500' in e.details and '"duplicates":0' in e.details for e in entries] == [True, False]
    assert '"stored":100' in entries[1].details and '"duplicates":100' in entries[1].details
    assert '"first":401' in entries[1].details and '"last":600' in entries[1].details
    assert ledger.audit.verify_audit_log() is None
    assert ledger.store.journal_record_count("10000001") == 600


def test_sparse_numbers_duplicates_and_conflicts(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "10000001", "Shop", "Acme")
    sparse = recs([1, 2, 10_000, 2_000_000])  # far apart: looked up by IN, not by range
    assert ledger.store.store_journal_records("10000001", sparse).stored == 4
    again = recs([2, 3, 10_000, 2_000_000]) + [Rec(1, b"\xEE" * 54)]
    res = ledger.store.store_journal_records("10000001", again)
    assert (res.stored, res.duplicates) == (1, 3)
    assert res.conflicts == ((1, sparse[0].raw, b"\xEE" * 54),)
    dense = recs(range(1, 60), tag=9)  # a dense run over stored numbers: looked up by range
    res = ledger.store.store_journal_records("10000001", dense)
    assert res.stored == 59 - 3 and [c[0] for c in res.conflicts] == [1, 2, 3]
    assert [r.number for r in ledger.store.journal_records("10000001")][:4] == [1, 2, 3, 4]
    # the same number twice in one batch: stored once, the second counted as a duplicate
    res = ledger.store.store_journal_records("10000001", recs([70, 70]))
    assert (res.stored, res.duplicates) == (1, 1)


def test_a_batch_larger_than_one_statement(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "10000001", "Shop", "Acme")
    res = ledger.store.store_journal_records("10000001", recs(range(1, 3001)))  # 39,000 values > SQLite's 32,766
    assert res.stored == 3000 and ledger.store.journal_record_count("10000001") == 3000
    assert ledger.store.last_journal_number("10000001") == 3000


def test_a_unique_violation_is_an_integrity_error_and_writes_nothing(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "10000001", "Shop", "Acme")
    ledger.store.store_journal_records("10000001", recs([5]))
    table = ReaderJournalRecord.__table__
    cols = ("terminal_id",) + COLUMNS
    with pytest.raises(IntegrityError):
        with ledger.uow.transaction() as s:
            tid = s.execute(select(Terminal.id).where(Terminal.number == "10000001")).scalar_one()
            now = bulk.bind_value(s, table.c.collected_at, ledger.uow.now())
            rows = [(tid,) + tuple(getattr(r, c) for c in COLUMNS[:-1]) + (now,) for r in recs([4, 5, 6])]
            bulk.insert_rows(s, table, cols, rows)
    assert [r.number for r in ledger.store.journal_records("10000001")] == [5]


def test_unknown_terminal_is_refused(ledger):
    setup_world(ledger)
    from icpurse.host.ledger.errors import NotFound

    with pytest.raises(NotFound, match="no terminal 10000009"):
        ledger.store.store_journal_records("10000009", recs([1]))


def test_unknown_terminal_is_refused_whatever_the_batch(ledger):
    setup_world(ledger)
    from icpurse.host.ledger.errors import NotFound

    for batch in (recs([1, 2_000_000]), []):  # sparse numbers (the IN lookup), nothing at all
        with pytest.raises(NotFound, match="no terminal 10000009"):
            ledger.store.store_journal_records("10000009", batch)


def test_another_terminals_records_under_the_same_numbers_are_neither_duplicates_nor_conflicts(ledger):
    setup_world(ledger)
    ledger.store.add_terminal("admin", "10000001", "Shop", "Acme")
    ledger.store.add_terminal("admin", "10000002", "Shop", "Acme")
    assert ledger.store.store_journal_records("10000001", recs(range(1, 11))).stored == 10
    res = ledger.store.store_journal_records("10000002", recs(range(1, 11), tag=7))
    assert (res.stored, res.duplicates, res.conflicts) == (10, 0, ())
    res = ledger.store.store_journal_records("10000002", recs(range(5, 13), tag=7))
    assert (res.stored, res.duplicates, res.conflicts) == (2, 6, ())
    assert ledger.store.journal_record_count("10000001") == 10 and ledger.store.journal_record_count("10000002") == 12
    assert ledger.store.store_journal_records("10000002", []).stored == 0
