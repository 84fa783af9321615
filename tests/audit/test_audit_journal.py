"""`audit terminal`: a collected journal re-verified from the bytes the ledger keeps — an edited byte,
an edited column, a deleted record are each found."""
from sqlalchemy import text

from icpurse.firmware import codec
from icpurse.host.audit.terminal import audit_terminal
from icpurse.host.reconcile import engine
from support import store as sw

A = "34000001"


def _collected(world, taps=3):
    n, _ = world.issue()
    world.reader(A)
    world.sign_in(A)
    for i in range(taps):
        world.tap(A, n, 100 + i)
    world.collect(A)
    return n


def _sql(world, sql, **params):
    with world.ledger.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_an_untouched_journal_verifies(world):
    _collected(world)
    out = audit_terminal(world.ledger, A, world.keys(A))
    assert out.ok and (out.records, out.first, out.last) == (6, 1, 6)


def test_an_edited_byte_in_a_collected_record_is_detected(world):
    _collected(world)
    raw = bytearray(world.ledger.store.journal_records(A)[4].raw)
    raw[codec.JOURNAL_RECORD_SIZE // 2] ^= 0x40
    _sql(world, "UPDATE reader_journal SET raw = :raw WHERE number = 5", raw=bytes(raw))
    out = audit_terminal(world.ledger, A, world.keys(A))
    assert [(p.kind, p.number) for p in out.problems][:1] == [("mac", 5)]
    # found by reconciliation too, onto the exception list
    rep = engine.run(world.ledger, sw.DOMAIN)
    assert [(f.kind, f.evidence["number"]) for f in rep.findings if f.kind == "journal_tampered"] == [
        ("journal_tampered", 5)]


def test_an_edited_amount_column_is_detected(world):
    _collected(world)
    _sql(world, "UPDATE reader_journal SET amount = 1 WHERE number = 4")
    out = audit_terminal(world.ledger, A, world.keys(A))
    assert [(p.kind, p.number) for p in out.problems] == [("columns", 4)]
    assert "amount" in out.problems[0].detail


def test_a_deleted_record_is_a_gap(world):
    _collected(world)
    _sql(world, "DELETE FROM reader_journal WHERE number = 3")
    out = audit_terminal(world.ledger, A, world.keys(A))
    assert [(p.kind, p.number) for p in out.problems] == [("gap", 3)]
