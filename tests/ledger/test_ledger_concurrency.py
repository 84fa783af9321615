"""Two workstations at once: the same top-up re-sent concurrently is booked once, concurrent
blacklist changes get distinct versions, and the audit chain stays a single chain."""
import threading

from icpurse.host.ledger import open_ledger

from support.ledger import AUDIT_KEY
from world import DATA_KEY, sell_and_activate, setup_world

CARD = "9000000001"


def _together(n, fn):
    barrier, errors = threading.Barrier(n), []

    def run(i):
        try:
            barrier.wait(timeout=30)
            fn(i)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_concurrent_workstations(ledger, ledger_url, clock):
    setup_world(ledger)
    sell_and_activate(ledger, "04A1B2C3D4E501", CARD, face_value=50000)
    stations = [open_ledger(ledger_url, audit_key=AUDIT_KEY, data_key=DATA_KEY, clock=clock) for _ in range(4)]
    try:
        errors = _together(4, lambda i: stations[i].topup_records.book_topup_pending(CARD, 10000, "K-same", operator="seller"))
        assert errors == []
        errors = _together(4, lambda i: stations[i].blacklist.blacklist_add("auditor", "80000000%02d" % i, "test %d" % i))
        assert errors == []
    finally:
        for st in stations:
            st.close()
    assert ledger.books.outstanding_balance(CARD) == 60000
    assert [t.txn_id for t in ledger.topup_records.unconfirmed_topups()] == ["K-same"]
    assert ledger.blacklist.blacklist_version() == 4
    assert sorted(e.added_version for e in ledger.blacklist.blacklist_entries()) == [1, 2, 3, 4]
    assert ledger.audit.verify_audit_log() is None
    assert ledger.books.unbalanced_entries() == []
