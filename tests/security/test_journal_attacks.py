"""Issue 12's attacks on a store reader's journal: records moved, removed or renumbered in the reader's
flash, and MAC-valid debits made with the reader's own journal key for a card that was never
presented. Collection runs over the pty link (the host's LinkClient, the real firmware behind it);
each attack ends as a terminal finding, nothing is lost for good without an operator's decision, and
the victim card of a forged journal is not proposed for the blacklist."""
import os

import pytest

from icpurse.firmware import codec
from icpurse.hil.sim.vreader import start_reader_pty
from icpurse.host.readers.serial import LinkClient
from icpurse.host.reconcile import engine
from icpurse.host.terminals import keys as tkeys
from icpurse.host.terminals import service
from icpurse.protocol import cardtime
from support import store as sw

A, B, C = "34000001", "34000002", "34000003"
SIZE = codec.JOURNAL_RECORD_SIZE


@pytest.fixture
def pty_shop(world):
    """Terminal A: the virtual ESP32 on a pty, through the lab ceremony, provisioned, signed in."""
    vr, pty, stop = start_reader_pty(world.tmp / "esp32-a")
    vr.install_transport_key(tkeys.transport_key(sw.DOMAIN, int(A)))
    client = LinkClient(pty.path, timeout=5)
    service.provision(world.ledger, client, sw.DOMAIN, "admin", A, outlet="Shop A", merchant="Acme")
    world.readers[A] = (vr, client)
    world.sign_in(A)
    yield world, vr
    client.close()
    stop.set()


def segment(vr):
    return os.path.join(vr.root, "journal", "0000000001.jr")


def records_on_flash(vr):
    data = open(segment(vr), "rb").read()
    return [data[i:i + SIZE] for i in range(0, len(data), SIZE)]


def write_records(vr, records):
    with open(segment(vr), "wb") as f:
        f.write(b"".join(records))


def stored(world, number):
    return [r.raw for r in world.ledger.store.journal_records(number)]


def kinds(report):
    return sorted({p.kind for p in report.problems})


def test_swapped_records_are_all_kept_reported_and_acknowledged_only_when_whole(pty_shop):
    world, vr = pty_shop
    n, _ = world.issue(10000)
    world.tap(A, n, 100)
    world.tap(A, n, 200)
    original = records_on_flash(vr)
    write_records(vr, original[:2] + [original[3], original[2]])  # the last two swapped, reader running
    rep = world.collect(A)
    assert kinds(rep) == ["order"]
    (f,) = world.ledger.store.exceptions(kind="journal_reordered")
    assert f.terminal == A and f.card_number is None and f.proposal is None  # a terminal finding
    # record 3 is not lost: every record is in the ledger, in number order, and only then acknowledged
    assert stored(world, A) == original
    assert world.readers[A][1].info()["journal_acked"] == 4


def test_a_removed_record_stops_acknowledgement_until_an_operator_gives_it_up(pty_shop):
    world, vr = pty_shop
    n, _ = world.issue(10000)
    for amount in (100, 200, 300):
        world.tap(A, n, amount)
    original = records_on_flash(vr)
    write_records(vr, original[:2] + original[3:])  # record 3 removed
    rep = world.collect(A)
    assert kinds(rep) == ["gap"]
    client = world.readers[A][1]
    assert client.info()["journal_acked"] == 2  # never past the gap: the reader keeps 4..6
    assert [r.number for r in world.ledger.store.journal_records(A)] == [1, 2, 4, 5, 6]
    again = world.collect(A)
    assert client.info()["journal_acked"] == 2 and again.stored == 0
    (gap,) = world.ledger.store.exceptions(kind="journal_gap")
    assert (gap.terminal, gap.evidence["number"], gap.evidence["missing_to"]) == (A, 3, 3)
    world.ledger.store.close_exception("auditor", gap.id, "resolved", "record 3 lost: reader flash tampered")
    world.collect(A)
    assert client.info()["journal_acked"] == 6  # given up on record, in the audit log


def test_truncated_and_renumbered_records_are_findings_at_collection(pty_shop):
    world, vr = pty_shop
    n, _ = world.issue(10000)
    world.tap(A, n, 100)
    world.tap(A, n, 200)
    assert world.collect(A).problems == []  # records 1..4 in the ledger
    world.tap(A, n, 300)
    world.tap(A, n, 400)  # records 5..8, never collected
    world.clock.advance(days=1)
    world.sign_in(A)  # a contact: the reader says its journal ends at 8, with that record's MAC
    kept = records_on_flash(vr)[:6]
    write_records(vr, kept)  # 7 and 8 cut off ...
    vr.boot()  # ... and the reader restarted: its journal ends at 6 now, or 7 when the state ring
    # (firmware/ring.py) puts back the write-ahead record of the last debit
    rep = world.collect(A)
    assert kinds(rep) == ["truncated"]
    (t,) = world.ledger.store.exceptions(kind="journal_truncated")
    assert (t.terminal, t.evidence["reported_last"]) == (A, 8) and t.evidence["reader_last"] in (6, 7)
    world.sign_in(A)
    world.tap(A, n, 50)
    world.tap(A, n, 60)  # the numbers 7..10 again, for other sales
    rep = world.collect(A)
    assert "number" in kinds(rep)
    (reuse,) = world.ledger.store.exceptions(kind="journal_number_reuse")
    assert reuse.terminal == A and reuse.evidence["number"] == 8


def _forge(world, terminal, card_number, card, amounts):
    """What a merchant holding terminal's journal key does: MAC-valid debits of a card that is not there."""
    vr, _ = world.readers[terminal]
    view = world.read(card)
    seq, balance = view.seq, view.balance
    t = cardtime.seconds(world.clock())
    for amount in amounts:
        seq, balance, t = seq + 1, balance - amount, t + 60
        p = vr.reader.journal.begin(codec.TXN_DEBIT, card.uid, seq, amount, balance, t)
        vr.reader.journal.commit(p, t + 1)


@pytest.fixture
def shops(world):
    for t in (A, B, C):
        world.reader(t)
        world.sign_in(t)
    return world


def sync(world):
    for t in world.readers:
        world.collect(t)
    return engine.run(world.ledger, sw.DOMAIN)


def test_debits_forged_with_the_journal_key_are_the_terminals_finding_not_the_cards(shops):
    world = shops
    n, card = world.issue(10000)
    world.tap(A, n, 1000)  # the holder really paid at A once
    assert sync(world).findings == []
    _forge(world, A, n, card, (2000, 3000))  # then A books 50 yuan more on the card, which is not there
    rep = sync(world)
    assert rep.findings == []  # collected and booked: nothing contradicts them yet
    assert world.ledger.books.outstanding_balance(n) == 10000 - 6000
    world.tap(B, n, 500)  # the real card comes back, at another shop
    rep = sync(world)
    (f,) = rep.findings
    assert (f.kind, f.terminal, f.amount, f.proposal, f.card_number) == ("terminal_unexplained", A, 5000, None, None)
    assert f.evidence["card_number"] == n and [r["seq"] for r in f.evidence["records"]] == [4, 5]
    assert f.evidence["card_seen_after"]["terminal"] == int(B)
    assert not [e for e in world.ledger.store.exceptions() if e.proposal == "blacklist"]
    world.sign_in(B)
    assert world.tap(B, n, 100)["balance"] == 10000 - 1000 - 500 - 100  # the victim card is never refused


def test_a_card_rolled_back_after_one_shop_is_asked_of_that_shop_first_then_is_the_cards(shops):
    world = shops
    n, card = world.issue(10000)
    dump = sw.snapshot(card)
    world.tap(A, n, 3000)
    sw.restore(card, dump)  # the holder writes the old dump back
    world.tap(B, n, 2500)
    rep = sync(world)
    # the bytes are those of a forged journal at A: A is asked (docs/back-office.md "Who is to blame")
    assert [(f.kind, f.terminal) for f in rep.findings] == [("terminal_unexplained", A)]
    dump = sw.snapshot(card)
    world.tap(B, n, 2000)
    sw.restore(card, dump)  # and again
    world.tap(C, n, 1000)
    rep = sync(world)
    # a second shop's records the card does not contain: the card is the common factor
    by_kind = {f.kind: f for f in rep.findings}
    assert by_kind["rollback"].card_number == n and by_kind["rollback"].proposal == "blacklist"
