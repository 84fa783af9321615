"""XLSX (openpyxl): one worksheet per report; the header block (issuer, report id, time zone,
audit head), then each table with Chinese and English headers. Money cells are numbers in yuan
with two decimals (Decimal from integer fen, never a float), formatted `#,##0.00`."""
from decimal import Decimal

from icpurse.host.reports.cells import cell_text, header

MONEY_FORMAT = "#,##0.00"


def _value(value, kind):
    if value is None:
        return None
    if kind == "money":
        return Decimal(value).scaleb(-2)  # exact: integer fen -> yuan
    if kind in ("int", "percent"):
        return value
    if kind == "bool":
        return "是 yes" if value else "否 no"
    return str(value)


def write(path, reports, title, meta=None):
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for report in reports:
        ws = wb.create_sheet(report.id[:31])
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([report.title])
        for label, key in (("发卡机构 Issuer", "issuer"), ("报表编号 Report id", "report_id"),
                           ("生成时间 Generated", "generated"), ("时区 Time zone", "timezone")):
            ws.append([label, (meta or {}).get(key, "")])
        if meta and meta.get("audit_head"):
            ws.append(["审计日志 Audit log head", "%d %s" % tuple(meta["audit_head"])])
        for label, value, kind in report.summary:
            ws.append([label, _value(value, kind)])
            if kind == "money":
                ws.cell(ws.max_row, 2).number_format = MONEY_FORMAT
        for table in report.tables:
            ws.append([])
            ws.append([table.title])
            ws.cell(ws.max_row, 1).font = bold
            ws.append([header(c) for c in table.columns])
            for cell in ws[ws.max_row]:
                cell.font = bold
            for row in list(table.rows) + ([table.totals] if table.totals else []):
                ws.append([_value(row.get(c.key), c.kind) if c.kind != "text" else cell_text(row.get(c.key), "text", plain=True)
                           for c in table.columns])
                for i, c in enumerate(table.columns, start=1):
                    if c.kind == "money":
                        ws.cell(ws.max_row, i).number_format = MONEY_FORMAT
        ws.append([])
        ws.append(["制表 Prepared by", (meta or {}).get("prepared_by", ""), "审核 Approved by", ""])
        for col in "ABCDEFGHIJ":
            ws.column_dimensions[col].width = 22
    wb.save(path)
