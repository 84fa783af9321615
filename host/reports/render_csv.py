"""CSV: one section per table (a `# title` line, the header, the rows, the totals row). Money
columns appear twice: integer fen (exact) and yuan text. Written as UTF-8 with a byte-order mark
(`BOM`, see `write`), so spreadsheet programs open the Chinese labels correctly."""
import csv
import io

from icpurse.host.reports.cells import cell_text


def render(reports):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    first = True
    for report in reports:
        for table in report.tables:
            if not first:
                w.writerow([])
            first = False
            w.writerow(["# %s: %s" % (report.title, table.title)])
            header = []
            for c in table.columns:
                header += [c.key + "_fen", c.key + "_yuan"] if c.kind == "money" else [c.key]
            w.writerow(header)
            rows = list(table.rows) + ([table.totals] if table.totals else [])
            for row in rows:
                line = []
                for c in table.columns:
                    v = row.get(c.key)
                    if c.kind == "money":
                        line += ["" if v is None else "%d" % v, cell_text(v, "money", plain=True)]
                    else:
                        line.append(cell_text(v, c.kind, plain=True))
                w.writerow(line)
    return out.getvalue()


BOM = "\ufeff"


def write(path, reports):
    """The CSV file, UTF-8 with a byte-order mark."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(BOM + render(reports))
