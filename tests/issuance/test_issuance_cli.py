"""The issuance commands through click's CliRunner, on the in-process `sim` reader (its card is kept
as a .mfd file between commands): stock, personalise, show, sale, activation, recover --list,
readers; --json documents and the exit codes of host/cli.py (1 refused, 3 no reader, 4 card error,
5 differences)."""
import json

import pytest
from click.testing import CliRunner
from issuance_world import EXAMPLES, PW, setup_world

from icpurse.hil.sim import dumps
from icpurse.host.cli import main
from icpurse.host.ledger import open_ledger
from support.ledger import AUDIT_KEY
from icpurse.keys import demo, keystore
from support.clock import ManualClock

SIM_UID = "5E110001"  # the blank the sim reader makes in an empty state folder


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = "sqlite:///%s" % (tmp_path / "ledger.db")
    led = open_ledger(url, audit_key=AUDIT_KEY, clock=ManualClock())
    setup_world(led)
    led.close()
    for var in ("ICPURSE_READER", "ICPURSE_KEYSTORE", "ICPURSE_OPERATOR", "ICPURSE_DB", "ICPURSE_DATA_KEY",
                "ICPURSE_KEYSTORE_PASSPHRASE", "ICPURSE_PROGRAMME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", PW)
    return {"url": url, "sim": "sim:%s" % (tmp_path / "sim"), "dir": tmp_path}


def run(env, *args, operator="finance", keys=True, reader=True, expect=0):
    # every command recording to the ledger needs the audit key: the demo key set gives it (keys=False:
    # a command that needs no card keys, only that)
    argv = list(args) + ["--db", env["url"], "--operator", operator, "--keystore", "demo"]
    if reader:
        argv += ["--reader", env["sim"]]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    assert result.exit_code == expect, (argv, result.exit_code, result.stdout, result.stderr)
    return result


def doc(result):
    return json.loads(result.stdout)


def personalise_the_sim_card(env):
    run(env, "stock", "receive", "--batch", "B-1", "--scan", "--card-timeout", "0", "--json", keys=False)
    return doc(run(env, "card", "personalise", "--programme", "utility-payment", "--face-value", "20000", "--json"))


def test_from_blank_to_activated_card(env):
    received = doc(run(env, "stock", "receive", "--batch", "B-1", "--scan", "--card-timeout", "0", "--json",
                       keys=False))
    assert received == {"ok": True, "batch": "B-1", "received": 1, "uids": [SIM_UID]}
    out = doc(run(env, "card", "personalise", "--programme", "utility-payment", "--face-value", "20000", "--json"))
    assert out["ok"] and out["personalised"] == 1 and out["failed"] == 0
    (card,) = out["cards"]
    assert (card["uid"], card["card_number"], card["outcome"]) == (SIM_UID, "503110000001", "personalised")
    again = doc(run(env, "card", "personalise", "--programme", "utility-payment", "--face-value", "20000", "--json"))
    assert again["cards"][0]["outcome"] == "already-done"
    shown = doc(run(env, "card", "show", "--json"))
    # layout v2 (docs/card-layout.md): counter = generation 1 << 24, nothing debited; no on-card log
    assert shown["card_number"] == "503110000001" and shown["balance"] == 0 and shown["seq"] == 1 << 24
    assert shown["issuer"] == demo.DEMO_ISSUER and shown["layout_version"] == 2 and shown["log"] == []
    assert shown["ledger"]["state"] == "in_stock" and shown["ledger"]["personalisation"] == "done"
    text = run(env, "card", "show").stdout
    assert "503110000001" in text and "on-card log" in text
    run(env, "stock", "issue", "--point", "P1", "--uid", SIM_UID, keys=False, reader=False)
    sold = doc(run(env, "sale", "record", "503110000001", "--json", operator="seller", reader=False))
    assert sold["state"] == "recorded" and sold["amount"] == 20000 and sold["seller"] == "seller"
    # the seller cannot activate; nor before finance confirmed the payment
    refused = run(env, "sale", "activate", "503110000001", operator="seller", reader=False, expect=1)
    assert "another role" in refused.stderr
    refused = doc(run(env, "sale", "activate", "503110000001", "--json", operator="admin", reader=False, expect=1))
    assert refused["ok"] is False and "payment not confirmed" in refused["error"] and refused["exit_code"] == 1
    paid = doc(run(env, "sale", "confirm-payment", "503110000001", "--reference", "till 7", "--json",
                   reader=False))
    assert paid["state"] == "paid"
    # activation reads the card number from the card on the reader when none is given
    active = doc(run(env, "sale", "activate", "--json", operator="admin"))
    assert active == {"ok": True, "card_number": "503110000001", "state": "activated", "activated_by": "admin",
                      "card_balance": 20000}  # the face value booked at payment is now on the card
    assert doc(run(env, "card", "show", "--json"))["balance"] == 20000
    led = open_ledger(env["url"], audit_key=AUDIT_KEY)
    try:
        assert led.audit.verify_audit_log() is None
        actions = [e.action for e in led.audit.audit_entries(card="503110000001")]
        assert actions[:3] == ["card.register", "card.personalise.start", "card.personalise.done"]
        assert led.books.outstanding_balance("503110000001") == 20000
    finally:
        led.close()


def test_wrong_keystore_passphrase_is_refused_and_changes_nothing(env, monkeypatch):
    path = env["dir"] / "issuer.keystore"
    keystore.save_keystore(str(path), demo.demo_domain(), "the right passphrase", n=4)
    run(env, "stock", "receive", "--batch", "B-1", "--uid", SIM_UID, keys=False, reader=False)
    monkeypatch.setenv("ICPURSE_KEYSTORE_PASSPHRASE", "a wrong passphrase")
    argv = ["card", "personalise", "--programme", "utility-payment", "--face-value", "20000", "--keystore", str(path),
            "--db", env["url"], "--operator", "finance", "--reader", env["sim"], "--json"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"].startswith("wrong keystore passphrase")
    led = open_ledger(env["url"], audit_key=AUDIT_KEY)
    try:
        assert led.personalisation_records.personalisation(SIM_UID) is None and led.cards.card_by_uid(SIM_UID) is None
    finally:
        led.close()
    monkeypatch.setenv("ICPURSE_KEYSTORE_PASSPHRASE", "the right passphrase")
    ok = CliRunner().invoke(main, argv)
    assert ok.exit_code == 0 and json.loads(ok.stdout)["cards"][0]["card_number"] == "503110000001"


def test_wrong_operator_password_is_refused(env, monkeypatch):
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", "not it")
    result = run(env, "stock", "receive", "--batch", "B-1", "--uid", SIM_UID, keys=False, reader=False, expect=1)
    assert "wrong operator name or password" in result.stderr


def test_a_wrong_type_card_exits_4_with_the_reason(env):
    run(env, "stock", "receive", "--batch", "B-1", "--uid", SIM_UID, keys=False, reader=False)
    out = run(env, "card", "personalise", "--programme", "utility-payment", "--face-value", "20000",
              "--card-type", "4k", "--json", expect=4)
    (card,) = doc(out)["cards"]
    assert card["outcome"] == "refused" and "issues on 4K cards" in card["message"]
    table = run(env, "card", "personalise", "--programme", "utility-payment", "--face-value", "20000",
                "--card-type", "4k", expect=4)
    assert "refused" in table.stdout and "0 of 1 card(s) personalised" in table.stdout


def test_a_violating_programme_needs_an_override_reason(env):
    run(env, "stock", "receive", "--batch", "B-1", "--uid", SIM_UID, keys=False, reader=False)
    args = ["card", "personalise", "--programme", "company-store", "--programmes",
            str(EXAMPLES / "company-store-card.toml"), "--face-value", "200000"]
    refused = run(env, *args, operator="admin", expect=1)
    assert "breaks the mofcom profile" in refused.stderr and "override" in refused.stderr
    ok = doc(run(env, *args, "--override-reason", "legacy stock, ticket 42", "--json", operator="admin"))
    assert ok["cards"][0]["outcome"] == "personalised"


def test_exit_codes_no_reader_and_card_show_of_a_blank(env):
    no_reader = run(env, "card", "show", "--reader", "serial:/dev/no-such-port", reader=False, expect=3)
    assert "cannot open reader" in no_reader.stderr
    blank = doc(run(env, "card", "show", "--json", expect=4))
    assert blank["ok"] is False and blank["status"] == "unreadable" and "not an icpurse card" in blank["message"]


def test_recover_list_and_stock_count_differences(env):
    listed = doc(run(env, "card", "recover", "--list", "--json", reader=False))
    assert listed == {"ok": True, "half_done": []}
    run(env, "stock", "receive", "--batch", "B-1", "--uid", "04A1B2C3", "--uid", "04A1B2C4", keys=False,
        reader=False)
    count = doc(run(env, "stock", "count", "--scan", "--uid", "04A1B2C3", "--card-timeout", "0", "--json",
                    keys=False, expect=5))
    assert count["ok"] is False and count["missing"] == ["04A1B2C4"] and count["unknown"] == [SIM_UID]
    clean = run(env, "stock", "count", "--uid", "04A1B2C3", "--uid", "04A1B2C4", keys=False, reader=False)
    assert "no differences" in clean.stdout


def test_recover_finishes_the_card_on_the_reader(env):
    personalise_the_sim_card(env)
    out = doc(run(env, "card", "recover", "--json"))
    assert out["ok"] and out["card_number"] == "503110000001"
    assert out["actions"] == ["nothing to recover: the card is consistent"]


def test_readers_lists_the_sim_reader():
    result = CliRunner().invoke(main, ["readers", "--json"])
    assert result.exit_code == 0
    assert {"spec": "sim", "description": "in-process virtual rig, a card hopper (no hardware)"} in json.loads(result.stdout)["readers"]


def test_help_texts_explain():
    for argv in (["stock", "--help"], ["card", "personalise", "--help"], ["card", "recover", "--help"],
                 ["sale", "activate", "--help"], ["stock", "count", "--help"]):
        result = CliRunner().invoke(main, argv)
        assert result.exit_code == 0 and ("--json" in result.output or "Commands" in result.output)
    assert "another role" in CliRunner().invoke(main, ["sale", "--help"]).output


def test_the_sim_card_keeps_the_personalisation_between_commands(env):
    personalise_the_sim_card(env)
    card = dumps.load(str(env["dir"] / "sim" / "card.mfd"))
    assert card.uid.hex().upper() == SIM_UID and bytes(card.blocks[3]) != b"\xff" * 6 + bytes.fromhex("ff078069") + b"\xff" * 6


def test_a_named_card_sale_needs_real_name_capture(env):
    run(env, "stock", "receive", "--batch", "B-1", "--uid", SIM_UID, keys=False, reader=False)
    out = doc(run(env, "card", "personalise", "--programme", "mofcom-compliant", "--kind", "named",
                  "--face-value", "50000", "--json"))
    number = out["cards"][0]["card_number"]
    run(env, "stock", "issue", "--point", "P1", "--uid", SIM_UID, keys=False, reader=False)
    refused = run(env, "sale", "record", number, operator="seller", reader=False, expect=1)
    assert "real-name capture required" in refused.stderr and "--holder-name" in refused.stderr
    sold = doc(run(env, "sale", "record", number, "--holder-name", "Li Si", "--holder-id", "11010519491231002X",
                   "--json", operator="seller", reader=False))
    assert sold["state"] == "recorded"
    stored = b"".join(f.read_bytes() for f in env["dir"].glob("ledger.db*"))  # with the WAL
    assert b"Li Si" in stored and b"11010519491231002X" not in stored  # the ID number only encrypted
    led = open_ledger(env["url"], audit_key=AUDIT_KEY)
    try:
        assert led.cards.card(number).holder_name == "Li Si"
    finally:
        led.close()
