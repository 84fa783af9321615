"""Reader keys cannot raise value (issue 11): a bounded exhaustive search over the simulator's
command set with the store reader's key set (hil/modelcheck.py), and the attacks that broke v1
as regression tests.

What the search proves depends on what the card does where its datasheet is silent, so each
property names the card model it holds for (docs/security.md, "Reader key set"):
- a card that refuses negative operands and value overflow: no reachable state is accepted by a
  reader with a higher balance than before;
- any card (signed operands, wrap-around): never above the ceiling the issuer last sealed;
- a card whose transfer buffer survived a new authentication would let a value written in a
  transport sector into the balance block: the search finds it, bounded by the ceiling again.
"""
from purse_fixtures import NOW, TERMINAL, TODAY, debit, issuer_ring, new_card, reader_ring, tap, top_up

from icpurse.firmware import purse
from icpurse.firmware.mifare import value_block
from icpurse.hil import modelcheck as mc
from icpurse.hil.sim.card import CardError
from icpurse.host import codec
from icpurse.protocol import layout
from icpurse.protocol.mifare.blocks import is_value_block

CEILING = 50000  # fen: the top-up
BALANCE = 20000  # after three debits of 100 yuan
OPERANDS = (0, 1, 1250, CEILING - BALANCE, CEILING, 0x7FFFFFFF, -1, -(CEILING - BALANCE), 0x80000000)
VALUES = (BALANCE, CEILING, CEILING + 1000)


def spent_card():
    card = new_card(CEILING, layout=2)
    for i in range(3):
        debit(card, 10000, txn=i + 1)
    assert tap(card)[1].balance == BALANCE
    return card


def search(card, model, depth):
    return mc.Search(card, reader_ring(), model, OPERANDS, VALUES).run(depth)


def test_reader_keys_never_raise_the_balance_on_a_card_that_refuses_negative_operands():
    result = search(spent_card(), mc.STRICT_VALUES, 5)
    assert result.states > 50000 and result.accepted > 1000, result  # the search went somewhere
    assert result.start_balance == BALANCE
    assert result.best == BALANCE, result


def test_nor_from_a_debit_torn_between_its_two_transfers():
    card = spent_card()
    access, view = tap(card)
    access.auth_block(layout.BALANCE_BLOCK)
    access.tag.decrement(layout.BALANCE_BLOCK, 1250)
    access.tag.transfer(layout.BACKUP_BLOCK)  # B written, V not: the debit did not happen
    result = search(card, mc.STRICT_VALUES, 4)
    assert result.start_balance == BALANCE and result.best == BALANCE, result


def test_nor_from_a_balance_block_torn_by_a_pulled_card():
    card = spent_card()
    access, view = tap(card)
    access.auth_block(layout.BALANCE_BLOCK)
    access.tag.decrement(layout.BALANCE_BLOCK, 1250)
    access.tag.transfer(layout.BACKUP_BLOCK)
    access.tag.decrement(layout.BALANCE_BLOCK, 1250)
    card.faults.tear_next_write("mix", 1)  # seed 1 leaves neither value (checked below)
    try:
        access.tag.transfer(layout.BALANCE_BLOCK)
    except Exception:
        pass
    card.enter_field()
    assert not is_value_block(bytes(card.blocks[layout.BALANCE_BLOCK]))  # torn: not a value block
    result = search(card, mc.STRICT_VALUES, 4)
    assert result.start_balance == BALANCE - 1250  # repaired from the backup: the new balance
    assert result.best == BALANCE - 1250, result


def test_with_signed_operands_the_balance_never_passes_the_sealed_ceiling():
    result = search(spent_card(), mc.DATASHEET_WORST, 4)
    # the refill exists (DECREMENT by a negative operand) and is found ...
    assert result.best == CEILING, result
    assert ("dec", layout.BALANCE_BLOCK, (-(CEILING - BALANCE)) & 0xFFFFFFFF) in result.witness
    # ... and stops at the ceiling: above it no reader accepts the card


def test_a_transfer_buffer_that_survives_authentication_is_found_and_bounded_by_the_ceiling():
    result = mc.Search(spent_card(), reader_ring(), mc.TB_CARRIES, (0, CEILING - BALANCE, 1), (BALANCE,)).run(5)
    assert result.best == CEILING, result
    assert result.witness[0] == ("auth", 3) and result.witness[-1] == ("transfer", layout.BALANCE_BLOCK)


# --- the attacks of issue 11, one by one ----------------------------------------------------------

def test_v1_refill_to_the_ceiling_works_on_a_v1_card_and_is_the_reason_for_v2():
    """Key A DECREMENTs the ceiling by 0 into the balance block and the reader's purse key seals a
    LOAD slot claiming it: a v1 reader accepts it (layout v1, kept during the transition)."""
    card = new_card(CEILING)
    for i in range(3):
        debit(card, 10000, txn=i + 1)
    access, view = tap(card)
    access.auth_block(layout.BALANCE_BLOCK)
    access.tag.decrement(layout.CEILING_BLOCK, 0)
    access.tag.transfer(layout.BALANCE_BLOCK)
    plan = (view.seq + 1, CEILING, 0, 0, codec.TXN_LOAD, CEILING - BALANCE, 0, 0)
    access.write(layout.slot_block(1 - view.active), purse.seal_slot(access.keys, view.uid, 1, plan))
    assert tap(card)[1].balance == CEILING


def test_v2_refill_by_copying_the_backup_never_raises():
    card = spent_card()
    access, view = tap(card)
    access.restore_to(layout.BACKUP_BLOCK, layout.BALANCE_BLOCK)
    access.tag.decrement(layout.BACKUP_BLOCK, 0)
    access.tag.transfer(layout.BALANCE_BLOCK)
    assert tap(card)[1].balance == BALANCE


def test_v2_header_and_credit_record_are_not_writable_with_key_a():
    card = spent_card()
    access, view = tap(card)
    forged = mc.purse2_header(access.keys, view, CEILING * 100)
    for block in (layout.HEADER_BLOCK, layout.CREDIT_BLOCK, layout.IDENTITY_BLOCK):
        try:
            access.write(block, forged)
        except purse.MifareError:
            pass
        else:
            raise AssertionError("key A wrote block %d" % block)
    assert tap(card)[1].balance == BALANCE


def test_negative_operand_refused_or_bounded_then_a_big_debit_is_refused():
    for negative_operands in (False, True):
        card = spent_card()
        card.negative_operands = negative_operands
        access, view = tap(card)
        access.auth_block(layout.BALANCE_BLOCK)
        try:
            # the firmware's tag refuses a negative operand: the attacker speaks to the card itself
            card.decrement(layout.BALANCE_BLOCK, -900000 & 0xFFFFFFFF)  # +9,000 yuan
            card.transfer(layout.BALANCE_BLOCK)
        except CardError:
            assert not negative_operands
        try:
            access, view = tap(card)
        except purse.Refused as e:
            assert negative_operands and e.code == codec.R_INCONSISTENT  # above the sealed ceiling
            continue
        assert view.balance == BALANCE
        try:
            purse.plan_debit(view, 900000, purse.Policy(), TODAY, TERMINAL, 9)
        except purse.Refused as e:
            assert e.code == codec.R_INSUFFICIENT
        else:
            raise AssertionError("a 9,000-yuan debit planned on a 200-yuan card")


def test_reader_holds_no_key_that_seals_a_credit():
    card = spent_card()
    access, view = tap(card)
    try:
        access.keys.load_key
    except Exception as e:
        assert type(e).__name__ == "NoKey"
    else:
        raise AssertionError("the reader's key set derived a load MAC key")
    plan = purse.plan_credit(view, 100, purse.Policy(), TODAY, codec.TXN_LOAD)
    try:
        purse.commit(access, view, plan, NOW)
    except purse.Refused as e:
        assert e.code == codec.R_NOT_ALLOWED
    else:
        raise AssertionError("a reader credited a card")
    assert tap(card)[1].balance == BALANCE
