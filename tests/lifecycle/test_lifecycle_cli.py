"""`icpurse holder ...` end to end on the in-process sim reader (--reader sim:DIR) with the demo keys."""
import json

import pytest
from click.testing import CliRunner

import lifecycle_world as w
from icpurse.firmware import purse
from icpurse.hil.sim import dumps
from icpurse.hil.sim.tag import CardTag
from icpurse.host.cli import main
from icpurse.host.clikit.session import Session
from icpurse.host.ledger import open_ledger
from support.ledger import AUDIT_KEY
from icpurse.host.programmes import load_programmes
from icpurse.keys import demo, exports

LOST = "500000000001"
SIM_UID = "5E110001"  # the blank card the sim reader makes in an empty state folder


@pytest.fixture
def counter_world(tmp_path, monkeypatch):
    db = "sqlite:///%s" % (tmp_path / "ledger.db")
    led = open_ledger(db, audit_key=AUDIT_KEY, data_key=Session(keystore="demo").data_key())
    led.people.add_operator("admin", w.PW, "issuer-admin")
    led.people.add_operator("admin2", w.PW, "issuer-admin", by="admin")  # the bootstrap's second admin
    for name, role in (("seller", "seller"), ("finance", "finance")):
        led.people.add_operator(name, w.PW, role, by="admin")
        led.people.approve_operator("admin2", name)  # four eyes
    (prog,) = load_programmes(w.EXAMPLES / "mofcom-compliant.toml")
    led.programmes.register_programme("admin", prog)
    led.stock.add_sales_point("admin", "P1", "Counter 1")
    led.stock.receive_stock("finance", "B-1", [w.UIDS[0], SIM_UID])
    led.stock.issue_to_point("finance", [w.UIDS[0], SIM_UID], "P1")
    led.cards.register_card("finance", w.UIDS[0], LOST, "mofcom-compliant", "named", 200000)
    led.sales.record_sale("seller", LOST, holder=w.HOLDER)
    led.sales.confirm_payment("finance", LOST)
    led.sales.activate(LOST, "finance")
    led.close()
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", w.PW)
    monkeypatch.delenv("ICPURSE_DB", raising=False)
    monkeypatch.delenv("ICPURSE_DATA_KEY", raising=False)
    return db, tmp_path / "sim"


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_lost_and_replace_from_the_command_line(counter_world):
    db, sim = counter_world
    code, out = run("holder", "lost", LOST, "--id-number", "110105194912310011", "--db", db, "--operator", "finance",
                    "--keystore", "demo")
    assert code == 1 and "refused" in out and "not the registered holder" in out
    code, out = run("holder", "lost", LOST, "--id-number", w.HOLDER.id_number, "--db", db, "--operator", "finance",
                    "--keystore", "demo", "--json")
    assert code == 0, out
    doc = json.loads(out[out.index("{"):])  # after the demo-keys warning on stderr
    assert (doc["ledger_balance"], doc["blacklist_version"]) == (200000, 1)
    code, out = run("holder", "replace", LOST, "--id-number", w.HOLDER.id_number, "--db", db, "--operator",
                    "finance", "--keystore", "demo", "--reader", "sim:%s" % sim, "--json")
    assert code == 0, out
    doc = json.loads(out[out.index("{"):])
    assert doc["amount"] == 200000 and doc["old_card"] == LOST
    card = dumps.load(str(sim / "card.mfd"))
    ring = exports.workstation_keyset(demo.demo_domain()).to_keyring()
    access, keys, v = purse.open_card(CardTag(card), ring, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    assert view.balance == 200000
    led = open_ledger(db, audit_key=AUDIT_KEY, data_key=Session(keystore="demo").data_key())
    try:
        assert led.books.outstanding_balance(doc["new_card"]) == 200000 and led.books.outstanding_balance(LOST) == 0
        assert led.cards.card(doc["new_card"]).holder_name == "Zhang San"
    finally:
        led.close()
    # a redemption over the cash limit is refused with a clear message and exit code 1
    code, out = run("holder", "redeem", doc["new_card"], "--returner-name", "Zhang San", "--returner-id",
                    w.HOLDER.id_number, "--db", db, "--operator", "finance", "--keystore", "demo",
                    "--reader", "sim:%s" % sim)
    assert code == 1 and "over the cash limit of 100 yuan" in out
