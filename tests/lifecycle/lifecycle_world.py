"""Shared set-up for lifecycle tests: a ledger template (operators, programmes, stock) built once
and copied per test (scrypt operator passwords are slow on purpose), issuer keys, issued sim cards."""
import shutil
from pathlib import Path

from icpurse.firmware import codec, purse
from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.host.ledger import HolderInfo, open_ledger
from icpurse.protocol import cardtime
from icpurse.host.programmes.model import loads_programmes
from icpurse.protocol.numbering import card_number_to_bcd
from support.clock import START, ManualClock
from support.ledger import AUDIT_KEY, DATA_KEY, EXAMPLES, PW, example, sqlite_url  # noqa: F401 (EXAMPLES: the suite)

h = bytes.fromhex
HOLDER = HolderInfo(name="Zhang San", id_number="11010519491231002X", contact="13800000000")
KEYS = dict(sector_a=h("11" * 16), sector_b=h("22" * 16), purse_mac=h("33" * 16), load_mac=h("44" * 16))
UIDS = ["04A1B2C3D4E5%02X" % i for i in range(1, 13)]

PBOC_PROGRAMME = """
[[programme]]
id = "pboc-multi"
name = "Multi-purpose card (PBOC)"
issuer = "Example Payment Co"
profile = "pboc"
kinds = ["named", "anonymous"]
reloadable = true
expired_balance = "reactivate"
payment_methods = ["cash", "bank_transfer", "debit_card"]

[programme.named]
face_values = [50000, 100000]
validity = "none"

[programme.anonymous]
face_values = [50000]
validity = { years = 3 }
"""


def issuer_ring():
    ring = KeyRing()
    ring.add(KeySet(1, KEYS["sector_a"], KEYS["purse_mac"], sector_b=KEYS["sector_b"], load_mac=KEYS["load_mac"]))
    return ring


def reader_ring():
    ring = KeyRing()
    ring.add(KeySet(1, KEYS["sector_a"], KEYS["purse_mac"]))
    return ring


def build_template(path):
    led = open_ledger("sqlite:///%s" % path, audit_key=AUDIT_KEY, data_key=DATA_KEY, clock=ManualClock())
    try:
        led.people.add_operator("admin", PW, "issuer-admin")
        led.people.add_operator("admin2", PW, "issuer-admin", by="admin")  # the bootstrap's second admin
        for name, role in (("seller", "seller"), ("finance", "finance"), ("auditor", "auditor")):
            led.people.add_operator(name, PW, role, by="admin")
            led.people.approve_operator("admin2", name)  # four eyes
        led.programmes.register_programme("admin", example("mofcom-compliant.toml"))
        (pboc,) = loads_programmes(PBOC_PROGRAMME)
        led.programmes.register_programme("admin", pboc)
        led.stock.add_sales_point("admin", "P1", "Counter 1")
        led.stock.receive_stock("finance", "B-1", UIDS)
        led.stock.issue_to_point("finance", UIDS, "P1")
    finally:
        led.close()


def open_copy(template, folder, clock):
    shutil.copy(template, Path(folder) / "ledger.db")
    return open_ledger(sqlite_url(folder), audit_key=AUDIT_KEY, data_key=DATA_KEY, clock=clock)


def identity(number, named, expiry=0, issue_date=None):
    return factory.identity_fields(1, card_number=card_number_to_bcd(number), named=named, expiry=expiry,
                                   issue_date=issue_date or cardtime.day(START))


def issue(ledger, uid, number, kind="anonymous", face_value=50000, holder=None, expiry=0,
          programme="mofcom-compliant", buyer="individual"):
    """Sell and activate in the ledger, and make the matching card loaded with the face value."""
    ledger.cards.register_card("finance", uid, number, programme, kind, face_value)
    ledger.sales.record_sale("seller", number, holder=holder, buyer=buyer,
                       payment_method="cash" if face_value < 500000 else "bank_transfer")
    ledger.sales.confirm_payment("finance", number)
    ledger.sales.activate(number, "finance")
    ring = issuer_ring()
    card = factory.issued_card(h(uid), ring.for_card(h(uid), 1), identity(number, kind == "named", expiry),
                               cardtime.seconds(START))
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, ring, purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, keys, v))
    purse.commit(access, view, purse.plan_credit(view, face_value, purse.Policy(), cardtime.day(START), codec.TXN_LOAD),
                 cardtime.seconds(START))
    return card


def read(card, ring=None):
    """(balance, seq, expiry) as a store reader sees the card."""
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, ring or reader_ring())
    view = purse.recover(access, purse.read_card(access, keys, v))
    return view.balance, view.seq, view.expiry


def store_debit(ledger, card, number, amount, key, when=START):
    """A purchase at a store reader, synced to the ledger as its journal would be."""
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, reader_ring())
    view = purse.recover(access, purse.read_card(access, keys, v))
    plan = purse.plan_debit(view, amount, purse.Policy(), cardtime.day(when), 12345678, 1)
    purse.commit(access, view, plan, cardtime.seconds(when))
    ledger.books.book_redemption(number, amount, key, terminal="12345678")


def collected_purchase(ledger, uid, amount, number=1, terminal="12345678"):
    """A committed store debit of card `uid` in terminal `terminal`'s collected journal, record
    `number` (goods refunds name it: terminal + journal number)."""
    from icpurse.host import codec
    from icpurse.host.ledger.store import JournalRecordView

    if terminal not in {t.number for t in ledger.store.terminals()}:
        ledger.store.add_terminal("admin", terminal, "Store 1", "Example Retail")
    uid = uid if isinstance(uid, str) else bytes(uid).hex().upper()
    rec = JournalRecordView(terminal, number, codec.TXN_DEBIT, codec.JR_COMMITTED, 1, uid.upper(), 2, amount, 0,
                            number, 0, bytes([number % 256]) * 54)
    ledger.store.store_journal_records(terminal, [rec])
    return terminal, number
