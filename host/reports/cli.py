"""`icpurse report ...`: daily | outstanding | volumes | reconciliation [--csv FILE] [--html FILE]
[--json], and `icpurse report html OUT.html` (every report on one page)."""
import datetime as dt

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


def _emit(reports, csv_path, html_path, as_json, title):
    from icpurse.host.reports import render_csv, render_html, render_text

    if csv_path:
        with open(csv_path, "w", encoding="utf-8", newline="") as f:
            f.write(render_csv.render(reports))
    if html_path:
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(render_html.render(reports, title, _generated()))
    if as_json:
        emit_json([r.to_dict() for r in reports])
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
    f = uses(db="existing", json=True, json_help="Print the report as JSON (amounts in integer fen).")(f)
    f = click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write a self-contained HTML page.")(f)
    return click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write CSV (fen and yuan columns).")(f)


@click.group(cls=Group)
def report():
    """Reports from the ledger: daily cut-off, outstanding balance and custody, volumes, reconciliation."""


@report.command()
@click.option("--date", "day", type=DATE, help="Business day YYYY-MM-DD (default: the current business day).")
@_outputs
def daily(session, day, csv_path, html_path, as_json):
    """Daily cut-off report (日切): bookings by category, purchases by terminal, outstanding balance."""
    from icpurse.host.reports.build import daily_report

    r = daily_report(_facts(session), _date(day))
    _emit([r], csv_path, html_path, as_json, r.title)


@report.command()
@click.option("--date", "day", type=DATE, help="Up to business day YYYY-MM-DD (default: today).")
@_outputs
def outstanding(session, day, csv_path, html_path, as_json):
    """Outstanding prepaid balance (预收资金余额) by programme and the custody it requires per quarter."""
    from icpurse.host.reports.build import outstanding_report

    r = outstanding_report(_facts(session), _date(day))
    _emit([r], csv_path, html_path, as_json, r.title)


@report.command()
@click.option("--from", "first", type=DATE, help="First business day YYYY-MM-DD (default: the first booking).")
@click.option("--to", "last", type=DATE, help="Last business day YYYY-MM-DD (default: today).")
@_outputs
def volumes(session, first, last, csv_path, html_path, as_json):
    """Volumes per terminal and per programme."""
    from icpurse.host.reports.build import volumes_report

    r = volumes_report(_facts(session), _date(first), _date(last))
    _emit([r], csv_path, html_path, as_json, r.title)


@report.command()
@_outputs
def reconciliation(session, csv_path, html_path, as_json):
    """Reconciliation: integrity checks, day-close batches and the exception list."""
    from icpurse.host.reports.build import reconciliation_report

    r = reconciliation_report(_facts(session))
    _emit([r], csv_path, html_path, as_json, r.title)
    failed = [row for t in r.tables if t.id == "recon-checks" for row in t.rows if not row["ok"]]
    open_findings = [row for t in r.tables if t.id == "recon-exceptions" for row in t.rows if row["status"] == "open"]
    if failed or open_findings:
        click.get_current_context().exit(Exit.INTEGRITY)  # an integrity problem or an open finding


@report.command("html")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--date", "day", type=DATE, help="Business day YYYY-MM-DD (default: the current business day).")
@uses(db=True)
def html_all(session, out, day):
    """Every report on one self-contained HTML page."""
    from icpurse.host.reports import render_html
    from icpurse.host.reports.build import all_reports

    facts = _facts(session)
    reports = all_reports(facts, _date(day))
    with open(out, "w", encoding="utf-8") as f:
        f.write(render_html.render(reports, "icpurse report %s" % (_date(day) or facts.today), _generated()))
    click.echo("wrote %s" % out)
