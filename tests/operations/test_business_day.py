"""A whole gift-card and kiosk business day on a fresh ledger, through the `icpurse` command only
(subprocesses; the virtual rig: the `--reader sim` card hopper at the counters and the store reader
firmware on a pty): operators, programme, sales point, stock, personalisation, sale with the
records the rules require, payment and activation, a kiosk top-up after sign-in, a refund after the
cut-off with four eyes, a purchase at a store reader driven from the till, journal collection and
day close, reconciliation, a goods refund tied to that purchase, the clearing house's 对账 and the
reports."""
import os
import re
import shutil
import signal
import subprocess

from conftest import ICPURSE
from icpurse.hil.sim import dumps

PROGRAMMES = os.path.join(os.path.dirname(ICPURSE), "..", "..", "host", "programmes", "examples",
                          "mofcom-compliant.toml")
UIDS = ["5E110001", "5E110002", "5E110003"]


def _programmes_file():
    from icpurse.host.programmes import examples

    return os.path.join(os.path.dirname(examples.__file__), "mofcom-compliant.toml")


def _card_balance(icp, name):
    """The balance of a hopper card, read through `card show` (the issuer's keys)."""
    icp.run("sim", "hopper", "present", name)
    doc = icp.json("card", "show", "--operator", "finance")
    return doc["balance"]


def _start_store_reader(state):
    proc = subprocess.Popen([ICPURSE, "sim", "reader", "--pty", "--card", "1k:5e110001", "--state", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    first = proc.stdout.readline().split()
    second = proc.stdout.readline().split()
    assert first[0] == "reader" and second[0] == "control", (first, second, proc.stderr.read())
    return proc, first[1]


def test_a_fresh_ledger_through_a_whole_business_day(icp, tmp_path):
    # --- set-up: the ledger, its people, the programme, a sales point ---------------------------------
    assert icp.json("report", "daily", expect=2)["error"].startswith("no ledger at")  # nothing made up
    assert icp.json("ledger", "init")["created"] is True
    icp.run("operator", "add", "admin", "--role", "issuer-admin")
    icp.run("operator", "add", "admin2", "--role", "issuer-admin", "--operator", "admin")  # the bootstrap's second
    for name, role in (("seller", "seller"), ("finance", "finance"), ("clerk", "terminal-operator"),
                       ("auditor", "auditor")):
        icp.run("operator", "add", name, "--role", role, "--operator", "admin")
        icp.run("operator", "approve", name, "--operator", "admin2")  # four eyes over operators
    icp.run("operator", "passwd", "--operator", "clerk")  # own password (the same one again, from the env)
    reset = icp.json("operator", "passwd", "--reset", "auditor", "--reason", "forgotten", "--operator", "admin")
    assert reset["pending"] == "password"  # an admin's reset waits for a second admin
    icp.json("operator", "approve", "auditor", "--operator", "admin", expect=1)  # not the admin who asked
    icp.run("operator", "approve", "auditor", "--operator", "admin2")
    programmes = _programmes_file()
    assert icp.json("programme", "check", programmes)["programmes"][0]["ok"] is True
    icp.run("programme", "register", programmes, "--operator", "admin")
    icp.json("salespoint", "add", "SP-01", "--name", "Main store counter", "--operator", "admin")
    assert [p["code"] for p in icp.json("salespoint", "list")["salespoints"]] == ["SP-01"]

    # --- stock and personalisation (the hopper: one blank on the reader, two waiting) -----------------
    icp.json("sim", "hopper", "list")
    icp.json("sim", "hopper", "add", "--blanks", "2")
    icp.json("stock", "receive", "--batch", "B-1", *sum((["--uid", u] for u in UIDS), []), "--operator", "finance")
    icp.json("stock", "issue", "--point", "SP-01", *sum((["--uid", u] for u in UIDS), []), "--operator", "finance")
    doc = icp.json("card", "personalise", "--programme", "mofcom-compliant", "--kind", "anonymous",
                   "--face-value", "50000", "--count", "3", "--operator", "finance")
    cards = [c["card_number"] for c in doc["cards"]]
    assert doc["personalised"] == 3 and len(set(cards)) == 3
    first = cards[0]

    # --- sale: a non-cash payment names the payer's account; payment; activation ----------------------
    refused = icp.json("sale", "record", first, "--payment", "bank_transfer", "--operator", "seller", expect=1)
    assert "payer's account" in refused["error"]
    icp.json("sale", "record", first, "--payment", "bank_transfer", "--payer-account", "Li Si 6222 0202 0000 1234",
             "--operator", "seller")
    icp.json("sale", "confirm-payment", first, "--reference", "BANK-0001", "--operator", "finance")
    icp.run("sim", "hopper", "present", "card")
    assert icp.json("sale", "activate", first, "--operator", "finance")["card_balance"] == 50000

    # --- the kiosk: registered without a device, signs in, takes a top-up ------------------------------
    icp.json("terminal", "register-kiosk", "31000001", "--outlet", "Kiosk Hall", "--merchant", "Example Retail",
             "--operator", "admin")
    not_yet = icp.json("topup", first, "10000", "--terminal", "31000001", "--operator", "clerk", expect=1)
    assert "signed in" in not_yet["error"]
    icp.json("terminal", "sign-in", "31000001", "--operator", "clerk")
    out = icp.json("topup", first, "10000", "--terminal", "31000001", "--txn", "K-1", "--operator", "clerk")
    assert out["outcomes"][0]["state"] == "confirmed" and out["outcomes"][0]["card_balance"] == 60000

    # --- after the cut-off: no void, a refund with four eyes, written to the card ----------------------
    icp.json("cutoff", "set", "00:00", "--outlet", "Kiosk Hall", "--operator", "admin")  # the day has passed it
    assert "cut-off" in icp.json("topup", "void", "K-1", "--operator", "clerk", expect=1)["error"]
    req = icp.json("topup", "refund", "K-1", "2000", "--reason", "customer paid too much", "--operator", "clerk")
    adj = req["adjustment"]["id"]
    icp.json("topup", "approve", adj, "--operator", "clerk", expect=1)  # not the requester, and not a clerk
    icp.json("topup", "approve", adj, "--operator", "finance")
    applied = icp.json("topup", "apply", adj, "--operator", "clerk")
    assert applied["outcomes"][0]["state"] == "confirmed" and applied["outcomes"][0]["card_balance"] == 58000

    # --- a store reader at the till: provision, sign in, sell, collect, day close ---------------------
    store = tmp_path / "store-reader"
    (store / "cards").mkdir(parents=True)
    shutil.copy(icp.hopper / "card.mfd", store / "cards" / "5e110001.mfd")
    proc, pty = _start_store_reader(store)
    try:
        icp.json("terminal", "provision", "10000001", "--outlet", "Store 1", "--merchant", "Example Retail",
                 "--port", pty, "--operator", "admin")
        icp.json("terminal", "sign-in", "10000001", "--port", pty, "--operator", "clerk")
        sold = icp.json("reader", "sell", "1250", "--port", pty, "--ref", "4711")
        assert sold["card_number"] == first and sold["amount"] == 1250 and sold["balance"] == 56750
        journal = sold["journal_number"]
        icp.json("terminal", "collect", "10000001", "--port", pty, "--operator", "clerk")
        closed = icp.json("terminal", "day-close", "10000001", "--port", pty, "--operator", "clerk")
        assert closed["ok"] and (closed["reader_count"], closed["reader_sum"]) == (1, 1250)
        # the same reader switched to issuance use: the host reads the card through it
        assert icp.json("reader", "mode", "issuance", "--port", pty, "--operator", "clerk")["transparent"] is True
        shown = icp.json("card", "show", "--reader", "serial:%s" % pty, "--operator", "finance")
        assert (shown["card_number"], shown["balance"]) == (first, 56750)
        icp.json("reader", "mode", "store", "--port", pty, "--operator", "clerk")
        icp.json("terminal", "disable", "10000001", "--reason", "end of day", "--operator", "admin")
        refused = icp.json("terminal", "sign-in", "10000001", "--port", pty, "--operator", "clerk", expect=1)
        assert "disabled" in refused["error"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    card = dumps.load(str(store / "cards" / "5e110001.mfd"))
    shutil.copy(store / "cards" / "5e110001.mfd", icp.hopper / "card.mfd")  # the card comes back
    assert card.uid.hex().upper() == "5E110001"

    # --- reconciliation, then a goods refund tied to the purchase -------------------------------------
    icp.run("reconcile", "run", "--json", "--operator", "auditor")  # the auditor signs in with the reset password
    icp.run("sim", "hopper", "present", "card")
    too_much = icp.json("holder", "refund-goods", first, "2000", "--receipt", "R-1", "--terminal", "10000001",
                        "--journal", journal, "--operator", "finance", expect=1)
    assert "exceed" in too_much["error"]
    icp.json("holder", "refund-goods", first, "500", "--receipt", "R-1", "--terminal", "10000001",
             "--journal", journal, "--operator", "finance")
    assert _card_balance(icp, "card") == 56750 + 500

    # --- the clearing house's 对账: one short item, resolved with an audited action -------------------
    day = icp.json("ledger", "info")["business_date"]
    csv_path = tmp_path / "clearing.csv"
    csv_path.write_text("txn_id,terminal,card_number,amount_fen,time\r\nK-1,31000001,%s,10000,09:00\r\n"
                        "K-X,31000001,%s,3000,09:30\r\n" % (first, first), encoding="utf-8-sig")
    imported = icp.json("clearing", "import", csv_path, "--date", day, "--operator", "finance", expect=5)
    (item,) = imported["open_items"]
    assert (item["kind"], item["txn_id"], item["their_amount"]) == ("short", "K-X", 3000)
    icp.json("clearing", "resolve", item["id"], "--action", "ours-correct", "--reason", "not our kiosk's sale; "
             "clearing house ticket CH-77", "--operator", "finance")
    assert icp.json("clearing", "list", "--status", "open")["items"] == []

    # --- the reports and the audit log -----------------------------------------------------------------
    (daily,) = icp.json("report", "daily", "--operator", "finance")
    assert daily["meta"]["issuer"].startswith("Example Retail Group")
    summary = {s["label"]: s["value"] for s in daily["summary"]}
    assert summary["Store purchase volume"] == 1250
    page = tmp_path / "report.html"
    icp.run("report", "html", page, "--operator", "finance")
    html = page.read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "日切" in html and "审核 Approved by" in html
    seq = re.search(r'id="audit-head">([0-9a-f]{64})<', html)
    assert seq, "the audit head is on the page"
    icp.run("report", "daily", "--xlsx", tmp_path / "daily.xlsx", "--csv", tmp_path / "daily.csv")
    assert (tmp_path / "daily.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "daily.xlsx")["daily"]
    assert any("元" in str(c.value) for row in ws.iter_rows() for c in row)
    icp.run("audit", "log", "verify")
