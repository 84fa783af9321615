"""Shared helpers of the issuance workstation tests (a unique module name, so test modules can
import them without clashing with other folders' conftest modules)."""
import datetime as dt
import itertools
from pathlib import Path

from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.service import IssueOrder
from icpurse.host.ledger import HolderInfo
from icpurse.host.programmes import load_programmes

EXAMPLES = Path(__file__).resolve().parents[2] / "host" / "programmes" / "examples"
PW = "correct horse battery"
DATA_KEY = bytes(range(32))  # test-only ledger data key
HOLDER = HolderInfo(name="Li Si", id_number="11010519491231002X", contact="13900000000")
UTILITY = IssueOrder("utility-payment", "anonymous", 20000)  # 200 yuan, numbers 5031 1 0000001...
MOFCOM_NAMED = IssueOrder("mofcom-compliant", "named", 50000)
_uids = itertools.count(0x5E000001)


def new_uid():
    return next(_uids).to_bytes(4, "big")


def example(name):
    (prog,) = load_programmes(EXAMPLES / name)
    return prog


class FakeClock:
    """A controllable clock (no real sleeps): 2026-03-02 10:00 China Standard Time."""

    def __init__(self, start=dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc)):
        self.t = start

    def __call__(self):
        return self.t

    def advance(self, **kw):
        self.t += dt.timedelta(**kw)


def setup_world(ledger):
    """admin (issuer-admin), finance, seller, seller2, auditor; utility-payment and mofcom-compliant
    registered; sales point P1."""
    ledger.add_operator("admin", PW, "issuer-admin")
    for name, role in (("finance", "finance"), ("seller", "seller"), ("seller2", "seller"), ("auditor", "auditor")):
        ledger.add_operator(name, PW, role, by="admin")
    ledger.register_programme("admin", example("utility-payment-card.toml"))
    ledger.register_programme("admin", example("mofcom-compliant.toml"))
    ledger.add_sales_point("admin", "P1", "Counter 1")


def blank_in_stock(ledger, size="1k", uid=None, batch=None):
    """A blank card received into stock; returns the ClassicCard."""
    uid = uid or new_uid()
    card = factory.blank_card(uid, size)
    ledger.receive_stock("finance", batch or "B-%s" % uid.hex(), [uid])
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
