"""`icpurse report ...` on the report world's ledger."""
import csv
import io
import json

from click.testing import CliRunner

import reports_world as w
from icpurse.host.cli import main


def run(*args):
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def test_daily_json(world):
    code, out = run("report", "daily", "--db", "sqlite:///%s" % world, "--date", "2026-03-03", "--json")
    assert code == 0, out
    (doc,) = json.loads(out)
    summary = {s["label"]: s["value"] for s in doc["summary"]}
    assert summary["Closing outstanding balance"] == w.EXPECT_D2["closing"]
    assert summary["Store purchase volume"] == 20000


def test_volumes_csv_has_exact_fen_and_yuan(world, tmp_path):
    path = tmp_path / "volumes.csv"
    code, out = run("report", "volumes", "--db", "sqlite:///%s" % world, "--csv", str(path))
    assert code == 0, out
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: spreadsheet programs read the Chinese right
    lines = [l for l in raw.decode("utf-8-sig").splitlines()]
    start = lines.index(next(l for l in lines if l.startswith("# ") and "Per terminal" in l))
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[start + 1:start + 5]))))
    t1 = next(r for r in rows if r["terminal"] == w.T1)
    assert (t1["purchases"], t1["purchase_amount_fen"], t1["purchase_amount_yuan"]) == ("3", "26000", "260.00")
    assert (t1["topup_amount_fen"], t1["topup_amount_yuan"]) == ("30000", "300.00")


def test_reconciliation_exit_code_and_html_page(world, tmp_path):
    code, out = run("report", "reconciliation", "--db", "sqlite:///%s" % world, "--keystore", "demo")
    assert "Exception list" in out
    assert code == (5 if "rollback" in out else 0)  # an open finding is an integrity problem (exit 5)
    page = tmp_path / "all.html"
    code, out = run("report", "html", str(page), "--db", "sqlite:///%s" % world, "--date", "2026-03-04")
    assert code == 0, out
    text = page.read_text(encoding="utf-8")
    assert "<title>icpurse 报表 report 2026-03-04</title>" in text
    assert text.count('class="bar"') == 14 and 'class="trend"' in text
