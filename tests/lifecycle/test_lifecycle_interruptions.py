"""A replacement card pulled from the reader at every point of the flow: running the flow again
always ends with the new card holding exactly the lost card's ledger balance, booked once."""
import copy
import shutil

import pytest

import lifecycle_world as w
from icpurse.host.cards import CardProblem
from icpurse.hil.sim import factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host import lifecycle as lc
from icpurse.host.ledger.errors import InvalidStateError
from icpurse.protocol import cardtime

LOST, NEW = "500000000001", "500000000011"


def stock_card(ledger, uid, number, kind="named", programme="mofcom-compliant", face_value=50000):
    """A personalised, registered, unsold stock card (what `icpurse card personalise` leaves)."""
    ledger.cards.register_card("finance", uid, number, programme, kind, face_value)
    ring = w.issuer_ring()
    card = factory.issued_card(bytes.fromhex(uid), ring.for_card(bytes.fromhex(uid), 1),
                               w.identity(number, kind == "named"), cardtime.seconds(w.START))
    card.faults = Faults()
    return card


def test_replacement_with_a_personalised_stock_card(ledger, clock):
    w.issue(ledger, w.UIDS[0], LOST, "named", 100000, holder=w.HOLDER)
    new = stock_card(ledger, w.UIDS[1], NEW)
    lc.report_lost(ledger, "finance", LOST, w.HOLDER.id_number)
    rep = lc.replace_lost_card(ledger, "finance", LOST, CardTag(new), w.issuer_ring(), id_number=w.HOLDER.id_number,
                               when=clock())
    assert (rep.new_card, rep.amount) == (NEW, 100000)
    assert w.read(new)[0] == 100000 and ledger.cards.card(NEW).holder_name == "Zhang San"


def test_card_recover_loads_no_face_value_onto_a_replacement_card(ledger, clock):
    """A replacement card is registered with the lost card's face value and activated, but no payment
    was made for it: it carries the moved balance as a LOAD, and `card recover` adds nothing."""
    from icpurse.host.issuance.service import Workstation

    w.issue(ledger, w.UIDS[0], LOST, "named", 100000, holder=w.HOLDER)
    new = stock_card(ledger, w.UIDS[1], NEW)
    lc.report_lost(ledger, "finance", LOST, w.HOLDER.id_number)
    lc.replace_lost_card(ledger, "finance", LOST, CardTag(new), w.issuer_ring(), id_number=w.HOLDER.id_number,
                         when=clock())
    station = Workstation(ledger, [w.issuer_ring().keyset(1)], 1, "finance")
    result = station.recover_card(CardTag(new))
    assert result.balance == 100000 and w.read(new)[0] == 100000
    assert not any("face value" in a for a in result.actions)


def test_replacement_must_be_of_the_same_programme_and_kind(ledger, clock):
    w.issue(ledger, w.UIDS[0], LOST, "named", 100000, holder=w.HOLDER)
    other = stock_card(ledger, w.UIDS[1], NEW, kind="anonymous")
    lc.report_lost(ledger, "finance", LOST, w.HOLDER.id_number)
    before = ledger.books.trial_balance()
    with pytest.raises(InvalidStateError, match="must be a mofcom-compliant named card"):
        lc.replace_lost_card(ledger, "finance", LOST, CardTag(other), w.issuer_ring(), id_number=w.HOLDER.id_number,
                             when=clock())
    assert ledger.books.trial_balance() == before and ledger.cards.card(LOST).state == "lost"
    assert w.read(other)[0] == 0


def sweep(tmp_path, clock, template, run, check):
    """Run `run(ledger, tag)` with the card pulled after 0, 1, 2, ... card commands, then again
    with the card back; `check(ledger, card)` must hold every time. Returns the number of pulls."""
    base = tmp_path / "base.db"
    shutil.copy(tmp_path / "ledger.db", base)
    n, pulled = 0, 0
    while True:
        db = tmp_path / ("n%d.db" % n)
        shutil.copy(base, db)
        led = w.open_ledger("sqlite:///%s" % db, data_key=w.DATA_KEY, audit_key=w.AUDIT_KEY, clock=clock)
        try:
            card = copy.deepcopy(template)
            card.faults.remove_after(n)
            try:
                run(led, CardTag(card))
                fired = "remove" in card.faults.fired
            except CardProblem:  # the card left: the flow says present it again
                fired = True
            card.faults.clear()  # disarm a removal that did not come before the flow ended
            if fired:
                pulled += 1
                card.enter_field()
                run(led, CardTag(card))
            check(led, card, n)
        finally:
            led.close()
        if not fired:
            return pulled
        n += 1


def test_card_pulled_at_every_point_of_the_replacement(ledger, clock, tmp_path):
    lost = w.issue(ledger, w.UIDS[0], LOST, "named", 200000, holder=w.HOLDER)
    w.store_debit(ledger, lost, LOST, 76600, "j1")  # 1,234.00 yuan left
    template = stock_card(ledger, w.UIDS[1], NEW)
    lc.report_lost(ledger, "finance", LOST, w.HOLDER.id_number)
    ledger.close()

    def run(led, tag):
        lc.replace_lost_card(led, "finance", LOST, tag, w.issuer_ring(), id_number=w.HOLDER.id_number, when=clock())

    def check(led, card, n):
        assert w.read(card)[0] == 123400, "pulled after %d commands" % n
        assert led.books.outstanding_balance(NEW) == 123400 and led.books.outstanding_balance(LOST) == 0
        assert led.books.unbalanced_entries() == []
        assert len([e for e in led.audit.audit_entries(card=LOST, action="card.replace") if e.result == "ok"]) == 1

    assert sweep(tmp_path, clock, template, run, check) > 20  # the sweep went through the whole card dialogue


def test_card_pulled_at_every_point_of_a_redemption(ledger, clock, tmp_path):
    template = w.issue(ledger, w.UIDS[0], LOST, "anonymous", 10000)
    template.faults = Faults()
    w.store_debit(ledger, template, LOST, 1234, "j1")
    ledger.close()

    def run(led, tag):
        lc.redeem_card(led, "finance", LOST, tag=tag, keyring=w.issuer_ring(), returner_name="Li Si",
                       returner_id="110101199001011234", payout="cash", when=clock())

    def check(led, card, n):
        assert w.read(card)[0] == 0, "pulled after %d commands" % n
        assert led.cards.card(LOST).state == "closed" and led.books.outstanding_balance(LOST) == 0
        assert led.books.trial_balance()["cash"] == 10000 - 8766  # paid out once
        assert len(led.audit.audit_entries(card=LOST, action="card.redeem")) >= 1

    assert sweep(tmp_path, clock, template, run, check) > 20
