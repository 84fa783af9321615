"""The four reports as pure functions of `Facts` (see facts.py)."""
from __future__ import annotations

import datetime as dt

from icpurse.host.programmes import load_profile
from icpurse.host.reports.cells import cell_text, yuan_in_text
from icpurse.host.reports.facts import CATEGORIES
from icpurse.host.reports.model import Chart, Column, Report, Table
from icpurse.host.reports.periods import (
    days, previous_quarter, quarter_label, quarter_last_day, quarters,
)
from icpurse.protocol import cardtime
from icpurse.protocol.money import percent_of

PURCHASE = "redemption"  # journal kind of a purchase at a store (value redeemed)
TOPUP = "topup"
CHART_DAYS = 14


def _sum(rows, key):
    return sum(r[key] for r in rows)


def _daily_volume_chart(facts, last, n=CHART_DAYS):
    first = last - dt.timedelta(days=n - 1)
    per_day = {d: 0 for d in days(first, last)}
    for m in facts.movements:
        if m.kind == PURCHASE and first <= m.day <= last:
            per_day[m.day] += m.amount
    return Chart("daily-volume", "Store purchases per business day (%s to %s)" % (first, last), "bars",
                 [(d.isoformat(), per_day[d]) for d in sorted(per_day)])


def _outstanding_chart(facts, last, n=CHART_DAYS):
    first = last - dt.timedelta(days=n - 1)
    start = facts.outstanding(first - dt.timedelta(days=1))
    delta = {d: 0 for d in days(first, last)}
    for m in facts.movements:
        if first <= m.day <= last:
            delta[m.day] += m.liability
    points, running = [], start
    for d in sorted(delta):
        running += delta[d]
        points.append((d.isoformat(), running))
    return Chart("outstanding-trend", "Outstanding prepaid balance at each cut-off (%s to %s)" % (first, last),
                 "line", points)


# --- daily cut-off (日切) ---

def daily_report(facts, day=None, chart_days=CHART_DAYS) -> Report:
    day = day or facts.today
    todays = [m for m in facts.movements if m.day == day]
    opening = facts.outstanding(day - dt.timedelta(days=1))
    closing = facts.outstanding(day)
    groups = {}
    for m in todays:
        g = groups.setdefault(m.kind, {"category": CATEGORIES.get(m.kind, m.kind), "count": 0, "amount": 0,
                                       "liability": 0, "cash": 0, "bank": 0})
        g["count"] += 1
        g["amount"] += m.amount
        g["liability"] += m.liability
        g["cash"] += m.cash
        g["bank"] += m.bank
    order = list(CATEGORIES)
    rows = [groups[k] for k in sorted(groups, key=lambda k: (order.index(k) if k in order else len(order), k))]
    cols = [Column("category", "Category"), Column("count", "Entries", "int"), Column("amount", "Amount", "money"),
            Column("liability", "Outstanding change", "money"), Column("cash", "Cash", "money"),
            Column("bank", "Bank", "money")]
    totals = {"category": "Total", "count": _sum(rows, "count"), "amount": _sum(rows, "amount"),
              "liability": _sum(rows, "liability"), "cash": _sum(rows, "cash"), "bank": _sum(rows, "bank")}
    by_terminal = {}
    for m in todays:
        if m.kind == PURCHASE:
            t = by_terminal.setdefault(m.terminal or "(none)", {"terminal": m.terminal or "(none)", "count": 0,
                                                               "amount": 0})
            t["count"] += 1
            t["amount"] += m.amount
    term_rows = [by_terminal[k] for k in sorted(by_terminal)]
    batch_rows = [{"terminal": b.terminal, "batch": b.batch,
                   "reader": "%d / %s" % (b.reader_count, cell_text(b.reader_sum, "money")),
                   "journal": "%d / %s" % (b.journal_count, cell_text(b.journal_sum, "money")), "balanced": b.balanced}
                  for b in facts.batches if cardtime.to_date(b.day) == day]
    purchases = groups.get(PURCHASE, {"count": 0, "amount": 0})
    open_exc = [e for e in facts.exceptions if getattr(e, "status", "open") == "open"]
    rep = Report("daily", "Daily cut-off report (日切) %s" % day,
                 "Business day %s, cut-off %s (%s)" % (day, facts.cutoff.strftime("%H:%M"), facts.tz), [
                     ("Business day", day.isoformat(), "text"),
                     ("Opening outstanding balance", opening, "money"),
                     ("Net change", closing - opening, "money"),
                     ("Closing outstanding balance", closing, "money"),
                     ("Store purchases", purchases["count"], "int"),
                     ("Store purchase volume", purchases["amount"], "money"),
                     ("Cash movement", totals["cash"], "money"),
                     ("Bank movement", totals["bank"], "money"),
                     ("Open exceptions", len(open_exc), "int"),
                     # the anchor of the keyed audit log: record it outside the ledger
                     ("Audit log head", "%d entries, %s" % facts.audit_head, "text"),
                 ])
    rep.tables.append(Table("daily-categories", "Bookings by category", cols, rows, totals))
    rep.tables.append(Table("daily-terminals", "Store purchases by terminal",
                            [Column("terminal", "Terminal"), Column("count", "Purchases", "int"),
                             Column("amount", "Amount", "money")], term_rows,
                            {"terminal": "Total", "count": _sum(term_rows, "count"),
                             "amount": _sum(term_rows, "amount")}))
    if batch_rows:
        rep.tables.append(Table("daily-batches", "Terminal day-close batches",
                                [Column("terminal", "Terminal"), Column("batch", "Batch", "int"),
                                 Column("reader", "Reader count / sum"), Column("journal", "Journal count / sum"),
                                 Column("balanced", "Balanced", "bool")], batch_rows))
    rep.charts.append(_daily_volume_chart(facts, day, chart_days))
    if opening + totals["liability"] != closing:  # cannot happen unless the facts are inconsistent
        rep.notes.append("opening + change does not equal closing: the ledger needs checking")
    return rep


# --- outstanding balance and custody ---

def _custody_percent(info):
    """(percent or None, why not) for a programme: its profile's custody share for its issuer class."""
    try:
        profile = load_profile(info.profile)
    except Exception as exc:  # a programme with a profile file that is gone: say so in the report
        return None, "profile %s unavailable (%s)" % (info.profile, exc)
    if not profile.custody_percent:
        return None, "no custody rule in the %s profile" % profile.id
    if info.issuer_type is None:
        return None, "issuer class (scale/group/brand) not set in the programme"
    pct = profile.custody_percent.get(info.issuer_type)
    if pct is None:
        return None, "the %s profile sets no share for %s issuers" % (profile.id, info.issuer_type)
    return pct, ""


def outstanding_report(facts, until=None, chart_days=CHART_DAYS) -> Report:
    until = until or facts.today
    progs = sorted(facts.programmes)
    rows = []
    for pid in progs:
        info = facts.programmes[pid]
        pct, why = _custody_percent(info)
        rows.append({"programme": pid, "profile": info.profile, "issuer_class": info.issuer_type or "-",
                     "outstanding": facts.outstanding(until, pid), "custody_percent": pct,
                     "custody_note": why})
    total = facts.outstanding(until)
    first_day = min((m.day for m in facts.movements), default=until)
    qrows = []
    for q in quarters(first_day, until):
        prev = previous_quarter(q)
        prev_end = quarter_last_day(prev)
        for r in rows:
            pid = r["programme"]
            prev_out = facts.outstanding(prev_end, pid) if prev_end >= first_day else 0
            end = min(quarter_last_day(q), until)
            required = percent_of(prev_out, r["custody_percent"]) if r["custody_percent"] is not None else None
            qrows.append({"quarter": quarter_label(q), "programme": pid,
                          "previous_outstanding": prev_out, "custody_percent": r["custody_percent"],
                          "custody_required": required, "outstanding_end": facts.outstanding(end, pid),
                          "note": r["custody_note"]})
    current = quarter_label(quarters(until, until)[0])
    required_now = sum(r["custody_required"] or 0 for r in qrows if r["quarter"] == current)
    rep = Report("outstanding", "Outstanding prepaid balance (预收资金余额) and custody",
                 "At the cut-off of %s; custody = share of the previous quarter's outstanding balance "
                 "(MOFCOM Art. 26: 20 / 30 / 40 %% for scale / group / brand issuers)" % until, [
                     ("Outstanding balance", total, "money"),
                     ("Custody required this quarter (%s)" % current, required_now, "money"),
                 ])
    rep.tables.append(Table("outstanding-programmes", "Outstanding balance by programme",
                            [Column("programme", "Programme"), Column("profile", "Profile"),
                             Column("issuer_class", "Issuer class"), Column("outstanding", "Outstanding", "money"),
                             Column("custody_percent", "Custody %", "percent"), Column("custody_note", "Note")],
                            rows, {"programme": "Total", "outstanding": total}))
    rep.tables.append(Table("custody-quarters", "Custody required per quarter",
                            [Column("quarter", "Quarter"), Column("programme", "Programme"),
                             Column("previous_outstanding", "Previous quarter's outstanding", "money"),
                             Column("custody_percent", "Custody %", "percent"),
                             Column("custody_required", "Custody required", "money"),
                             Column("outstanding_end", "Outstanding at quarter end / now", "money"),
                             Column("note", "Note")], qrows))
    rep.charts.append(_outstanding_chart(facts, until, chart_days))
    return rep


# --- volumes ---

def volumes_report(facts, first=None, last=None) -> Report:
    last = last or facts.today
    first = first or min((m.day for m in facts.movements), default=last)
    sel = [m for m in facts.movements if first <= m.day <= last]
    terms = {}
    for m in sel:
        if m.kind == PURCHASE or (m.kind == TOPUP and m.terminal is not None):
            key = m.terminal or "(none)"
            t = terms.setdefault(key, {"terminal": key, "purchases": 0, "purchase_amount": 0, "topups": 0,
                                       "topup_amount": 0})
            if m.kind == PURCHASE:
                t["purchases"] += 1
                t["purchase_amount"] += m.amount
            else:
                t["topups"] += 1
                t["topup_amount"] += m.amount
    trows = [terms[k] for k in sorted(terms)]
    progs = {}
    for pid in facts.programmes:
        progs[pid] = {"programme": pid, "sales": 0, "sales_amount": 0, "topups": 0, "topup_amount": 0,
                      "purchases": 0, "purchase_amount": 0, "redeemed_out": 0, "outstanding": facts.outstanding(last, pid)}
    for m in sel:
        p = progs.get(m.programme_id)
        if p is None:
            continue
        if m.kind == "sale":
            p["sales"] += 1
            p["sales_amount"] += m.amount
        elif m.kind == TOPUP:
            p["topups"] += 1
            p["topup_amount"] += m.amount
        elif m.kind == PURCHASE:
            p["purchases"] += 1
            p["purchase_amount"] += m.amount
        elif m.kind in ("redemption_cash", "redemption_transfer"):
            p["redeemed_out"] += m.amount
    prows = [progs[k] for k in sorted(progs)]

    def tot(rows, keys, label_key):
        out = {label_key: "Total"}
        for k in keys:
            out[k] = _sum(rows, k)
        return out

    rep = Report("volumes", "Volumes by terminal and by programme", "Business days %s to %s" % (first, last), [
        ("Store purchases", _sum(trows, "purchases"), "int"),
        ("Store purchase volume", _sum(trows, "purchase_amount"), "money"),
    ])
    tkeys = ["purchases", "purchase_amount", "topups", "topup_amount"]
    rep.tables.append(Table("volumes-terminals", "Per terminal",
                            [Column("terminal", "Terminal"), Column("purchases", "Purchases", "int"),
                             Column("purchase_amount", "Purchase volume", "money"),
                             Column("topups", "Top-ups", "int"), Column("topup_amount", "Top-up volume", "money")],
                            trows, tot(trows, tkeys, "terminal")))
    pkeys = ["sales", "sales_amount", "topups", "topup_amount", "purchases", "purchase_amount", "redeemed_out",
             "outstanding"]
    rep.tables.append(Table("volumes-programmes", "Per programme",
                            [Column("programme", "Programme"), Column("sales", "Cards sold", "int"),
                             Column("sales_amount", "Sales", "money"), Column("topups", "Top-ups", "int"),
                             Column("topup_amount", "Top-up volume", "money"),
                             Column("purchases", "Purchases", "int"),
                             Column("purchase_amount", "Purchase volume", "money"),
                             Column("redeemed_out", "Redeemed (退卡)", "money"),
                             Column("outstanding", "Outstanding", "money")],
                            prows, tot(prows, pkeys, "programme")))
    return rep


# --- reconciliation ---

def _finding(f):
    """An exception-list entry (ledger ExceptionView, or a dict with the same names) as a row."""
    get = (lambda k, d=None: f.get(k, d)) if isinstance(f, dict) else (lambda k, d=None: getattr(f, k, d))
    day = get("business_date")
    return {"id": get("id"), "date": day.isoformat() if hasattr(day, "isoformat") else (day or ""),
            "kind": get("kind", ""), "card": get("card_number") or "", "terminal": get("terminal") or "",
            "amount": get("amount"), "status": get("status", "open"), "proposal": get("proposal") or "",
            "summary": yuan_in_text(get("summary", ""))}


def reconciliation_report(facts, findings=None) -> Report:
    rows = [_finding(f) for f in (facts.exceptions if findings is None else findings)]
    open_rows = [r for r in rows if r["status"] == "open"]
    by_kind = {}
    for r in rows:
        k = by_kind.setdefault(r["kind"], {"kind": r["kind"], "open": 0, "closed": 0, "amount": 0})
        k["open" if r["status"] == "open" else "closed"] += 1
        k["amount"] += r["amount"] or 0
    discrepancy = sum(m.amount for m in facts.movements if m.kind == "discrepancy")
    unbalanced_batches = [b for b in facts.batches if not b.balanced]
    checks = [{"check": c, "ok": ok, "detail": d} for c, ok, d in facts.checks]
    checks.append({"check": "terminal batches match their journals", "ok": not unbalanced_batches,
                   "detail": "%d of %d batches differ" % (len(unbalanced_batches), len(facts.batches))})
    rep = Report("reconciliation", "Reconciliation report with exceptions",
                 "Cards ↔ reader journals ↔ ledger; findings stay on the list until resolved", [
                     ("Findings", len(rows), "int"),
                     ("Open findings", len(open_rows), "int"),
                     ("Open findings amount", sum(r["amount"] or 0 for r in open_rows), "money"),
                     ("Booked to the discrepancy account", discrepancy, "money"),
                     ("Integrity checks passed", "%d / %d" % (sum(1 for c in checks if c["ok"]), len(checks)), "text"),
                 ])
    rep.tables.append(Table("recon-checks", "Integrity checks",
                            [Column("check", "Check"), Column("ok", "OK", "bool"), Column("detail", "Detail")], checks))
    rep.tables.append(Table("recon-kinds", "Findings by kind",
                            [Column("kind", "Kind"), Column("open", "Open", "int"), Column("closed", "Closed", "int"),
                             Column("amount", "Amount", "money")], [by_kind[k] for k in sorted(by_kind)]))
    rep.tables.append(Table("recon-exceptions", "Exception list",
                            [Column("id", "#", "int"), Column("date", "Business day"), Column("kind", "Kind"),
                             Column("card", "Card"), Column("terminal", "Terminal"), Column("amount", "Amount", "money"),
                             Column("status", "Status"), Column("proposal", "Proposal"),
                             Column("summary", "Summary")], rows))
    if facts.batches:
        rep.tables.append(Table("recon-batches", "Terminal batches (day close)",
                                [Column("terminal", "Terminal"), Column("day", "Reader day"),
                                 Column("batch", "Batch", "int"), Column("reader_count", "Reader count", "int"),
                                 Column("reader_sum", "Reader sum", "money"),
                                 Column("journal_count", "Journal count", "int"),
                                 Column("journal_sum", "Journal sum", "money"), Column("balanced", "Balanced", "bool")],
                                [{"terminal": b.terminal, "day": cardtime.to_date(b.day).isoformat(), "batch": b.batch, "reader_count": b.reader_count,
                                  "reader_sum": b.reader_sum, "journal_count": b.journal_count,
                                  "journal_sum": b.journal_sum, "balanced": b.balanced} for b in facts.batches]))
    return rep


def all_reports(facts, day=None) -> list:
    return [daily_report(facts, day), outstanding_report(facts, day), volumes_report(facts, last=day),
            reconciliation_report(facts)]
