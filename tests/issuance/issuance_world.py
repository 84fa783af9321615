"""Shared helpers of the issuance workstation tests (a unique module name, so test modules can
import them without clashing with other folders' conftest modules)."""
import itertools

from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.service import IssueOrder
from icpurse.host.ledger import HolderInfo
from support.ledger import DATA_KEY, EXAMPLES, PW, example  # noqa: F401 (the suite imports them from here)

HOLDER = HolderInfo(name="Li Si", id_number="11010519491231002X", contact="13900000000")
UTILITY = IssueOrder("utility-payment", "anonymous", 20000)  # 200 yuan, numbers 5031 1 0000001...
MOFCOM_NAMED = IssueOrder("mofcom-compliant", "named", 50000)
_uids = itertools.count(0x5E000001)


def new_uid():
    return next(_uids).to_bytes(4, "big")


def setup_world(ledger):
    """admin (issuer-admin), finance, seller, seller2, auditor; utility-payment and mofcom-compliant
    registered; sales point P1."""
    ledger.people.add_operator("admin", PW, "issuer-admin")
    ledger.people.add_operator("admin2", PW, "issuer-admin", by="admin")  # the bootstrap's second admin
    for name, role in (("finance", "finance"), ("seller", "seller"), ("seller2", "seller"), ("auditor", "auditor")):
        ledger.people.add_operator(name, PW, role, by="admin")
        ledger.people.approve_operator("admin2", name)  # four eyes
    ledger.programmes.register_programme("admin", example("utility-payment-card.toml"))
    ledger.programmes.register_programme("admin", example("mofcom-compliant.toml"))
    ledger.stock.add_sales_point("admin", "P1", "Counter 1")


def blank_in_stock(ledger, size="1k", uid=None, batch=None):
    """A blank card received into stock; returns the ClassicCard."""
    uid = uid or new_uid()
    card = factory.blank_card(uid, size)
    ledger.stock.receive_stock("finance", batch or "B-%s" % uid.hex(), [uid])
    return card


class Feeder:
    """A card hopper over simulated cards: `wait_for_card` gives the current card (CardTag, fast
    path), `eject()` moves on to the next. No card left: TagGone, as a reader with an empty field."""

    def __init__(self, cards):
        self.cards = list(cards)
        self.index = 0
        self.ejected = 0

    def wait_for_card(self, timeout=10.0):
        from icpurse.firmware.codec import ST_TIMEOUT
        from icpurse.firmware.mifare import TagGone

        if self.index >= len(self.cards):
            raise TagGone(ST_TIMEOUT, "no card")
        card = self.cards[self.index]
        if not card.powered:
            card.enter_field()
        return CardTag(card)

    def eject(self):
        self.index += 1
        self.ejected += 1

    def close(self):
        pass
