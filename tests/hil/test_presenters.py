"""Card presenters: the operator's prompts and answers (with a timeout), the virtual deck's moves
and pulls."""
import io
import os

import pytest

from icpurse.hil.presenters import (
    Console, OperatorAbort, OperatorPresenter, OperatorTimeout, SweepFaults, VirtualDeckPresenter,
)
from icpurse.hil.sim import factory
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.tag import CardTag


class Operator:
    """A console whose operator types `answers` (one line each, written up front into a pipe)."""

    def __init__(self, answers=(), clock=None):
        r, w = os.pipe()
        os.write(w, "".join(a + "\n" for a in answers).encode())
        os.close(w)
        self.infile = os.fdopen(r, "rb", buffering=0)
        self.out = io.StringIO()
        self.console = Console(self.infile, self.out, timeout=5, **({"clock": clock} if clock else {}))

    def prompts(self):
        return [line for line in self.out.getvalue().splitlines() if line.startswith("[hil] ") and "press" not in line]


def test_operator_is_asked_to_place_and_take_the_card():
    op = Operator(["", "", ""])
    cards = OperatorPresenter(op.console, count=3, pulls=2)
    cards.present(3, at="store")
    cards.present(3, at="store")  # already there: no second prompt
    cards.present(1, at="issuance")
    cards.pull()
    assert op.prompts() == ["[hil] Place card 3 on the store reader and leave it there.",
                            "[hil] Place card 1 on the issuance reader and leave it there.",
                            "[hil] Take card 1 off the reader."]
    assert [q for q, a in op.console.transcript] == [p[len("[hil] "):] for p in op.prompts()]


def test_one_board_for_both_roles_is_just_the_reader():
    op = Operator(["", ""])
    cards = OperatorPresenter(op.console, count=2, pulls=1, same_reader=True)
    cards.present(2, at="issuance")
    cards.present(2, at="store")  # same board: the card is already there
    cards.arm_pull(0)
    assert op.prompts()[0] == "[hil] Place card 2 on the reader and leave it there."
    assert op.prompts()[1] == "[hil] Card 2 is on the reader. After Enter, lift it off at once — pull 1 of 1."
    assert cards.pull_fired() is None  # nobody knows when exactly the card left
    assert list(cards.pull_points()) == [0] and list(cards.tear_points()) == [0]


def test_operator_can_skip_or_fail_a_step():
    op = Operator(["skip", "fail LED stayed dark"])
    with pytest.raises(OperatorAbort) as e:
        op.console.ask("Place card 1")
    assert e.value.action == "skip"
    with pytest.raises(OperatorAbort) as e:
        op.console.ask("Place card 1")
    assert (e.value.action, e.value.note) == ("fail", "LED stayed dark")


def test_no_answer_in_time_is_a_timeout():
    ticks = iter([0.0, 10.0])  # the deadline has passed at the first look
    op = Operator([], clock=lambda: next(ticks))
    with pytest.raises(OperatorTimeout, match="no answer within 5 s to: Place card 2"):
        op.console.ask("Place card 2")


def test_closed_input_is_a_timeout_not_a_hang():
    op = Operator([])
    with pytest.raises(OperatorTimeout, match="input closed"):
        op.console.ask("Place card 1")


def deck_of(n):
    store, issuance = Deck(), Deck()
    cards = [factory.blank_card(bytes((0x5E, 0, 0, i)), faults=SweepFaults()) for i in range(1, n + 1)]
    return store, issuance, VirtualDeckPresenter({"store": store, "issuance": issuance}, cards)


def test_virtual_deck_moves_a_card_between_readers():
    store, issuance, cards = deck_of(2)
    cards.present(1, at="issuance")
    assert issuance.field_names() == ["card1"] and store.field_names() == []
    cards.present(1, at="store")
    assert store.field_names() == ["card1"] and issuance.field_names() == []
    cards.present(2, at="store")
    assert store.field_names() == ["card2"]
    cards.pull()
    assert store.field_names() == [] and issuance.field_names() == []
    with pytest.raises(ValueError, match="no 'kiosk' reader"):
        cards.present(1, at="kiosk")


def test_virtual_pull_before_command_n_and_whether_it_fired():
    _, _, cards = deck_of(1)
    cards.present(1)
    cards.arm_pull(2)
    tag = CardTag(cards.card(1))
    tag.authenticate(4, b"\xff" * 6)  # select + auth: commands 0 and 1
    with pytest.raises(Exception):
        tag.read_block(4)  # command 2: the card is gone
    assert cards.pull_fired() is True
    cards.present(1)
    cards.arm_pull(5)
    CardTag(cards.card(1)).authenticate(4, b"\xff" * 6)
    assert cards.pull_fired() is False


def test_virtual_tear_of_the_kth_write():
    _, _, cards = deck_of(1)
    card = cards.card(1)
    cards.present(1)
    cards.arm_tear((1, "old"))
    tag = CardTag(card)
    tag.authenticate(4, b"\xff" * 6)
    tag.write_block(4, b"\x11" * 16)  # write 0: whole
    with pytest.raises(Exception):
        tag.write_block(5, b"\x22" * 16)  # write 1: torn, the block keeps its old bytes
    assert bytes(card.blocks[4]) == b"\x11" * 16 and bytes(card.blocks[5]) == bytes(16)
    assert cards.pull_fired() is True
    points = cards.tear_points()
    assert [next(points) for _ in range(4)] == [(0, "old"), (0, "new"), (0, "mix"), (1, "old")]
