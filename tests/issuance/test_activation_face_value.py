"""Activation puts the face value booked at payment onto the card, exactly once."""
from test_refusals import UTILITY, blank_in_stock  # noqa: F401 (shared helpers of the issuance tests)

from icpurse.firmware import codec, purse
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag


def paid_card(ledger, station):
    card = blank_in_stock(ledger)
    number = station.personalise_card(CardTag(card), UTILITY).card_number
    ledger.stock.issue_to_point("finance", [card.uid], "P1")
    ledger.sales.record_sale("seller", number)
    ledger.sales.confirm_payment("finance", number)
    return card, number


def card_balance(station, card):
    access, keys, v = purse.open_card(CardTag(card), station.keyring, purse.KEY_B)
    return purse.read_card(access, keys, v).balance


def test_activation_loads_the_face_value_once(ledger, station):
    card, number = paid_card(ledger, station)
    face = ledger.cards.card(number).face_value
    assert face > 0 and card_balance(station, card) == 0
    view, balance = station.activate(number, CardTag(card))
    assert view.state == "activated" and balance == face == card_balance(station, card)
    assert ledger.books.outstanding_balance(number) == face  # booked once, at payment
    # presenting it again (or recovering) loads nothing more
    assert station.load_face_value(CardTag(card), number) == face
    assert station.recover_card(CardTag(card)).balance == face
    assert card_balance(station, card) == face


def test_activation_without_the_card_is_finished_by_recover(ledger, station):
    card, number = paid_card(ledger, station)
    face = ledger.cards.card(number).face_value
    view, balance = station.activate(number)  # no card on the reader
    assert view.state == "activated" and balance is None and card_balance(station, card) == 0
    result = station.recover_card(CardTag(card))
    assert result.balance == face and any("face value" in a for a in result.actions)
    assert card_balance(station, card) == face


def test_a_card_pulled_during_the_load_is_finished_never_doubled(ledger, station):
    card, number = paid_card(ledger, station)
    face = ledger.cards.card(number).face_value
    station.activate(number)
    outcomes = set()
    for n in range(40):
        test_card = card.__class__.from_mfd(card.to_mfd())
        test_card.faults = Faults()
        test_card.faults.remove_after(n)
        try:
            station.load_face_value(CardTag(test_card), number)
        except Exception:
            pass
        test_card.faults = Faults()
        test_card.enter_field()
        station.load_face_value(CardTag(test_card), number)  # presented again
        outcomes.add(card_balance(station, test_card))
    assert outcomes == {face}
    assert codec.TXN_ISSUE == 1


def committed_slot(station, card):
    access, keys, v = purse.open_card(CardTag(card), station.keyring, purse.KEY_B)
    return purse.read_card(access, keys, v).slot


def test_the_face_value_credit_carries_its_sale_booking(ledger, station):
    from icpurse.host.cards import card_txn

    card, number = paid_card(ledger, station)
    station.activate(number, CardTag(card))
    entry = ledger.sales.face_value_entry(number)
    access, keys, v = purse.open_card(CardTag(card), station.keyring, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    face = ledger.cards.card(number).face_value
    if view.layout == codec.LAYOUT_VERSION:  # v1: the ISSUE slot carries the booking
        slot = view.slot
        assert (slot[codec.PURSE_SLOT_KIND], slot[codec.PURSE_SLOT_AMOUNT]) == (codec.TXN_ISSUE, face)
        assert slot[codec.PURSE_SLOT_TERMINAL] == 0 and slot[codec.PURSE_SLOT_TXN] == card_txn(entry) != 0
    else:  # v2 (what the station personalises): the load-MAC-sealed credit record of generation 2
        assert entry and view.layout == 2
        credit_seq, kind, amount, _ = view.credit
        assert (credit_seq & 0xFF, kind, amount) == (view.gen, codec.TXN_ISSUE, face) and view.gen == 2
        assert (view.balance, view.value, view.backup) == (face, face, face)


def test_a_face_value_loaded_by_older_tools_is_not_loaded_again(ledger, station):
    """An ISSUE credit of txn 0 (written before the face value carried its sale's booking) is the
    face value load: activation or recovery leave such a card as it is."""
    card, number = paid_card(ledger, station)
    station.activate(number)  # the ledger part only
    face = ledger.cards.card(number).face_value
    access, keys, v = purse.open_card(CardTag(card), station.keyring, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    purse.commit(access, view, purse.plan_credit(view, face, purse.Policy(), 0, codec.TXN_ISSUE), 0)  # txn 0
    assert station.load_face_value(CardTag(card), number) == face
    assert station.recover_card(CardTag(card)).balance == face
    assert card_balance(station, card) == face


def test_an_issue_credit_of_another_amount_is_not_the_face_value(ledger, station):
    card, number = paid_card(ledger, station)
    station.activate(number)
    face = ledger.cards.card(number).face_value
    access, keys, v = purse.open_card(CardTag(card), station.keyring, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    purse.commit(access, view, purse.plan_credit(view, 100, purse.Policy(), 0, codec.TXN_ISSUE), 0)
    assert station.load_face_value(CardTag(card), number) == face + 100
