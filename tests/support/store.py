"""The store world of the terminal, audit and reconciliation tests: a SQLite ledger with
operators and the MOFCOM example programme, the demo key domain, issued cards registered and
paid in the ledger, and virtual store readers (the real firmware on the simulator) provisioned
and signed in through the terminal service. Tests take it as the `world` fixture (tests/conftest.py)."""
import datetime as dt
from pathlib import Path

import pytest

from icpurse.firmware import codec, purse
from icpurse.hil.rigclient import RigClient
from icpurse.hil.sim import factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.rig import VirtualReader
from icpurse.hil.sim.tag import CardTag
from icpurse.host.ledger import open_ledger
from icpurse.host.terminals import journal_records as jv
from icpurse.host.terminals import service
from icpurse.keys import demo, exports
from icpurse.protocol import cardtime
from icpurse.protocol.numbering import card_number_to_bcd
from support.clock import ManualClock
from support.ledger import AUDIT_KEY, DATA_KEY, PW, example, sqlite_url

DOMAIN = demo.demo_domain(1)
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in China


def workstation_ring():
    return exports.workstation_keyset(DOMAIN).to_keyring()


def reader_ring(terminal):
    return exports.reader_keyset(DOMAIN, terminal).to_keyring()


class World:
    def __init__(self, tmp_path, clock=None):
        self.tmp = Path(tmp_path)
        self.clock = clock or ManualClock(START)
        self.ledger = open_ledger(sqlite_url(self.tmp), data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=self.clock)
        led = self.ledger
        led.people.add_operator("admin", PW, "issuer-admin")
        led.people.add_operator("admin2", PW, "issuer-admin", by="admin")  # the bootstrap's second admin
        for name, role in (("seller", "seller"), ("finance", "finance"), ("auditor", "auditor"),
                           ("clerk", "terminal-operator")):
            led.people.add_operator(name, PW, role, by="admin")
            led.people.approve_operator("admin2", name)  # four eyes
        led.programmes.register_programme("admin", example("mofcom-compliant.toml"))
        led.stock.add_sales_point("admin", "P1", "Counter 1")
        self.cards = {}  # card number -> ClassicCard
        self.readers = {}  # terminal number -> (VirtualReader, RigClient)
        self._serial = 0

    # --- cards ---
    def issue(self, face_value=50000, uid=None, kind="anonymous"):
        """A personalised card carrying `face_value`, sold, paid and activated in the ledger."""
        self._serial += 1
        number = "5031%08d" % self._serial
        uid = uid or bytes([0x04, 0xA0, self._serial >> 8, self._serial & 0xFF])
        uid_hex = uid.hex().upper()
        led = self.ledger
        led.stock.receive_stock("finance", "B-%d" % self._serial, [uid_hex])
        led.stock.issue_to_point("finance", [uid_hex], "P1")
        led.cards.register_card("finance", uid_hex, number, "mofcom-compliant", kind, face_value)
        led.sales.record_sale("seller", number)
        led.sales.confirm_payment("finance", number)
        led.sales.activate(number, "finance")
        keys = workstation_ring().for_card(uid, DOMAIN.current)
        fields = factory.identity_fields(DOMAIN.current, card_number=card_number_to_bcd(number), issuer=DOMAIN.issuer)
        card = factory.issued_card(uid, keys, fields, now=cardtime.seconds(self.clock()) - 3600)
        card.faults = Faults()
        self.load(card, face_value)
        self.cards[number] = card
        return number, card

    def load(self, card, amount):
        """Key-B credit, as the issuance workstation does it (the ledger side is the sale/top-up)."""
        access, keys, v = purse.open_card(tag(card), workstation_ring(), purse.KEY_B)
        view = purse.recover(access, purse.read_card(access, keys, v))
        now = cardtime.seconds(self.clock())
        plan = purse.plan_credit(view, amount, purse.Policy(), cardtime.day_of_seconds(now), codec.TXN_LOAD)
        return purse.commit(access, view, plan, now)

    def top_up(self, number, amount, txn_id):
        card = self.cards[number]
        view = self.read(card)
        self.ledger.topup_records.book_topup_pending(number, amount, txn_id, operator="seller", card_seq=view.seq,
                                       card_balance=view.balance)
        slot = self.load(card, amount)
        self.ledger.topup_records.book_topup_confirm(txn_id, card_seq=slot[codec.PURSE_SLOT_SEQ])
        return slot

    def read(self, card):
        access, keys, v = purse.open_card(tag(card), workstation_ring())
        return purse.read_card(access, keys, v)

    # --- readers ---
    def reader(self, number, outlet="Outlet", merchant="Merchant", **kw):
        vr = VirtualReader(str(self.tmp / ("reader-%s" % number)))
        client = RigClient(vr)
        service.provision(self.ledger, client, DOMAIN, "admin", number, outlet=outlet, merchant=merchant, **kw)
        self.readers[number] = (vr, client)
        return vr, client

    def sign_in(self, number):
        return service.sign_in(self.ledger, self.readers[number][1], "clerk", number)

    def keys(self, number):
        return jv.journal_keys(DOMAIN, int(number))

    def collect(self, number):
        return service.collect(self.ledger, self.readers[number][1], self.keys(number), number)

    def tap(self, number, card_number, amount, card=None):
        """Present a card at reader `number` and debit `amount`: the debit result dict, or
        ReaderLinkError (a refusal)."""
        vr, client = self.readers[number]
        card = card if card is not None else self.cards[card_number]
        self.clock.advance(minutes=1)  # readers keep real time: a minute between sales
        client.set_time(cardtime.seconds(self.clock()))
        name = "c%x" % id(card)
        if name not in vr.deck.names():
            vr.deck.add(name, card)
        vr.deck.present(name)
        try:
            return client.debit(amount, timeout_ms=300)
        finally:
            vr.deck.remove(name)

    def close(self):
        self.ledger.close()


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


def tag(card):
    """The card held to a desktop reader (in the field, selected)."""
    card.enter_field()
    return CardTag(card)


def snapshot(card):
    """Every block of a card (an attacker's dump)."""
    return [bytes(b) for b in card.blocks]


def restore(card, dump):
    for b, data in zip(card.blocks, dump):
        b[:] = data


def clone(card):
    """A magic card with the same UID and every block copied."""
    twin = factory.blank_card(card.uid, magic=True)
    restore(twin, snapshot(card))
    twin.faults = Faults()
    return twin
