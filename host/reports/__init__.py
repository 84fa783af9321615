"""Reports from the ledger: daily cut-off (日切), reconciliation with its exception list, outstanding
prepaid balance (预收资金余额) with the custody it requires per quarter, per-terminal and
per-programme volumes. Each report is a `Report` (tables + charts) rendered as terminal tables
(rich), CSV, JSON or one self-contained HTML page (inline CSS, inline SVG charts, no scripts).
Money is integer fen throughout and is formatted without floats."""
from icpurse.host.reports.build import (
    daily_report, outstanding_report, reconciliation_report, volumes_report, all_reports,
)
from icpurse.host.reports.facts import Facts, load_facts
from icpurse.host.reports.model import Chart, Column, Report, Table

__all__ = ["Facts", "load_facts", "Report", "Table", "Column", "Chart", "daily_report", "outstanding_report",
           "reconciliation_report", "volumes_report", "all_reports"]
