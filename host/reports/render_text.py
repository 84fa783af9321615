"""Terminal rendering with rich tables."""
from rich.console import Console
from rich.table import Table as RichTable

from icpurse.host.reports.cells import cell_text, header, summary_label

_RIGHT = ("money", "int", "percent")


def render(report, console=None):
    console = console or Console()
    console.print("[bold]%s[/bold]" % report.title)
    if report.subtitle:
        console.print(report.subtitle, style="dim")
    if report.summary:
        t = RichTable(show_header=False, box=None)
        t.add_column("label")
        t.add_column("value", justify="right")
        for label, value, kind in report.summary:
            t.add_row(summary_label(label, kind), cell_text(value, kind))
        console.print(t)
    for table in report.tables:
        t = RichTable(title=table.title, title_justify="left")
        for c in table.columns:
            t.add_column(header(c), justify="right" if c.kind in _RIGHT else "left")
        for row in table.rows:
            t.add_row(*[cell_text(row.get(c.key), c.kind) for c in table.columns])
        if table.totals:
            t.add_row(*[cell_text(table.totals.get(c.key), c.kind) if c.key in table.totals else ""
                        for c in table.columns], style="bold")
        if not table.rows:
            t.caption = "(none)"
        console.print(t)
    for chart in report.charts:
        console.print("[dim]%s: %d points (see --html for the chart)[/dim]" % (chart.title, len(chart.points)))
    for note in report.notes:
        console.print("[yellow]%s[/yellow]" % note)
