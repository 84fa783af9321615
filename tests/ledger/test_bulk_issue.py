"""The bench's bulk issue (host/ledger/bulk_issue.py) writes exactly what the API path writes: every
table of a ledger set up card by card through the API equals, row by row, that of a ledger set up
by `sell_cards` (the same fixed clock, the same operators); the audit chain and the seal verify."""
import datetime as dt
import shutil

import pytest
from sqlalchemy import MetaData, create_engine, select

from icpurse.host.ledger import open_ledger
from icpurse.host.ledger.bulk_issue import sell_cards
from icpurse.host.ledger.errors import InvalidStateError
from support.ledger import AUDIT_KEY, DATA_KEY, example, staff

FACE = 100000
WHEN = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


def _ledger(url, uids):
    led = open_ledger(url, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=lambda: WHEN)
    staff(led, [("seller", "seller"), ("finance", "finance")])
    led.programmes.register_programme("admin", example("mofcom-compliant.toml"))
    led.stock.add_sales_point("admin", "P1", "Bench")
    led.stock.receive_stock("finance", "CITY", uids)
    led.stock.issue_to_point("finance", uids, "P1")
    return led


def _dump(url):
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        out = {name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
               for name, t in meta.tables.items()}
    engine.dispose()
    return out


def _cards(n):
    return [("04%06X" % i, "5031%08d" % i) for i in range(1, n + 1)]


def test_bulk_issue_writes_the_rows_of_the_api_path(tmp_path):
    cards = _cards(7)
    uids = [u for u, _ in cards]
    api_url, bulk_url = "sqlite:///%s" % (tmp_path / "api.db"), "sqlite:///%s" % (tmp_path / "bulk.db")
    _ledger(api_url, uids).close()
    shutil.copyfile(tmp_path / "api.db", tmp_path / "bulk.db")  # the same operators (password hashes are salted)
    api = open_ledger(api_url, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=lambda: WHEN)
    for uid, number in cards:
        api.cards.register_card("finance", uid, number, "mofcom-compliant", "anonymous", FACE)
        api.sales.record_sale("seller", number)
        api.sales.confirm_payment("finance", number)
        api.sales.activate(number, "finance")
    api.close()
    bulk = open_ledger(bulk_url, data_key=DATA_KEY, audit_key=AUDIT_KEY, clock=lambda: WHEN)
    assert sell_cards(bulk, cards, "mofcom-compliant", FACE, finance="finance", seller="seller",
                      activator="finance") == 7
    assert bulk.audit.verify_audit_log() is None
    assert bulk.books.outstanding_balance() == 7 * FACE
    assert bulk.cards.card("503100000003").state == "activated"
    bulk.close()
    a, b = _dump(api_url), _dump(bulk_url)
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], name
    assert len(a["audit_log"]) > 4 * 7 and len(a["postings"]) == 2 * 7


def test_bulk_issue_on_top_of_earlier_cards_keeps_the_chain(ledger_url):
    """On SQLite and PostgreSQL (ids from the sequences there): API, bulk, API again."""
    cards = _cards(6)
    led = _ledger(ledger_url, [u for u, _ in cards])
    led.cards.register_card("finance", cards[0][0], cards[0][1], "mofcom-compliant", "anonymous", FACE)
    led.sales.record_sale("seller", cards[0][1])
    led.sales.confirm_payment("finance", cards[0][1])
    led.sales.activate(cards[0][1], "finance")
    sell_cards(led, cards[1:3], "mofcom-compliant", FACE, finance="finance", seller="seller", activator="finance")
    led.cards.register_card("finance", cards[3][0], cards[3][1], "mofcom-compliant", "anonymous", FACE)
    led.sales.record_sale("seller", cards[3][1])
    led.sales.confirm_payment("finance", cards[3][1])
    led.sales.activate(cards[3][1], "finance")
    assert led.audit.verify_audit_log() is None
    assert led.books.outstanding_balance() == 4 * FACE
    assert [led.cards.card(n).state for _, n in cards[:4]] == ["activated"] * 4
    led.close()


def test_bulk_issue_refuses_and_writes_nothing(tmp_path):
    cards = _cards(3)
    led = _ledger("sqlite:///%s" % (tmp_path / "l.db"), [u for u, _ in cards])
    before = led.audit.audit_head()
    with pytest.raises(InvalidStateError):  # a number given twice
        sell_cards(led, [cards[0], (cards[1][0], cards[0][1])], "mofcom-compliant", FACE, finance="finance",
                   seller="seller", activator="finance")
    with pytest.raises(InvalidStateError):  # no such face value
        sell_cards(led, cards[:1], "mofcom-compliant", 123, finance="finance", seller="seller", activator="finance")
    with pytest.raises(InvalidStateError):  # not a stock card
        sell_cards(led, [("04FFFFFF", "503199999999")], "mofcom-compliant", FACE, finance="finance",
                   seller="seller", activator="finance")
    assert led.audit.audit_head() == before
    assert led.books.outstanding_balance() == 0
    led.close()
