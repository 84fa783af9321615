"""Refusals with clear errors and nothing changed: a card of another issuer, wrong card types, a
programme that breaks its profile without an override, a card not in stock, the seller activating
their own sale, and the real-name / non-cash rules of the profile."""
import pytest
from issuance_world import HOLDER, MOFCOM_NAMED, UTILITY, blank_in_stock, example, new_uid

from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.service import CardRequirements, IssueOrder, Workstation
from icpurse.host.ledger import (
    NonCashRequiredError, ProgrammeViolationError, RealNameRequiredError, SeparationOfDutiesError, open_ledger,
)
from support.ledger import AUDIT_KEY
from icpurse.keys import exports
from icpurse.keys.hierarchy import KeyDomain


def snapshot(card):
    return [bytes(b) for b in card.blocks]


def audit_actions(ledger):
    return [(e.action, e.result) for e in ledger.audit.audit_entries()]


def assert_refused_unchanged(ledger, station, card, order, *needles, tag=None):
    before_card, before_audit = snapshot(card), audit_actions(ledger)
    result = station.personalise_card(tag or CardTag(card), order)
    assert result.outcome == "refused" and result.card_number is None, result
    for needle in needles:
        assert needle in result.message, result.message
    assert snapshot(card) == before_card  # nothing written to the card
    assert audit_actions(ledger)[:len(before_audit)] == before_audit
    assert all(a != "card.register" for a, _ in audit_actions(ledger)[len(before_audit):])
    assert ledger.personalisation_records.personalisation(card.uid.hex().upper()) is None
    assert ledger.cards.card_by_uid(card.uid.hex().upper()) is None
    return result


def test_a_card_of_another_issuer_is_refused_and_left_alone(ledger, station):
    other = exports.workstation_keyset(KeyDomain.generate(0x77)).to_keyring()
    uid = new_uid()
    card = factory.issued_card(uid, other.for_card(uid, 1), factory.identity_fields(1, issuer=0x77))
    ledger.stock.receive_stock("finance", "B-other", [uid])
    assert_refused_unchanged(ledger, station, card, UTILITY, "not a blank of this issuer", "Nothing was written")
    assert ledger.stock.stock_state(uid) == "in_stock"


@pytest.mark.parametrize("size, uid_len, order, needle", [
    ("4k", 4, UTILITY, "issues on 1K cards"),
    ("1k", 4, IssueOrder("utility-payment", "anonymous", 20000, card=CardRequirements("4k")), "issues on 4K cards"),
    ("1k", 7, UTILITY, "7-byte UID"),
])
def test_a_classic_card_of_the_wrong_type_is_refused(ledger, station, size, uid_len, order, needle):
    uid = (b"\x04" + new_uid() + b"\x80\x01") if uid_len == 7 else new_uid()
    card = blank_in_stock(ledger, size=size, uid=uid)
    assert_refused_unchanged(ledger, station, card, order, needle, "present a" if uid_len == 4 else "")


def test_a_7_byte_uid_card_is_accepted_when_the_order_allows_it(ledger, station):
    card = blank_in_stock(ledger, uid=b"\x04\x52\x61\x7a\x10\x20\x30")
    order = IssueOrder("utility-payment", "anonymous", 20000, card=CardRequirements("1k", allow_7byte_uid=True))
    assert station.personalise_card(CardTag(card), order).outcome == "personalised"


class OtherCard:
    """A tag of a card that is not MIFARE Classic (as a PN532 reader reports it: UID, ATQA, SAK)."""

    def __init__(self, uid, sak):
        self.uid, self.sak, self.atqa = uid, sak, 0x0044
        self.commands = 0

    def _command(self, *args):  # any card command is counted: there must be none
        self.commands += 1
        raise AssertionError("card command sent to a non-Classic card")

    authenticate = read_block = write_block = increment = decrement = restore = transfer = _command


@pytest.mark.parametrize("sak, needle", [(0x00, "Ultralight"), (0x20, "DESFire"), (0x28, "JCOP")])
def test_a_card_that_is_not_mifare_classic_is_refused_before_any_card_command(ledger, station, sak, needle):
    uid = b"\x04" + new_uid() + b"\x11\x22"
    ledger.stock.receive_stock("finance", "B-nc-%02x" % sak, [uid])
    tag = OtherCard(uid, sak)
    before = audit_actions(ledger)
    result = station.personalise_card(tag, UTILITY)
    assert result.outcome == "refused" and needle in result.message and "not MIFARE Classic" in result.message
    assert tag.commands == 0 and audit_actions(ledger) == before


def test_a_card_never_received_into_stock_is_refused_with_what_to_do(ledger, station):
    card = factory.blank_card(new_uid())
    result = assert_refused_unchanged(ledger, station, card, UTILITY, "never received into stock",
                                      "icpurse stock receive")
    assert "--batch" in result.message


def test_a_card_of_this_issuer_unknown_to_this_ledger_is_not_personalised_again(ledger, station, demo_keyset, tmp_path,
                                                                                clock):
    card = blank_in_stock(ledger)
    assert station.personalise_card(CardTag(card), UTILITY).ok
    other = open_ledger("sqlite:///%s" % (tmp_path / "other.db"), audit_key=AUDIT_KEY, clock=clock)
    try:
        from issuance_world import setup_world

        setup_world(other)
        other.stock.receive_stock("finance", "B1", [card.uid])
        second = Workstation(other, demo_keyset.to_keysets(), demo_keyset.issuer, "finance")
        assert_refused_unchanged(other, second, card, UTILITY, "already carries this issuer's keys")
    finally:
        other.close()


def test_a_journalled_card_cannot_change_programme(ledger, station):
    card = blank_in_stock(ledger)
    assert station.personalise_card(CardTag(card), UTILITY).ok
    result = station.personalise_card(CardTag(card), MOFCOM_NAMED)
    assert result.outcome == "refused" and "already card 503110000001 of programme utility-payment" in result.message


def test_a_programme_breaking_its_profile_needs_an_audited_override(ledger, station):
    store = example("company-store-card.toml")
    order = IssueOrder("company-store", "anonymous", 200000)
    card = blank_in_stock(ledger)
    with pytest.raises(ProgrammeViolationError, match="breaks the mofcom profile"):
        Workstation(ledger, station.keyring._sets.values(), station.issuer, "admin").register_programme(store)
    assert_refused_unchanged(ledger, station, card, order, "not registered", "--override-reason")
    admin = Workstation(ledger, station.keyring._sets.values(), station.issuer, "admin")
    admin.register_programme(store, override_reason="legacy product, being migrated (ticket 42)")
    (override,) = ledger.audit.audit_entries(action="programme.override")
    assert "legacy product" in override.details and "cap.anonymous" in override.details
    assert station.personalise_card(CardTag(card), order).outcome == "personalised"


def sold_card(ledger, station, order=UTILITY, **sale):
    card = blank_in_stock(ledger)
    result = station.personalise_card(CardTag(card), order)
    ledger.stock.issue_to_point("finance", [card.uid], "P1")
    if sale is not None:
        ledger.sales.record_sale("seller", result.card_number, **sale)
    return result.card_number


def test_the_seller_cannot_activate_their_own_sale_nor_can_another_seller(ledger, station):
    number = sold_card(ledger, station)
    ledger.sales.confirm_payment("finance", number)
    for who in ("seller", "seller2"):
        before = ledger.cards.card(number)
        seller_station = Workstation(ledger, station.keyring._sets.values(), station.issuer, who)
        with pytest.raises(SeparationOfDutiesError, match="activation needs an operator of another role"):
            seller_station.activate(number)
        assert ledger.cards.card(number) == before and before.state == "paid"
        assert ledger.audit.audit_entries(action="card.activate")[-1].result == "refused"
    assert station.activate(number)[0].state == "activated"  # finance: another role than the seller


def test_activation_needs_the_payment_confirmed_first(ledger, station):
    number = sold_card(ledger, station)
    with pytest.raises(Exception, match="payment not confirmed"):
        station.activate(number)
    assert ledger.cards.card(number).state == "sold"


def test_named_cards_need_real_name_capture_and_large_cash_purchases_are_refused(ledger, station):
    card = blank_in_stock(ledger)
    number = station.personalise_card(CardTag(card), MOFCOM_NAMED).card_number
    ledger.stock.issue_to_point("finance", [card.uid], "P1")
    seller = Workstation(ledger, station.keyring._sets.values(), station.issuer, "seller")
    with pytest.raises(RealNameRequiredError, match="real-name capture required"):
        seller.record_sale(number)
    # MOFCOM: an individual paying 50,000 yuan or more in one purchase pays by non-cash means
    with pytest.raises(NonCashRequiredError, match="non-cash"):
        seller.record_sale(number, holder=HOLDER, purchase_total=5_000_000)
    assert ledger.cards.card(number).state == "issued_to_point"
    sale = seller.record_sale(number, holder=HOLDER, purchase_total=5_000_000, payment_method="bank_transfer",
                              payer_account="Li Si 6222 0000")
    assert sale.state == "recorded" and ledger.cards.card(number).holder_name == "Li Si"
    assert ledger.cards.holder_id_number(number) == HOLDER.id_number
