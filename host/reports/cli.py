"""`icpurse report ...`: daily | outstanding | volumes | reconciliation [--csv FILE] [--html FILE]
[--json], and `icpurse report html OUT.html` (every report on one page)."""
import datetime as dt
import json
import sys

import click

from icpurse.host.ledger.options import db_option

EXIT_FAILED = 1


def _facts(db):
    from icpurse.host.ledger import LedgerError, open_ledger
    from icpurse.host.reports.facts import load_facts

    try:
        ledger = open_ledger(db)
    except LedgerError as exc:
        click.echo("error: %s" % exc, err=True)
        sys.exit(EXIT_FAILED)
    try:
        return load_facts(ledger)
    finally:
        ledger.close()


def _date(value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("a date is YYYY-MM-DD, got %r" % value) from None


def _emit(reports, csv_path, html_path, as_json, title):
    from icpurse.host.reports import render_csv, render_html, render_text

    if csv_path:
        with open(csv_path, "w", encoding="utf-8", newline="") as f:
            f.write(render_csv.render(reports))
    if html_path:
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(render_html.render(reports, title, _generated()))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2, default=str))
    elif not (csv_path or html_path):
        for r in reports:
            render_text.render(r)
    else:
        for path in (csv_path, html_path):
            if path:
                click.echo("wrote %s" % path)


def _generated():
    return "Generated %s UTC" % dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _outputs(f):
    f = click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (amounts in integer fen).")(f)
    f = click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write a self-contained HTML page.")(f)
    f = click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write CSV (fen and yuan columns).")(f)
    return db_option(f)


@click.group()
def report():
    """Reports from the ledger: daily cut-off, outstanding balance and custody, volumes, reconciliation."""


@report.command()
@click.option("--date", "day", help="Business day YYYY-MM-DD (default: the current business day).")
@_outputs
def daily(db, day, csv_path, html_path, as_json):
    """Daily cut-off report (日切): bookings by category, purchases by terminal, outstanding balance."""
    from icpurse.host.reports.build import daily_report

    r = daily_report(_facts(db), _date(day))
    _emit([r], csv_path, html_path, as_json, r.title)


@report.command()
@click.option("--date", "day", help="Up to business day YYYY-MM-DD (default: today).")
@_outputs
def outstanding(db, day, csv_path, html_path, as_json):
    """Outstanding prepaid balance (预收资金余额) by programme and the custody it requires per quarter."""
    from icpurse.host.reports.build import outstanding_report

    r = outstanding_report(_facts(db), _date(day))
    _emit([r], csv_path, html_path, as_json, r.title)


@report.command()
@click.option("--from", "first", help="First business day YYYY-MM-DD (default: the first booking).")
@click.option("--to", "last", help="Last business day YYYY-MM-DD (default: today).")
@_outputs
def volumes(db, first, last, csv_path, html_path, as_json):
    """Volumes per terminal and per programme."""
    from icpurse.host.reports.build import volumes_report

    r = volumes_report(_facts(db), _date(first), _date(last))
    _emit([r], csv_path, html_path, as_json, r.title)


@report.command()
@_outputs
def reconciliation(db, csv_path, html_path, as_json):
    """Reconciliation: integrity checks, day-close batches and the exception list."""
    from icpurse.host.reports.build import reconciliation_report

    r = reconciliation_report(_facts(db))
    _emit([r], csv_path, html_path, as_json, r.title)
    failed = [row for t in r.tables if t.id == "recon-checks" for row in t.rows if not row["ok"]]
    open_findings = [row for t in r.tables if t.id == "recon-exceptions" for row in t.rows if row["status"] == "open"]
    if failed or open_findings:
        sys.exit(5)  # an integrity problem or an open finding (host/cli.py exit codes)


@report.command("html")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--date", "day", help="Business day YYYY-MM-DD (default: the current business day).")
@db_option
def html_all(out, day, db):
    """Every report on one self-contained HTML page."""
    from icpurse.host.reports import render_html
    from icpurse.host.reports.build import all_reports

    facts = _facts(db)
    reports = all_reports(facts, _date(day))
    with open(out, "w", encoding="utf-8") as f:
        f.write(render_html.render(reports, "icpurse report %s" % (_date(day) or facts.today), _generated()))
    click.echo("wrote %s" % out)
