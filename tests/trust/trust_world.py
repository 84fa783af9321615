"""Shared set-up of the trust suite (a unique module name): the operators of every role the
four-eyes way, the mofcom-compliant programme, sales point P1, and simulated cards issued with the
INSECURE DEMO KEYS' workstation set (the card and its ledger balance equal)."""
import itertools

from icpurse.firmware import codec, purse
from icpurse.hil.sim import factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.personalise import personalise
from icpurse.keys import demo, exports
from icpurse.protocol import cardtime
from icpurse.protocol.numbering import card_number_to_bcd
from support.ledger import PW, example, staff  # noqa: F401 (PW: the suite)

PEOPLE = (("seller", "seller"), ("seller2", "seller"), ("finance", "finance"), ("finance2", "finance"),
          ("auditor", "auditor"), ("clerk", "terminal-operator"))
WORKSTATION = exports.workstation_keyset(demo.demo_domain())
_serials = itertools.count(1)
_uids = itertools.count(0x7D000001)


def setup(ledger):
    staff(ledger, PEOPLE)
    ledger.programmes.register_programme("admin", example("mofcom-compliant.toml"))
    ledger.stock.add_sales_point("admin", "P1", "Counter 1")


def tap(card):
    card.faults = Faults()
    if not card.powered:
        card.enter_field()
    return CardTag(card)


def issued_card(ledger, face_value=50000):
    """A personalised, sold, paid and activated anonymous card with its face value on it."""
    ring = WORKSTATION.to_keyring()
    card = factory.blank_card(next(_uids).to_bytes(4, "big"))
    uid = bytes(card.uid)
    number = "9200%08d" % next(_serials)
    ledger.stock.receive_stock("finance", "B-%s" % uid.hex(), [uid])
    ledger.stock.issue_to_point("finance", [uid], "P1")
    ledger.cards.register_card("finance", uid, number, "mofcom-compliant", "anonymous", face_value)
    now = ledger.now()
    fields = factory.identity_fields(1, card_number=card_number_to_bcd(number), issuer=WORKSTATION.issuer,
                                     issue_date=cardtime.day(now))
    tag = tap(card)
    personalise(tag, ring.for_card(uid, 1), fields, cardtime.seconds(now) - 60)
    ledger.sales.record_sale("seller", number)
    ledger.sales.confirm_payment("finance", number)
    ledger.sales.activate(number, "finance")
    access, keys, v = purse.open_card(tag, ring, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    purse.commit(access, view, purse.plan_credit(view, face_value, purse.Policy(), cardtime.day(now),
                                                 codec.TXN_ISSUE), cardtime.seconds(now))
    return card, number


def snapshot(card):
    return [bytes(b) for b in card.blocks]


def restore(card, dump):
    for b, data in zip(card.blocks, dump):
        b[:] = data
