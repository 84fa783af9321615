"""A small issuer history for report tests. Every figure the tests expect is written down here
from the operations performed, not read back from the code under test."""
import datetime as dt

from icpurse.host.ledger import HolderInfo, open_ledger
from icpurse.host.programmes.model import loads_programmes
from support.clock import ManualClock
from support.ledger import AUDIT_KEY, DATA_KEY, PW, example
CST = dt.timezone(dt.timedelta(hours=8))
T1, T2 = "10000001", "10000002"
A, B, C = "500000000001", "500000000002", "500000000003"
D1, D2, D3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)
Q2_DAY = dt.date(2026, 4, 10)
AFTER = dt.datetime(2026, 4, 10, 12, 0, tzinfo=CST)  # "now" for the reports

PBOC = """
[[programme]]
id = "pboc-multi"
name = "Multi-purpose card (PBOC)"
issuer = "Example Payment Co"
profile = "pboc"
kinds = ["anonymous"]
[programme.anonymous]
face_values = [50000]
validity = { years = 3 }
"""

# --- the expectations, by hand ---
SALES = {A: 50000, B: 100000, C: 50000}
PURCHASES = [  # (local time, card, terminal, fen)
    (dt.datetime(2026, 3, 2, 11, 0, tzinfo=CST), A, T1, 1000),
    (dt.datetime(2026, 3, 2, 15, 0, tzinfo=CST), A, T2, 2500),
    (dt.datetime(2026, 3, 3, 9, 30, tzinfo=CST), B, T1, 20000),
    (dt.datetime(2026, 3, 3, 23, 30, tzinfo=CST), A, T2, 700),  # after the 23:00 cut-off: business day D3
    (dt.datetime(2026, 4, 10, 10, 0, tzinfo=CST), B, T1, 5000),
]
TOPUP = (dt.datetime(2026, 3, 4, 10, 0, tzinfo=CST), B, T1, 30000)
DISCREPANCY = (dt.datetime(2026, 3, 4, 16, 0, tzinfo=CST), A, 300)  # unexplained: lowers A's ledger balance
EXPECT_D1_PURCHASES = (2, 3500)
EXPECT_D2 = dict(opening=200000 - 3500, purchases=(1, 20000), closing=200000 - 3500 - 20000)
EXPECT_D3_PURCHASES = (1, 700)
# outstanding at the end of Q1, by programme (custody basis for Q2)
EXPECT_Q1_END = {"mofcom-compliant": 50000 + 100000 - 1000 - 2500 - 20000 - 700 + 30000 - 300, "pboc-multi": 50000}
EXPECT_Q2_CUSTODY = {"mofcom-compliant": 46650, "pboc-multi": None}  # 30 % (group issuer) of 1,555.00 yuan
EXPECT_NOW = {"mofcom-compliant": 155500 - 5000, "pboc-multi": 50000}
EXPECT_TERMINALS = {T1: (3, 26000, 1, 30000), T2: (2, 3200, 0, 0)}


def open_world(path, clock=None):
    return open_ledger("sqlite:///%s" % path, audit_key=AUDIT_KEY, data_key=DATA_KEY, clock=clock or ManualClock(AFTER))


def build(path):
    clock = ManualClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    led = open_world(path, clock)
    try:
        led.people.add_operator("admin", PW, "issuer-admin")
        led.people.add_operator("admin2", PW, "issuer-admin", by="admin")  # the bootstrap's second admin
        for name, role in (("seller", "seller"), ("finance", "finance")):
            led.people.add_operator(name, PW, role, by="admin")
            led.people.approve_operator("admin2", name)  # four eyes
        led.programmes.register_programme("admin", example("mofcom-compliant.toml"))
        (pboc,) = loads_programmes(PBOC)
        led.programmes.register_programme("admin", pboc)
        led.store.add_terminal("admin", T1, "Outlet 1", "Shop A")
        led.store.add_terminal("admin", T2, "Outlet 2", "Shop B")
        uids = ["04A1B2C3D4E5%02X" % i for i in (1, 2, 3)]
        led.stock.receive_stock("finance", "B-1", uids)
        led.stock.add_sales_point("admin", "P1", "Counter 1")
        led.stock.issue_to_point("finance", uids, "P1")
        for uid, number, prog, kind, holder in (
                (uids[0], A, "mofcom-compliant", "anonymous", None),
                (uids[1], B, "mofcom-compliant", "named", HolderInfo("Zhang San", "11010519491231002X")),
                (uids[2], C, "pboc-multi", "anonymous", None)):
            led.cards.register_card("finance", uid, number, prog, kind, SALES[number])
            led.sales.record_sale("seller", number, holder=holder)
            led.sales.confirm_payment("finance", number)
            led.sales.activate(number, "finance")
        for i, (when, card, term, fen) in enumerate(PURCHASES):
            if i == 4:  # the top-up and the discrepancy happen on D3, before the Q2 purchase
                _topup_and_discrepancy(led, clock)
            clock.t = when
            led.books.book_redemption(card, fen, "%s:%d" % (term, i + 1), terminal=term)
        if hasattr(led.store, "add_exception"):
            clock.t = dt.datetime(2026, 3, 4, 17, 0, tzinfo=CST)
            led.store.add_exception("rollback:%s:1" % A, "rollback", "card %s counter went back from 5 to 3" % A,
                              card_number=A, amount=300, evidence={"seq": [5, 3]}, proposal="blacklist")
    finally:
        led.close()


def _topup_and_discrepancy(led, clock):
    when, card, term, fen = TOPUP
    clock.t = when
    led.topup_records.book_topup_pending(card, fen, "T-1", operator="seller", terminal=term,
                                         holder_id_number="11010519491231002X")  # card B is named
    led.topup_records.book_topup_confirm("T-1", card_seq=3)
    when, card, fen = DISCREPANCY
    clock.t = when
    led.books.book_discrepancy(card, fen, "recon:1", "balance the ledger cannot explain")
