"""Ledger side of the lifecycle: idempotency, refusals that change nothing, bookings."""
import pytest

import lifecycle_world as w
from icpurse.host.ledger.errors import (
    CapExceededError, InvalidStateError, LifecycleRefused, RoleError,
)

NAMED, ANON = "500000000001", "500000000002"


def sold(ledger, uid, number, kind, face_value, holder=None):
    ledger.cards.register_card("finance", uid, number, "mofcom-compliant", kind, face_value)
    ledger.sales.record_sale("seller", number, holder=holder)
    ledger.sales.confirm_payment("finance", number)
    ledger.sales.activate(number, "finance")


def test_replacement_is_booked_once(ledger):
    sold(ledger, w.UIDS[0], NAMED, "named", 100000, w.HOLDER)
    ledger.lifecycle_records.report_lost("finance", NAMED, id_number=w.HOLDER.id_number)
    a = ledger.lifecycle_records.replace_card("finance", NAMED, w.UIDS[1], "500000000011", id_number=w.HOLDER.id_number)
    b = ledger.lifecycle_records.replace_card("finance", NAMED, w.UIDS[1], "500000000011", id_number=w.HOLDER.id_number)
    assert a == b and a.amount == 100000 and a.fee == 1000  # the programme's replacement fee, booked once
    tb = ledger.books.trial_balance()
    assert tb["fee_income"] == -1000 and tb["cash"] == 100000 + 1000
    with pytest.raises(InvalidStateError, match="already replaced by 500000000011"):
        ledger.lifecycle_records.replace_card("finance", NAMED, w.UIDS[2], "500000000012", id_number=w.HOLDER.id_number)
    assert ledger.books.outstanding_balance("500000000011") == 100000
    assert [e.kind for e in [ledger.books.booking("replace:%s" % NAMED)]] == ["replacement"]


def test_lost_twice_and_roles(ledger):
    sold(ledger, w.UIDS[0], NAMED, "named", 100000, w.HOLDER)
    with pytest.raises(RoleError):
        ledger.lifecycle_records.report_lost("seller", NAMED, id_number=w.HOLDER.id_number)
    ledger.lifecycle_records.report_lost("finance", NAMED, id_number=w.HOLDER.id_number)
    v = ledger.blacklist.blacklist_version()
    with pytest.raises(InvalidStateError, match="already reported lost"):
        ledger.lifecycle_records.report_lost("finance", NAMED, id_number=w.HOLDER.id_number)
    assert ledger.blacklist.blacklist_version() == v


def test_goods_refund_to_card_respects_the_cap(ledger):
    sold(ledger, w.UIDS[0], ANON, "anonymous", 100000)  # anonymous cap: 1,000 yuan
    term, number = w.collected_purchase(ledger, w.UIDS[0], 5000)
    before = ledger.books.trial_balance()
    with pytest.raises(CapExceededError):
        ledger.lifecycle_records.refund_goods("finance", ANON, 1, "r1", terminal=term, journal_number=number)
    assert ledger.books.trial_balance() == before
    ledger.books.book_redemption(ANON, 5000, "j1")
    r = ledger.lifecycle_records.refund_goods("finance", ANON, 5000, "r2", terminal=term, journal_number=number)
    assert r.to_card and ledger.books.outstanding_balance(ANON) == 100000
    sold(ledger, w.UIDS[1], "500000000003", "anonymous", 10000)
    with pytest.raises(InvalidStateError, match="not a purchase made with card 500000000003"):
        ledger.lifecycle_records.refund_goods("finance", "500000000003", 5000, "r3", terminal=term,
                                              journal_number=number)  # another card's purchase
    with pytest.raises(InvalidStateError, match="no purchase 9"):
        ledger.lifecycle_records.refund_goods("finance", ANON, 100, "r4", terminal=term, journal_number=9)
    with pytest.raises(Exception, match="names the store purchase"):
        ledger.lifecycle_records.refund_goods("finance", ANON, 100, "r5")


def test_transfer_settlement_only_for_a_bank_transfer_redemption(ledger):
    sold(ledger, w.UIDS[0], ANON, "anonymous", 10000)
    ledger.lifecycle_records.redeem_card("finance", ANON, returner_name="Li Si", returner_id="110101199001011234", payout="cash",
                       card_balance=10000)
    with pytest.raises(InvalidStateError, match="no redemption awaiting a bank transfer"):
        ledger.lifecycle_records.settle_refund_transfer("finance", ANON, "REF")
    assert ledger.cards.card(ANON).state == "refunded"
    ledger.lifecycle_records.finish_redemption("finance", ANON, card_emptied=True)
    assert ledger.cards.card(ANON).state == "closed" and ledger.blacklist.is_blacklisted(ANON)
    entry = ledger.books.booking("redeem:%s" % ANON)
    assert entry.kind == "redemption_cash" and sorted(p.amount for p in entry.postings) == [-10000, 10000]


def test_bank_account_number_is_stored_encrypted(ledger):
    sold(ledger, w.UIDS[0], NAMED, "named", 50000, w.HOLDER)
    ledger.lifecycle_records.redeem_card("finance", NAMED, returner_name="Zhang San", returner_id=w.HOLDER.id_number,
                       payout="bank_transfer", card_balance=50000, account_name="Zhang San",
                       account_number="6222000011112222")
    entry = ledger.books.booking("redeem:%s" % NAMED)
    assert "6222000011112222" not in entry.memo and '"account_last4": "2222"' in entry.memo
    assert all("6222000011112222" not in e.details for e in ledger.audit.audit_entries())


def test_reactivation_refused_when_the_profile_only_exchanges(ledger, monkeypatch):
    sold(ledger, w.UIDS[0], ANON, "anonymous", 10000)
    import icpurse.host.ledger.lifecycle_records as lifecycle
    real = lifecycle.load_profile

    def exchange_only(name):
        import dataclasses
        return dataclasses.replace(real(name), expired_balance_allowed=("exchange",))

    monkeypatch.setattr(lifecycle, "load_profile", exchange_only)
    with pytest.raises(LifecycleRefused, match="exchange it"):
        ledger.lifecycle_records.reactivate_card("finance", ANON, old_expiry=100, new_expiry=200, identity_hex="00")
    assert ledger.audit.audit_entries(card=ANON, action="card.reactivate")[0].result == "refused"
