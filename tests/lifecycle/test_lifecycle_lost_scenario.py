"""Done-when scenario: a lost named card is refused by a store reader after its next sign-in, and its
balance moves to the replacement. The reader is the real firmware on the virtual rig
(hil/sim/rig.VirtualReader); the blacklist reaches it through LOAD_BLACKLIST + SIGN_IN."""
import pytest

import lifecycle_world as w
from icpurse.host import codec
from icpurse.hil.sim import factory, rig
from icpurse.hil.sim.rig import LinkRefused, VirtualReader
from icpurse.hil.sim.tag import CardTag
from icpurse.host import lifecycle as lc
from icpurse.protocol import cardtime
from icpurse.protocol.numbering import card_number_to_bcd

TERMINAL = 12345678
JOURNAL_MASTER = bytes.fromhex("99" * 16)
LOST, NEW = "500000000001", "500000000011"


def provision(vr):
    """The lab ceremony and the first provisioning, from this test's masters (hil/sim/rig.py)."""
    rig.provision(vr, TERMINAL, JOURNAL_MASTER, w.KEYS["sector_a"], w.KEYS["purse_mac"])


def sign_in(vr, ledger, when, version=None):
    """Day open: the ledger's current blacklist (card numbers as BCD), then SIGN_IN under a day
    configuration signed for that list (hil/sim/rig.py does the back office's part)."""
    listed = ledger.blacklist.blacklist_version()
    numbers = [card_number_to_bcd(e.card_number) for e in ledger.blacklist.blacklist_entries(listed)]
    rig.sign_in(vr, TERMINAL, JOURNAL_MASTER, cardtime.seconds(when), blacklist=(listed, numbers), grace=30)


def buy(vr, card, name, amount):
    if name not in vr.deck.names():
        vr.deck.add(name, card)
    card.enter_field()
    vr.deck.present(name)
    result = codec.decode_debit_result(vr.request(codec.LINK_CMD_DEBIT, codec.encode_debit_request(amount, 1, 300)))
    vr.deck.remove()
    return result


def test_lost_named_card_refused_after_sign_in_and_balance_moves_to_replacement(ledger, clock, tmp_path):
    lost = w.issue(ledger, w.UIDS[0], LOST, "named", 200000, holder=w.HOLDER)
    vr = VirtualReader(str(tmp_path / "reader"))
    provision(vr)
    sign_in(vr, ledger, clock())

    r = buy(vr, lost, "lost", 30000)
    assert r[codec.DEBIT_RESULT_BALANCE] == 170000
    ledger.books.book_redemption(LOST, 30000, "%d:%d" % (TERMINAL, r[codec.DEBIT_RESULT_JOURNAL_NUMBER]),
                           terminal=str(TERMINAL))  # the journal sync

    report = lc.report_lost(ledger, "finance", LOST, w.HOLDER.id_number)
    assert report.ledger_balance == 170000 and ledger.blacklist.blacklist_version() == 1

    # a reader that has not fetched the new list cannot open its day at version 1
    other = VirtualReader(str(tmp_path / "other"))
    provision(other)
    numbers = [card_number_to_bcd(LOST)]
    with pytest.raises(LinkRefused, match="not the signed one") as e:
        other.request(codec.LINK_CMD_SIGN_IN, codec.encode_sign_in(7) + rig.signed_config(
            other, TERMINAL, JOURNAL_MASTER, cardtime.seconds(clock()), blacklist=(1, numbers)))
    assert e.value.code == codec.LINK_ERR_BAD_CONFIG

    clock.advance(hours=22)  # next day open
    sign_in(vr, ledger, clock())
    with pytest.raises(LinkRefused) as refused:
        buy(vr, lost, "lost", 1000)
    assert refused.value.detail == codec.R_BLACKLISTED
    assert w.read(lost)[0] == 170000  # nothing written to the refused card

    new = factory.blank_card(bytes.fromhex(w.UIDS[1]))
    rep = lc.replace_lost_card(ledger, "finance", LOST, CardTag(new), w.issuer_ring(), new_number=NEW,
                               identity_fields=w.identity(NEW, True), id_number=w.HOLDER.id_number, when=clock())
    assert rep.amount == 170000
    assert ledger.books.outstanding_balance(LOST) == 0 and ledger.books.outstanding_balance(NEW) == 170000

    r = buy(vr, new, "new", 5000)  # the replacement works at the same reader
    assert r[codec.DEBIT_RESULT_BALANCE] == 165000
    with pytest.raises(LinkRefused) as again:
        buy(vr, lost, "lost", 1000)
    assert again.value.detail == codec.R_BLACKLISTED
    assert ledger.books.unbalanced_entries() == [] and ledger.audit.verify_audit_log() is None


def test_purchase_before_the_readers_next_sign_in_is_not_booked_against_the_replacement(ledger, clock, tmp_path):
    """The offline window: until a reader signs in again it still accepts the lost card. That purchase
    reaches the ledger after the balance moved; the books refuse it (no overdraft on the closed card),
    so reconciliation has to put it on the exception list / discrepancy account — never silently on
    the replacement card."""
    lost = w.issue(ledger, w.UIDS[0], LOST, "named", 50000, holder=w.HOLDER)
    vr = VirtualReader(str(tmp_path / "reader"))
    provision(vr)
    sign_in(vr, ledger, clock())
    lc.report_lost(ledger, "finance", LOST, w.HOLDER.id_number)
    r = buy(vr, lost, "lost", 2000)  # same day, before the next sign-in: the reader does not know yet
    assert r[codec.DEBIT_RESULT_BALANCE] == 48000
    new = factory.blank_card(bytes.fromhex(w.UIDS[1]))
    lc.replace_lost_card(ledger, "finance", LOST, CardTag(new), w.issuer_ring(), new_number=NEW,
                         identity_fields=w.identity(NEW, True), id_number=w.HOLDER.id_number, when=clock())
    from icpurse.host.ledger.errors import InvalidStateError
    with pytest.raises(InvalidStateError, match="exceeds the ledger balance"):
        ledger.books.book_redemption(LOST, 2000, "%d:%d" % (TERMINAL, r[codec.DEBIT_RESULT_JOURNAL_NUMBER]))
    assert ledger.books.outstanding_balance(NEW) == 50000 and ledger.books.outstanding_balance(LOST) == 0
