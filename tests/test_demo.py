"""`icpurse demo` (= `make demo`): the day runs end to end, nothing is lost, the rollback is caught,
and the HTML report renders in headless Chromium."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from icpurse.firmware import codec
from icpurse.host.cli import main
from icpurse.host.ledger import open_ledger
from support.ledger import AUDIT_KEY
from icpurse.hil.demo import DATA_KEY


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "state"
    result = CliRunner().invoke(main, ["demo", "--dir", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output[result.output.index("{"):])


def test_the_day_balances_and_the_rollback_is_caught(demo_run):
    out, summary = demo_run
    assert summary["nothing_lost"] and summary["books_add_up"] and summary["honest_cards_match_ledger"]
    assert summary["rollback_detected"] and summary["rolled_back_card_refused"]
    assert any("pulled during the write" in e for e in summary["events"])
    assert summary["v1_card_migrated"] and summary["v1_card"]
    # independent checks on the state the demo left behind
    led = open_ledger("sqlite:///%s" % (out / "ledger.db"), audit_key=AUDIT_KEY, data_key=DATA_KEY)
    try:
        assert led.audit.verify_audit_log() is None and not led.books.unbalanced_entries()
        assert led.migration_records.migration_journal(summary["v1_card"]).state == "done"
        assert [e.card_number for e in led.blacklist.blacklist_entries()] == [summary["rolled_back_card"]]
        debits = [r for r in led.store.journal_records() if r.state == codec.JR_COMMITTED and r.kind == codec.TXN_DEBIT]
        assert {r.terminal for r in debits} == {"31000001", "31000002"} and len(debits) > 40
    finally:
        led.close()
    assert len(list((out / "cards").glob("*.mfd"))) == summary["cards"]
    assert (out / "demo-keystore.json").exists() and (out / "summary.json").exists()


def test_a_second_demo_refuses_a_used_folder(demo_run):
    out, _ = demo_run
    result = CliRunner().invoke(main, ["demo", "--dir", str(out)])
    assert result.exit_code == 2 and "not empty" in result.output


def test_the_report_renders_in_headless_chromium(demo_run, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium not installed (Debian package chromium; `make test` installs it)")
    out, summary = demo_run
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--user-data-dir=%s" % tmp_path, "--dump-dom", (out / "report.html").resolve().as_uri()],
        capture_output=True, text=True, timeout=90).stdout
    assert "<title>icpurse demo report</title>" in dom
    for text in ("Daily cut-off report", "Outstanding prepaid balance", "Volumes by terminal",
                 "Reconciliation report", "31000001", "31000002"):
        assert text in dom, text
    assert dom.count("<svg") >= 2  # daily volume and outstanding balance charts
    outstanding = summary["outstanding_fen"]
    assert "%d.%02d" % (outstanding // 100, outstanding % 100) in dom.replace(",", "")
