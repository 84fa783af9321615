"""One self-contained HTML page: inline CSS, inline SVG charts, no scripts and nothing fetched
(the Content-Security-Policy forbids any external resource)."""
from html import escape

from icpurse.host.reports.cells import cell_text, header, summary_label
from icpurse.host.reports.svg import chart_svg

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2430;background:#fff}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.25rem;margin:2.2rem 0 .3rem;border-bottom:2px solid #2b5fa8;padding-bottom:.2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}.sub{color:#5a6475;margin:.1rem 0 .8rem}
table{border-collapse:collapse;margin:.3rem 0 1rem;font-size:.9rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #dde3ea;text-align:left}
th{background:#f0f4f9}td.num{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:600;border-top:2px solid #8a96a8}
table.summary td{border:none;padding:.15rem .8rem .15rem 0}td.ok{color:#17803d}td.bad{color:#b3261e;font-weight:600}
.note{color:#8a5a00}.empty{color:#8a96a8;font-style:italic}nav a{margin-right:1rem}
svg.chart{display:block;margin:.5rem 0 1.2rem;max-width:100%;height:auto}
svg .axis{stroke:#5a6475;stroke-width:1}svg .grid{stroke:#e3e8ee;stroke-width:1}
svg .bar{fill:#2b5fa8}svg .trend{stroke:#c2410c;stroke-width:2}svg .point{fill:#c2410c}
svg text{font-size:11px;fill:#5a6475}
footer{margin-top:2rem;color:#8a96a8;font-size:.8rem}
table.meta td{border:none;padding:.1rem 1rem .1rem 0;font-size:.9rem}.hash{font-family:monospace;font-size:.8rem}
.signoff{display:flex;gap:4rem;margin-top:2.5rem}.signoff div{min-width:16rem;border-top:1px solid #1d2430;padding-top:.3rem}
@media print{body{margin:12mm;font-size:10pt;color:#000}nav,footer .screen{display:none}
h2{page-break-before:always;break-before:page}section:first-of-type h2{page-break-before:avoid;break-before:avoid}
table{page-break-inside:auto}tr{page-break-inside:avoid;break-inside:avoid}thead{display:table-header-group}
th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}a{color:#000;text-decoration:none}
.signoff{page-break-inside:avoid}@page{size:A4;margin:12mm}}
"""
_RIGHT = ("money", "int", "percent")


def _cell(value, kind):
    cls = "num" if kind in _RIGHT else ("ok" if value else "bad") if kind == "bool" else ""
    return '<td%s>%s</td>' % (' class="%s"' % cls if cls else "", escape(cell_text(value, kind)))


def _table(table):
    out = ['<h3>%s</h3>' % escape(table.title)]
    if not table.rows:
        out.append('<p class="empty" id="t-%s">none</p>' % escape(table.id))
        return "".join(out)
    out.append('<table id="t-%s"><thead><tr>%s</tr></thead><tbody>' % (
        escape(table.id), "".join('<th>%s</th>' % escape(header(c)) for c in table.columns)))
    for row in table.rows:
        out.append("<tr>%s</tr>" % "".join(_cell(row.get(c.key), c.kind) for c in table.columns))
    out.append("</tbody>")
    if table.totals:
        out.append("<tfoot><tr>%s</tr></tfoot>" % "".join(
            _cell(table.totals.get(c.key), c.kind) if c.key in table.totals else "<td></td>" for c in table.columns))
    out.append("</table>")
    if table.note:
        out.append('<p class="note">%s</p>' % escape(table.note))
    return "".join(out)


def _section(report):
    out = ['<section id="report-%s"><h2>%s</h2>' % (escape(report.id), escape(report.title))]
    if report.subtitle:
        out.append('<p class="sub">%s</p>' % escape(report.subtitle))
    if report.summary:
        out.append('<table class="summary" id="summary-%s">' % escape(report.id))
        for label, value, kind in report.summary:
            out.append('<tr><td>%s</td>%s</tr>' % (escape(summary_label(label, kind)), _cell(value, kind)))
        out.append("</table>")
    for chart in report.charts:
        out.append('<h3>%s</h3>%s' % (escape(chart.title), chart_svg(chart)))
    out.extend(_table(t) for t in report.tables)
    out.extend('<p class="note">%s</p>' % escape(n) for n in report.notes)
    out.append("</section>")
    return "".join(out)


def _meta(meta):
    """The header block: issuer, report id, when and in which time zone, the audit log's head."""
    if not meta:
        return ""
    rows = [("发卡机构 Issuer", meta.get("issuer") or "-"), ("报表编号 Report id", meta.get("report_id") or "-"),
            ("生成时间 Generated", meta.get("generated") or "-"), ("时区 Time zone", meta.get("timezone") or "-"),
            ("日切 Cut-off", meta.get("cutoff") or "-")]
    head = meta.get("audit_head")
    if head:
        rows.append(("审计日志 Audit log head", '%d · <span class="hash" id="audit-head">%s</span>' % (
            head[0], escape(head[1]))))
    out = ['<table class="meta" id="report-meta">']
    for label, value in rows:
        value = value if label.endswith("head") else escape(value)
        out.append("<tr><td>%s</td><td>%s</td></tr>" % (escape(label), value))
    out.append("</table>")
    return "".join(out)


def _signoff(meta):
    if not meta:
        return ""
    return ('<div class="signoff" id="signoff"><div>制表 Prepared by: %s</div><div>审核 Approved by:</div>'
            '<div>日期 Date:</div></div>' % escape(meta.get("prepared_by") or ""))


def render(reports, title, generated="", meta=None):
    """The page. `meta` (optional): issuer, report_id, generated, timezone, cutoff, audit_head
    (seq, hash), prepared_by - shown in the header and the sign-off lines."""
    nav = "".join('<a href="#report-%s">%s</a>' % (escape(r.id), escape(r.title)) for r in reports)
    return ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>%s</title><style>%s</style></head><body><h1>%s</h1>%s%s<nav>%s</nav>%s%s'
            '<footer>icpurse — 金额单位：元 (amounts in yuan, computed from integer fen). Self-contained page: no scripts, '
            'no external resources.</footer></body></html>\n') % (
        escape(title), CSS, escape(title), '<p class="sub">%s</p>' % escape(generated) if generated else "",
        _meta(meta), nav, "".join(_section(r) for r in reports), _signoff(meta))
