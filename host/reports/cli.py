"""`icpurse report ...`: daily | outstanding | volumes | reconciliation [--csv FILE] [--html FILE]
[--json], and `icpurse report html OUT.html` (every report on one page)."""
import click

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.params import DATE
from icpurse.host.clikit.output import emit_json


def _facts(session):
    from icpurse.host.reports.facts import load_facts

    return load_facts(session.ledger())


def _date(value):
    """A --date, --from or --to value (already a date: the DATE type checked it)."""
    return value


def _emit(session, reports, csv_path, html_path, xlsx_path, as_json, title):
    from icpurse.host.reports import render_csv, render_html, render_text, render_xlsx

    meta = report_meta(session, reports)
    if csv_path:
        render_csv.write(csv_path, reports)
    if html_path:
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(render_html.render(reports, title, meta["generated"], meta))
    if xlsx_path:
        render_xlsx.write(xlsx_path, reports, title, meta)
    if as_json:
        emit_json([dict(r.to_dict(), meta=meta) for r in reports])
    elif not (csv_path or html_path or xlsx_path):
        click.echo("%s · %s · %s · %s" % (meta["issuer"], meta["report_id"], meta["generated"], meta["timezone"]))
        for r in reports:
            render_text.render(r)
    else:
        for path in (csv_path, html_path, xlsx_path):
            if path:
                click.echo("wrote %s" % path)


def report_meta(session, reports):
    """Who issues the report, its id (the reports' content digest), when (business time zone, said
    so), the audit log's head at that moment and who prepared it."""
    import hashlib
    import json
    import os

    ledger = session.ledger()
    tz = ledger.calendar.tz
    now = ledger.now().astimezone(tz)
    offset = now.utcoffset()
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    tz_label = "UTC%+03d:%02d (%s)" % (hours, rest // 60, now.tzname())
    issuers = sorted({p.definition.get("issuer") for p in ledger.programmes.registered() if p.definition.get("issuer")})
    issuer = os.environ.get("ICPURSE_ISSUER_NAME") or ", ".join(issuers) or "(issuer not set: ICPURSE_ISSUER_NAME)"
    digest = hashlib.sha256(json.dumps([r.to_dict() for r in reports], sort_keys=True, default=str,
                                       ensure_ascii=False).encode("utf-8")).hexdigest()
    seq, head = ledger.audit.audit_head()
    return {"issuer": issuer, "report_id": "RPT-%s-%s" % (now.strftime("%Y%m%d"), digest[:10].upper()),
            "generated": now.strftime("%Y-%m-%d %H:%M"), "timezone": tz_label,
            "cutoff": "%s %s" % (ledger.calendar.cutoff.strftime("%H:%M"), tz_label),
            "audit_head": [seq, head], "prepared_by": session.operator_name or ""}


def _outputs(f):
    f = uses(db="existing", json=True, operator=True, json_help="Print the report as JSON (amounts in integer fen).",
             operator_help="Who prepares the report (the 'prepared by' line; no sign-in).")(f)
    f = click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), help="Also write an Excel workbook (XLSX).")(f)
    f = click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write a self-contained HTML page.")(f)
    return click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
                        help="Also write CSV, UTF-8 with a byte-order mark (fen and yuan columns).")(f)


@click.group(cls=Group)
def report():
    """Reports from the ledger: daily cut-off, outstanding balance and custody, volumes, reconciliation."""


@report.command()
@click.option("--date", "day", type=DATE, help="Business day YYYY-MM-DD (default: the current business day).")
@_outputs
def daily(session, day, csv_path, html_path, xlsx_path, as_json):
    """Daily cut-off report (日切): bookings by category, purchases by terminal, outstanding balance."""
    from icpurse.host.reports.build import daily_report

    r = daily_report(_facts(session), _date(day))
    _emit(session, [r], csv_path, html_path, xlsx_path, as_json, r.title)


@report.command()
@click.option("--date", "day", type=DATE, help="Up to business day YYYY-MM-DD (default: today).")
@_outputs
def outstanding(session, day, csv_path, html_path, xlsx_path, as_json):
    """Outstanding prepaid balance (预收资金余额) by programme and the custody it requires per quarter."""
    from icpurse.host.reports.build import outstanding_report

    r = outstanding_report(_facts(session), _date(day))
    _emit(session, [r], csv_path, html_path, xlsx_path, as_json, r.title)


@report.command()
@click.option("--from", "first", type=DATE, help="First business day YYYY-MM-DD (default: the first booking).")
@click.option("--to", "last", type=DATE, help="Last business day YYYY-MM-DD (default: today).")
@_outputs
def volumes(session, first, last, csv_path, html_path, xlsx_path, as_json):
    """Volumes per terminal and per programme."""
    from icpurse.host.reports.build import volumes_report

    r = volumes_report(_facts(session), _date(first), _date(last))
    _emit(session, [r], csv_path, html_path, xlsx_path, as_json, r.title)


@report.command()
@_outputs
def reconciliation(session, csv_path, html_path, xlsx_path, as_json):
    """Reconciliation: integrity checks, day-close batches and the exception list."""
    from icpurse.host.reports.build import reconciliation_report

    r = reconciliation_report(_facts(session))
    _emit(session, [r], csv_path, html_path, xlsx_path, as_json, r.title)
    failed = [row for t in r.tables if t.id == "recon-checks" for row in t.rows if not row["ok"]]
    open_findings = [row for t in r.tables if t.id == "recon-exceptions" for row in t.rows if row["status"] == "open"]
    if failed or open_findings:
        click.get_current_context().exit(Exit.INTEGRITY)  # an integrity problem or an open finding


@report.command("html")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--date", "day", type=DATE, help="Business day YYYY-MM-DD (default: the current business day).")
@uses(db="existing", json=True, operator=True, operator_help="Who prepares the report (the 'prepared by' line).")
def html_all(session, out, day, as_json):
    """Every report on one self-contained HTML page (printable: A4, one report a page), with the
    issuer, the report id, the time zone, the audit log's head and the sign-off lines."""
    from icpurse.host.reports import render_html
    from icpurse.host.reports.build import all_reports

    facts = _facts(session)
    reports = all_reports(facts, _date(day))
    meta = report_meta(session, reports)
    title = "icpurse 报表 report %s" % (_date(day) or facts.today)
    with open(out, "w", encoding="utf-8") as f:
        f.write(render_html.render(reports, title, meta["generated"], meta))
    if as_json:
        emit_json({"ok": True, "wrote": out, "meta": meta})
    else:
        click.echo("wrote %s (%s)" % (out, meta["report_id"]))
