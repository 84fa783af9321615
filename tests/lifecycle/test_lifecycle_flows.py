"""Holder lifecycle on in-process sim cards: lost -> blacklist -> replacement, redemption limits,
anonymous refusals, refunds of goods, expired re-activation and exchange, closing."""
import pytest

import lifecycle_world as w
from icpurse.firmware import codec
from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.host import lifecycle as lc
from icpurse.host.cards import IntegrityProblem, IssuerCard, OperationRefused
from icpurse.host.ledger.errors import (
    BlacklistedError, CashLimitError, IdentityMismatchError, InvalidStateError, LifecycleRefused, RealNameRequiredError,
)
from icpurse.protocol import cardtime

NAMED, ANON = "500000000001", "500000000002"


def books_balance(ledger):
    assert ledger.books.unbalanced_entries() == []
    assert sum(ledger.books.trial_balance().values()) == 0
    assert ledger.audit.verify_audit_log() is None


def snapshot(ledger, *cards):
    return (ledger.books.trial_balance(), ledger.blacklist.blacklist_version(), [ledger.cards.card(c).state for c in cards])


# --- lost named card ---

def test_lost_named_card_is_blacklisted_and_replaced_with_its_ledger_balance(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], NAMED, "named", 200000, holder=w.HOLDER)
    w.store_debit(ledger, card, NAMED, 30000, "j1")
    rep = lc.report_lost(ledger, "finance", NAMED, w.HOLDER.id_number)
    assert rep.ledger_balance == 170000 and rep.blacklist_version == 1
    assert ledger.cards.card(NAMED).state == "lost"
    assert [e.card_number for e in ledger.blacklist.blacklist_entries()] == [NAMED]

    new = factory.blank_card(bytes.fromhex(w.UIDS[1]))
    r = lc.replace_lost_card(ledger, "finance", NAMED, CardTag(new), w.issuer_ring(), new_number="500000000011",
                             identity_fields=w.identity("500000000011", True), id_number=w.HOLDER.id_number,
                             when=clock())
    assert r.amount == 170000
    assert w.read(new)[0] == 170000  # 2,000.00 - 300.00 yuan, from the books
    assert ledger.books.outstanding_balance(NAMED) == 0
    assert ledger.books.outstanding_balance("500000000011") == 170000
    assert ledger.cards.card(NAMED).state == "closed"
    assert ledger.cards.card("500000000011").state == "activated"
    assert ledger.cards.card("500000000011").holder_name == "Zhang San"
    assert ledger.blacklist.is_blacklisted(NAMED) and not ledger.blacklist.is_blacklisted("500000000011")
    books_balance(ledger)


def test_replacement_interrupted_after_the_ledger_is_finished_by_running_it_again(ledger, clock):
    w.issue(ledger, w.UIDS[0], NAMED, "named", 100000, holder=w.HOLDER)
    lc.report_lost(ledger, "finance", NAMED, w.HOLDER.id_number)
    new = factory.blank_card(bytes.fromhex(w.UIDS[1]))
    args = dict(new_number="500000000011", identity_fields=w.identity("500000000011", True),
                id_number=w.HOLDER.id_number, when=clock())
    # the ledger moved the money, then the card left the field during the load
    ledger.lifecycle_records.replace_card("finance", NAMED, w.UIDS[1], "500000000011", id_number=w.HOLDER.id_number)
    lc.replace_lost_card(ledger, "finance", NAMED, CardTag(new), w.issuer_ring(), **args)
    lc.replace_lost_card(ledger, "finance", NAMED, CardTag(new), w.issuer_ring(), **args)  # again: nothing twice
    assert w.read(new)[0] == 100000
    assert ledger.books.outstanding_balance("500000000011") == 100000
    books_balance(ledger)


def test_lost_report_needs_the_holders_id_and_changes_nothing_when_refused(ledger):
    w.issue(ledger, w.UIDS[0], NAMED, "named", 100000, holder=w.HOLDER)
    before = snapshot(ledger, NAMED)
    with pytest.raises(IdentityMismatchError):
        lc.report_lost(ledger, "finance", NAMED, "110105194912310011")
    with pytest.raises(RealNameRequiredError):
        lc.report_lost(ledger, "finance", NAMED, "")
    assert snapshot(ledger, NAMED) == before
    refused = ledger.audit.audit_entries(card=NAMED, action="card.lost")
    assert [e.result for e in refused] == ["refused", "refused"]


def test_anonymous_card_cannot_be_reported_lost(ledger):
    w.issue(ledger, w.UIDS[0], ANON)
    before = snapshot(ledger, ANON)
    with pytest.raises(LifecycleRefused, match="anonymous cards cannot be reported lost"):
        lc.report_lost(ledger, "finance", ANON, w.HOLDER.id_number)
    assert snapshot(ledger, ANON) == before
    with pytest.raises(InvalidStateError):  # and so it cannot be replaced as lost either
        ledger.lifecycle_records.replace_card("finance", ANON, w.UIDS[1], "500000000011")


# --- redemption (退卡) ---

def test_redemption_in_cash_up_to_100_yuan_empties_and_closes_the_card(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 50000)
    w.store_debit(ledger, card, ANON, 40000, "j1")  # 100.00 yuan left: exactly the cash limit
    red = lc.redeem_card(ledger, "finance", ANON, tag=CardTag(card), keyring=w.issuer_ring(),
                         returner_name="Li Si", returner_id="110101199001011234", payout="cash", when=clock())
    assert (red.amount, red.payout) == (10000, "cash")
    assert w.read(card)[0] == 0
    assert ledger.cards.card(ANON).state == "closed" and ledger.blacklist.is_blacklisted(ANON)
    assert ledger.books.outstanding_balance(ANON) == 0
    tb = ledger.books.trial_balance()
    assert tb["cash"] == 50000 - 10000 and tb["redeemed"] == -40000
    books_balance(ledger)


def test_redemption_over_the_cash_limit_goes_to_a_same_name_bank_account(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], NAMED, "named", 50000, holder=w.HOLDER)
    ring = w.issuer_ring()
    before = snapshot(ledger, NAMED)
    common = dict(tag=CardTag(card), keyring=ring, returner_name="Zhang San", returner_id=w.HOLDER.id_number,
                  when=clock())
    with pytest.raises(CashLimitError, match="100 yuan"):
        lc.redeem_card(ledger, "finance", NAMED, payout="cash", **common)
    with pytest.raises(LifecycleRefused, match="same-name"):
        lc.redeem_card(ledger, "finance", NAMED, payout="bank_transfer", account_name="Wang Wu",
                       account_number="6222 0000 1111 2222", **common)
    with pytest.raises(IdentityMismatchError):
        lc.redeem_card(ledger, "finance", NAMED, payout="bank_transfer", account_name="Zhang San",
                       account_number="6222000011112222", **dict(common, returner_id="110105194912310011"))
    assert snapshot(ledger, NAMED) == before and w.read(card)[0] == 50000
    red = lc.redeem_card(ledger, "finance", NAMED, payout="bank_transfer", account_name="Zhang San",
                         account_number="6222 0000 1111 2222", **common)
    assert (red.amount, red.payout, red.account_last4) == (50000, "bank_transfer", "2222")
    assert w.read(card)[0] == 0
    assert ledger.books.trial_balance()["refunds_payable"] == -50000
    ledger.lifecycle_records.settle_refund_transfer("finance", NAMED, "BANK-REF-1")
    tb = ledger.books.trial_balance()
    assert tb["refunds_payable"] == 0 and tb["cash"] == 50000 and tb["bank"] == -50000
    books_balance(ledger)


def test_redemption_refused_while_card_and_ledger_disagree(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 10000)
    w.store_debit(ledger, card, ANON, 2000, "j1")
    # a second purchase whose journal has not reached the ledger yet
    from icpurse.firmware import purse
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, w.reader_ring())
    view = purse.recover(access, purse.read_card(access, keys, v))
    purse.commit(access, view, purse.plan_debit(view, 1000, purse.Policy(), cardtime.day(clock()), 12345678, 2), 0)
    with pytest.raises(InvalidStateError, match="reconcile"):
        lc.redeem_card(ledger, "finance", ANON, tag=CardTag(card), keyring=w.issuer_ring(), returner_name="Li Si",
                       returner_id="110101199001011234", payout="cash", when=clock())
    assert w.read(card)[0] == 7000 and ledger.cards.card(ANON).state == "activated"
    assert ledger.books.booking("redeem:%s" % ANON) is None


def test_pboc_named_card_redeemable_only_after_three_months_and_anonymous_never(ledger, clock):
    named = w.issue(ledger, w.UIDS[0], NAMED, "named", 50000, holder=w.HOLDER, programme="pboc-multi")
    anon = w.issue(ledger, w.UIDS[1], ANON, "anonymous", 50000, programme="pboc-multi")
    ring = w.issuer_ring()
    kw = dict(returner_name="Zhang San", returner_id=w.HOLDER.id_number, payout="bank_transfer",
              account_name="Zhang San", account_number="6222000011112222")
    with pytest.raises(LifecycleRefused, match="3 months after purchase, from 2026-06-02"):
        lc.redeem_card(ledger, "finance", NAMED, tag=CardTag(named), keyring=ring, when=clock(), **kw)
    with pytest.raises(LifecycleRefused, match="anonymous cards cannot be redeemed under the pboc profile"):
        lc.redeem_card(ledger, "finance", ANON, tag=CardTag(anon), keyring=ring, when=clock(),
                       returner_name="Li Si", returner_id="110101199001011234", payout="cash")
    assert w.read(named)[0] == 50000 and w.read(anon)[0] == 50000
    clock.advance(days=92)  # 2026-06-02 10:00 CST
    red = lc.redeem_card(ledger, "finance", NAMED, tag=CardTag(named), keyring=ring, when=clock(), **kw)
    assert red.amount == 50000 and w.read(named)[0] == 0
    books_balance(ledger)


def test_redeeming_a_lost_named_card_pays_its_ledger_balance(ledger, clock):
    w.issue(ledger, w.UIDS[0], NAMED, "named", 50000, holder=w.HOLDER)
    lc.report_lost(ledger, "finance", NAMED, w.HOLDER.id_number)
    red = lc.redeem_card(ledger, "finance", NAMED, returner_name="Zhang San", returner_id=w.HOLDER.id_number,
                         payout="bank_transfer", account_name="Zhang San", account_number="6222000011112222",
                         when=clock())
    assert red.amount == 50000 and ledger.cards.card(NAMED).state == "closed"
    books_balance(ledger)


# --- refunds of goods ---

def test_refund_of_goods_goes_back_to_the_card_as_a_refund_credit(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 50000)
    w.store_debit(ledger, card, ANON, 20000, "j1")
    term, number = w.collected_purchase(ledger, w.UIDS[0], 20000)
    ring = w.issuer_ring()
    lc.refund_goods(ledger, "finance", ANON, 15000, "receipt-1", tag=CardTag(card), keyring=ring, when=clock(),
                    terminal=term, journal_number=number)
    lc.refund_goods(ledger, "finance", ANON, 15000, "receipt-1", tag=CardTag(card), keyring=ring, when=clock(),
                    terminal=term, journal_number=number)
    with pytest.raises(InvalidStateError, match="exceed"):  # 15,000 + 5,001 > the 20,000 purchase
        lc.refund_goods(ledger, "finance", ANON, 5001, "receipt-9", tag=CardTag(card), keyring=ring, when=clock(),
                        terminal=term, journal_number=number)
    assert w.read(card)[0] == 45000
    from icpurse.firmware import purse
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, w.reader_ring())
    view = purse.read_card(access, keys, v)
    assert view.slot[codec.PURSE_SLOT_KIND] == codec.TXN_REFUND and view.slot[codec.PURSE_SLOT_AMOUNT] == 15000
    assert ledger.books.outstanding_balance(ANON) == 45000
    assert ledger.books.trial_balance()["redeemed"] == -5000
    books_balance(ledger)


def test_cash_refund_of_goods_only_up_to_100_yuan_without_the_card(ledger, clock):
    w.issue(ledger, w.UIDS[0], ANON, "anonymous", 50000)
    term, number = w.collected_purchase(ledger, w.UIDS[0], 20000)
    before = snapshot(ledger, ANON)
    with pytest.raises(CashLimitError):
        lc.refund_goods(ledger, "finance", ANON, 10001, "receipt-2", when=clock(), terminal=term,
                        journal_number=number)
    assert snapshot(ledger, ANON) == before
    lc.refund_goods(ledger, "finance", ANON, 10000, "receipt-3", when=clock(), terminal=term, journal_number=number)
    tb = ledger.books.trial_balance()
    assert tb["cash"] == 50000 - 10000 and tb["redeemed"] == 10000
    assert ledger.books.outstanding_balance(ANON) == 50000
    books_balance(ledger)


# --- expired cards ---

def test_expired_anonymous_card_is_reactivated_with_its_balance(ledger, clock):
    expiry = cardtime.day(clock()) - 40  # expired 40 days ago, beyond any grace
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 50000, expiry=expiry)
    ledger.cards.set_card_state("finance", ANON, "expired", "validity ended")
    out = lc.reactivate_card(ledger, "finance", CardTag(card), w.issuer_ring(), when=clock())
    balance, _, new_expiry = w.read(card)  # a store reader verifies the resealed identity MAC
    assert balance == 50000
    # 2026-03-02 + 3 years (programme validity) = 2029-03-02
    import datetime as dt
    assert new_expiry == (dt.date(2029, 3, 2) - dt.date(2000, 1, 1)).days == out["expiry"]
    assert ledger.cards.card(ANON).state == "in_use"
    assert ledger.audit.audit_entries(card=ANON, action="card.reactivate")[0].result == "ok"


def test_torn_identity_rewrite_is_finished_from_the_ledger(ledger, clock):
    from icpurse.protocol import layout
    expiry = cardtime.day(clock()) - 40
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 50000, expiry=expiry)
    ring = w.issuer_ring()
    c = IssuerCard(CardTag(card), ring)
    raw = c.sealed_identity(expiry + 2000)
    ledger.lifecycle_records.reactivate_card("finance", ANON, old_expiry=expiry, new_expiry=expiry + 2000, identity_hex=raw.hex())
    card.blocks[layout.IDENTITY_BLOCK + 1][:] = bytes(16)  # the expiry block torn
    with pytest.raises(IntegrityProblem, match="does not verify"):
        IssuerCard(CardTag(card), ring)
    out = lc.reactivate_card(ledger, "finance", CardTag(card), ring, when=clock(), card_number=ANON)
    assert out["resumed"] and w.read(card)[2] == expiry + 2000 and w.read(card)[0] == 50000


def test_card_not_expired_is_not_reactivated(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 50000, expiry=cardtime.day(clock()) + 10)
    with pytest.raises(OperationRefused, match="not expired"):
        lc.reactivate_card(ledger, "finance", CardTag(card), w.issuer_ring(), when=clock())


def test_expired_anonymous_card_exchanged_for_a_new_one(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 50000, expiry=cardtime.day(clock()) - 40)
    w.store_debit(ledger, card, ANON, 1000, "j1")
    new = factory.blank_card(bytes.fromhex(w.UIDS[1]))
    exp = cardtime.day(clock()) + 1100
    rep = lc.exchange_card(ledger, "finance", CardTag(card), CardTag(new), w.issuer_ring(),
                           new_number="500000000012", identity_fields=w.identity("500000000012", False, exp),
                           when=clock())
    assert rep.amount == 49000 and rep.reason == "exchange"
    assert w.read(new)[0] == 49000 and w.read(card)[0] == 0
    assert ledger.cards.card(ANON).state == "closed" and ledger.blacklist.is_blacklisted(ANON)
    books_balance(ledger)


# --- closing ---

def test_close_only_with_zero_balance(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 10000)
    ring = w.issuer_ring()
    before = snapshot(ledger, ANON)
    with pytest.raises(InvalidStateError, match="redeem it instead"):
        lc.close_card(ledger, "finance", ANON, tag=CardTag(card), keyring=ring)
    assert snapshot(ledger, ANON) == before
    w.store_debit(ledger, card, ANON, 10000, "j1")
    lc.close_card(ledger, "finance", ANON, tag=CardTag(card), keyring=ring)
    assert ledger.cards.card(ANON).state == "closed" and ledger.blacklist.is_blacklisted(ANON)
    with pytest.raises(InvalidStateError):
        lc.close_card(ledger, "finance", ANON)
    books_balance(ledger)


def test_blacklisted_card_is_not_paid_out(ledger, clock):
    card = w.issue(ledger, w.UIDS[0], ANON, "anonymous", 10000)
    ledger.blacklist.blacklist_add("auditor", ANON, "rollback detected")
    with pytest.raises(BlacklistedError):
        lc.redeem_card(ledger, "finance", ANON, tag=CardTag(card), keyring=w.issuer_ring(), returner_name="Li Si",
                       returner_id="110101199001011234", payout="cash", when=clock())
    assert w.read(card)[0] == 10000
