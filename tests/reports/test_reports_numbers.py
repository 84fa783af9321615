"""Report figures against the hand-computed expectations in reports_world.py."""
import datetime as dt

import pytest

import reports_world as w
from icpurse.host.reports import build
from icpurse.host.reports.cells import cell_text
from icpurse.host.reports.periods import business_day


def table(report, table_id):
    (t,) = [t for t in report.tables if t.id == table_id]
    return t


def summary(report, label):
    (v,) = [v for l, v, _ in report.summary if l == label]
    return v


def test_money_cells_are_formatted_from_integer_fen():
    assert cell_text(123456, "money") == "1,234.56"
    assert cell_text(-5, "money") == "-0.05"
    assert cell_text(0, "money") == "0.00"
    assert cell_text(100000000001, "money") == "1,000,000,000.01"
    assert cell_text(123456, "money", plain=True) == "1234.56"  # CSV
    assert cell_text(None, "money") == "-" and cell_text(None, "money", plain=True) == ""
    with pytest.raises(TypeError):
        cell_text(1.5, "money")


def test_business_day_ends_at_the_cut_off():
    cst, cut = w.CST, dt.time(23, 0)
    assert business_day(dt.datetime(2026, 3, 3, 22, 59, tzinfo=cst), cst, cut) == w.D2
    assert business_day(dt.datetime(2026, 3, 3, 23, 0, tzinfo=cst), cst, cut) == w.D3
    assert business_day(dt.datetime(2026, 3, 3, 15, 30, tzinfo=dt.timezone.utc), cst, cut) == w.D3  # 23:30 CST


def test_daily_cut_off_report(facts):
    r = build.daily_report(facts, w.D2)
    assert summary(r, "Opening outstanding balance") == w.EXPECT_D2["opening"]
    assert summary(r, "Closing outstanding balance") == w.EXPECT_D2["closing"]
    assert summary(r, "Net change") == w.EXPECT_D2["closing"] - w.EXPECT_D2["opening"]
    assert (summary(r, "Store purchases"), summary(r, "Store purchase volume")) == w.EXPECT_D2["purchases"]
    assert [(x["terminal"], x["count"], x["amount"]) for x in table(r, "daily-terminals").rows] == [(w.T1, 1, 20000)]
    d3 = build.daily_report(facts, w.D3)
    assert (summary(d3, "Store purchases"), summary(d3, "Store purchase volume")) == w.EXPECT_D3_PURCHASES
    cats = {x["category"]: x for x in table(d3, "daily-categories").rows}
    assert cats["top-ups"]["amount"] == 30000 and cats["top-ups"]["bank"] == 0 and cats["top-ups"]["cash"] == 30000
    assert cats["discrepancies"]["liability"] == -300
    d1 = build.daily_report(facts, w.D1)
    assert (summary(d1, "Store purchases"), summary(d1, "Store purchase volume")) == w.EXPECT_D1_PURCHASES
    assert summary(d1, "Cash movement") == sum(w.SALES.values())  # every sale paid in cash


def test_daily_volume_chart_has_one_bar_per_day(facts):
    chart = build.daily_report(facts, w.D3).charts[0]
    assert len(chart.points) == build.CHART_DAYS
    values = dict(chart.points)
    assert (values["2026-03-02"], values["2026-03-03"], values["2026-03-04"]) == (3500, 20000, 700)
    assert sum(values.values()) == 3500 + 20000 + 700


def test_outstanding_and_custody(facts):
    r = build.outstanding_report(facts, w.Q2_DAY)
    rows = {x["programme"]: x for x in table(r, "outstanding-programmes").rows}
    assert {p: rows[p]["outstanding"] for p in rows} == w.EXPECT_NOW
    assert summary(r, "Outstanding balance") == sum(w.EXPECT_NOW.values())
    q = {(x["quarter"], x["programme"]): x for x in table(r, "custody-quarters").rows}
    for prog, basis in w.EXPECT_Q1_END.items():
        assert q[("2026Q2", prog)]["previous_outstanding"] == basis
        assert q[("2026Q2", prog)]["custody_required"] == w.EXPECT_Q2_CUSTODY[prog]
        assert q[("2026Q1", prog)]["previous_outstanding"] == 0
    assert q[("2026Q2", "mofcom-compliant")]["custody_percent"] == 30
    assert "no custody rule" in q[("2026Q2", "pboc-multi")]["note"]
    assert summary(r, "Custody required this quarter (2026Q2)") == 46650
    line = r.charts[0]
    assert line.kind == "line" and line.points[-1] == ("2026-04-10", sum(w.EXPECT_NOW.values()))


def test_volumes_per_terminal_and_programme(facts):
    r = build.volumes_report(facts)
    got = {x["terminal"]: (x["purchases"], x["purchase_amount"], x["topups"], x["topup_amount"])
           for x in table(r, "volumes-terminals").rows}
    assert got == w.EXPECT_TERMINALS
    progs = {x["programme"]: x for x in table(r, "volumes-programmes").rows}
    assert (progs["mofcom-compliant"]["sales"], progs["mofcom-compliant"]["sales_amount"]) == (2, 150000)
    assert progs["mofcom-compliant"]["purchase_amount"] == sum(p[3] for p in w.PURCHASES)
    assert (progs["pboc-multi"]["sales_amount"], progs["pboc-multi"]["purchases"]) == (50000, 0)
    assert table(r, "volumes-programmes").totals["outstanding"] == sum(w.EXPECT_NOW.values())


def test_reconciliation_lists_findings_and_checks(facts):
    r = build.reconciliation_report(facts)
    assert summary(r, "Booked to the discrepancy account") == 300
    checks = {x["check"]: x["ok"] for x in table(r, "recon-checks").rows}
    assert checks["books balance (every entry sums to 0)"] and checks["audit log chain and sealed books"]
    rows = table(r, "recon-exceptions").rows
    if facts.exceptions:  # the ledger's exception list (reconciliation) is present
        assert [(x["kind"], x["card"], x["amount"], x["proposal"]) for x in rows] == [
            ("rollback", w.A, 300, "blacklist")]
        assert summary(r, "Open findings") == 1
    given = build.reconciliation_report(facts, findings=[
        {"id": 7, "kind": "clone", "card_number": w.B, "amount": None, "status": "open", "summary": "two histories",
         "business_date": w.D3}])
    assert [(x["id"], x["kind"], x["date"]) for x in table(given, "recon-exceptions").rows] == [(7, "clone", "2026-03-04")]
