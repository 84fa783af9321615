"""Load: 14 virtual store readers upload their journals into one ledger at the same time (a thread and
a ledger connection each), one reader by two workstations at once, two uploads cut mid-way and retried
— on SQLite (WAL) and on PostgreSQL. Nothing is lost, nothing is stored twice, nothing escapes."""
from icpurse.hil import load
from icpurse.host.terminals import journal_records as jv

READERS = 14
DEBITS = 120  # 240 records a reader


def test_concurrent_uploads_lose_and_duplicate_nothing(ledger_url, tmp_path):
    fleet = load.build_fleet(ledger_url, str(tmp_path / "readers"), READERS, DEBITS)
    jobs = load.standard_jobs(fleet)
    assert len(jobs) == READERS + 1 and jobs[1].drop_at and jobs[2].drop_at
    out = load.upload(fleet, jobs)

    assert out.errors == [] and out.problems == []
    assert out.retries == 2  # both cut uploads failed once and were retried
    total = READERS * DEBITS * 2
    assert fleet.record_count() == total
    # records stored by the attempts that were cut are not in their (lost) reports: count in the ledger
    assert 0 < out.stored <= total

    led = load.open_ledger(ledger_url)
    try:
        for number in sorted(fleet.readers):
            vr = fleet.readers[number]
            raws = fleet.written[number]
            assert len(raws) == 2 * DEBITS
            stored = [r.raw for r in led.store.journal_records(number)]
            assert stored == raws, number  # the reader's journal, byte for byte, in order
            good, problems = jv.verify_sequence(stored, int(number), fleet.keys(number))
            assert problems == [] and len(good) == 2 * DEBITS  # MACs and chain verify from record 1
            assert vr.reader.journal.acked == vr.reader.journal.next_number - 1 == 2 * DEBITS  # all acknowledged
        everything = led.store.journal_records()
        assert len({(r.terminal, r.number) for r in everything}) == len(everything)  # no number stored twice
        assert len(everything) == led.store.journal_record_count() == total
        assert len(led.store.terminals()) == READERS
        assert led.audit.verify_audit_log() is None  # concurrent writers kept the audit chain intact

        # re-uploads are no-ops: every reader again, all at once, and one batch stored directly twice
        again = load.upload(fleet, [load.Job(n) for n in sorted(fleet.readers)])
        assert (again.errors, again.problems, again.stored) == ([], [], 0)
        first = sorted(fleet.readers)[0]
        res = led.store.store_journal_records(first, jv.verify_sequence(fleet.written[first], int(first),
                                                                  fleet.keys(first))[0][:50])
        assert (res.stored, res.duplicates, res.conflicts) == (0, 50, ())
        assert led.store.journal_record_count() == total
    finally:
        led.close()
