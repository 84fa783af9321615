"""Stock (receive by UID or by count, issue to a sales point, count with differences) and
`recover` (a half-done personalisation; a card whose balance block lags its committed slot)."""
import pytest
from issuance_world import UTILITY, Feeder, blank_in_stock, new_uid

from icpurse.firmware import codec, purse
from icpurse.hil.sim import factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.service import IssueOrder
from icpurse.host.ledger import InvalidStateError


def test_stock_received_by_count_is_identified_at_personalisation_and_counted(ledger, station):
    uids = [new_uid() for _ in range(3)]
    cards = [factory.blank_card(u) for u in uids]
    station.receive_stock("B-COUNT", count=3)
    order = IssueOrder("utility-payment", "anonymous", 20000, batch="B-COUNT")
    # before personalisation: 3 cards expected in the warehouse, none known by UID
    count = station.count_stock(uids[:2])
    assert (count.expected, count.counted, count.unidentified) == (3, 2, 3)
    assert count.unidentified_present == [u.hex().upper() for u in uids[:2]] and count.missing_unidentified == 1
    assert not count.ok
    results = station.personalise_batch(Feeder(cards), order, count=3)
    assert [r.outcome for r in results] == ["personalised"] * 3
    assert [ledger.stock.stock_state(u) for u in uids] == ["in_stock"] * 3
    # a fourth card does not fit the batch
    fourth = factory.blank_card(new_uid())
    result = station.personalise_card(CardTag(fourth), order)
    assert result.outcome == "refused" and "no unidentified cards left" in result.message
    count = station.count_stock(uids)
    assert count.ok and (count.expected, count.counted, count.unidentified) == (3, 3, 0)


def test_stock_count_reports_every_kind_of_difference(ledger, station):
    here = [new_uid() for _ in range(3)]
    station.receive_stock("B-1", here)
    moved = new_uid()
    station.receive_stock("B-2", [moved])
    assert station.issue_stock([moved], "P1") == 1
    stranger = new_uid()
    result = station.count_stock([here[0], here[1], moved, stranger])
    hexes = lambda us: [u.hex().upper() for u in us]  # noqa: E731
    assert result.missing == hexes([here[2]])
    assert result.unexpected == [(moved.hex().upper(), "issued_to_point at P1")]
    assert result.unknown == hexes([stranger])
    assert not result.ok and (result.expected, result.counted) == (3, 4)
    (entry,) = ledger.audit.audit_entries(action="stock.count")
    assert entry.result == "differences"
    point = station.count_stock([moved], "P1")
    assert point.ok and point.location == "P1"


def test_stock_cannot_be_received_twice(ledger, station):
    uid = new_uid()
    station.receive_stock("B-1", [uid])
    with pytest.raises(InvalidStateError, match="already in stock"):
        station.receive_stock("B-2", [uid])


def test_recover_finishes_a_half_done_personalisation(ledger, station):
    card = blank_in_stock(ledger)
    faults = Faults()
    faults.remove_after(30)  # in the middle of the data writes (a v2 1K personalisation: ~53 commands)
    card.faults = faults
    first = station.personalise_card(CardTag(card), UTILITY)
    assert first.outcome == "interrupted" and first.card_number == "503110000001"
    (half,) = ledger.personalisation_records.personalisations("started")
    assert half.uid == card.uid.hex().upper() and half.card_number == first.card_number
    card.faults = None
    card.enter_field()
    result = station.recover_card(CardTag(card))
    # layout v2: counter = generation 1 << 24, nothing debited (docs/card-layout.md)
    assert result.card_number == first.card_number and result.balance == 0 and result.seq == 1 << 24
    assert result.actions[0].startswith("finished personalisation")
    assert ledger.personalisation_records.personalisations("started") == []
    assert ledger.personalisation_records.personalisation(half.uid).state == "done"


def credited(card, station, amount, pull_at):
    """A key-B credit of `amount` on the card, the card pulled before its command `pull_at`."""
    faults = Faults()
    faults.remove_after(pull_at)
    card.faults = faults
    try:
        access, keys, version = purse.open_card(CardTag(card), station.keyring, purse.KEY_B)
        view = purse.recover(access, purse.read_card(access, keys, version))
        purse.commit(access, view, purse.plan_credit(view, amount, purse.Policy(), 9557, codec.TXN_LOAD), 100)
        done = True
    except Exception:
        done = False
    card.faults = None
    card.enter_field()
    return done


def test_recover_finishes_a_torn_issuer_write_on_a_v2_card_and_audits_it(ledger, station):
    """Layout v2: an issuer write (header, credit record, balance block = commit point, backup)
    pulled before every command. Before the commit point the card is refused by store readers and
    `card recover` undoes the write (balance as before); after it, `card recover` brings the backup
    to the balance. Either way the card reads back consistent and the repair is audited."""
    seen = {"undone": 0, "completed": 0, "clean": 0}
    for pull_at in range(25):
        card = blank_in_stock(ledger)
        station.personalise_card(CardTag(card), UTILITY)
        done = credited(card, station, 12345, pull_at)
        shown = station.show_card(CardTag(card))
        refused_by_readers = shown["status"] == "unreadable"
        if refused_by_readers:
            assert shown["refusal"] == codec.R_TOPUP_INCOMPLETE, shown
        audits = len(ledger.audit.audit_entries(action="card.recover"))
        result = station.recover_card(CardTag(card))
        after = station.show_card(CardTag(card))
        assert after["status"] == "ok" and not after["needs_recovery"], after
        assert after["balance"] == result.balance
        if result.balance == 0:  # the write never reached its commit point
            kind = "undone" if refused_by_readers else "clean"
            # undone: a RECOVER write of 0 fen moves the card to generation 2 (the counter grows)
            assert not done and (result.seq, after["seq"]) == ((2 << 24,) * 2 if kind == "undone" else (1 << 24,) * 2)
        else:  # committed: generation 2, nothing debited since
            assert result.balance == 12345 and result.seq == 2 << 24 and not refused_by_readers
            kind = "completed" if not done else "clean"
        repaired = [a for a in result.actions if a.startswith("repaired the purse sector")]
        if kind == "clean":
            assert result.actions == ["nothing to recover: the card is consistent"], result.actions
            assert len(ledger.audit.audit_entries(action="card.recover")) == audits
            continue
        assert repaired, (pull_at, result.actions)
        entry = ledger.audit.audit_entries(action="card.recover")[-1]
        assert entry.card_number == result.card_number and entry.operator == "finance"
        assert '"balance":%d' % result.balance in entry.details
        assert ledger.cards.card(result.card_number).last_seen_balance == result.balance
        again = station.recover_card(CardTag(card))
        assert again.actions == ["nothing to recover: the card is consistent"]
        seen[kind] += 1
    assert seen["undone"] and seen["completed"], seen
