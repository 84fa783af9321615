"""Reconciliation blames the right party after a replacement: the old card still physically carries
the balance that moved to its replacement — that is explained, not a forgery (the issue's 5,000 yuan
of false findings per run); a balance above it still is one."""
import lifecycle_world as w
from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.host import lifecycle as lc
from icpurse.host.reconcile import engine

LOST, NEW = "500000000001", "500000000011"


def _lost_and_replaced(ledger, clock):
    lost = w.issue(ledger, w.UIDS[0], LOST, "named", 200000, holder=w.HOLDER)
    w.store_debit(ledger, lost, LOST, 30000, "debit:12345678:1")
    balance, seq, _ = w.read(lost)
    # the old card as a reader last saw it (a collected journal record or an audit: an observation)
    ledger.store.record_card_observation(LOST, "audit", "audit:lost:%d" % seq, seq=seq, balance=balance)
    lc.report_lost(ledger, "finance", LOST, w.HOLDER.id_number)
    new = factory.blank_card(bytes.fromhex(w.UIDS[1]))
    rep = lc.replace_lost_card(ledger, "finance", LOST, CardTag(new), w.issuer_ring(), new_number=NEW,
                               identity_fields=w.identity(NEW, True), id_number=w.HOLDER.id_number, when=clock())
    assert rep.amount == 170000 and balance == 170000
    nb, nseq, _ = w.read(new)
    ledger.store.record_card_observation(NEW, "audit", "audit:new:%d" % nseq, seq=nseq, balance=nb)
    return lost, new


def test_a_replaced_card_raises_no_false_forgery(ledger, clock):
    _lost_and_replaced(ledger, clock)
    report = engine.run(ledger, operator="auditor")
    cards = {(f.kind, f.card_number) for f in report.findings}
    assert ("forgery", LOST) not in cards and ("forgery", NEW) not in cards
    assert not [f for f in report.findings if f.card_number in (LOST, NEW)], report.as_dict()
    assert report.totals["audit_log"] == "verifies"


def test_a_replaced_card_showing_more_than_moved_is_still_a_forgery(ledger, clock):
    _lost_and_replaced(ledger, clock)
    # someone tops the old card up with cracked keys: 500 yuan more than ever moved to the new card
    ledger.store.record_card_observation(LOST, "audit", "audit:lost:forged", seq=99, balance=220000)
    report = engine.run(ledger, operator="auditor")
    (forgery,) = [f for f in report.findings if f.kind == "forgery"]
    assert forgery.card_number == LOST and forgery.amount == 50000
