"""One cell value -> text, by column kind (shared by every renderer)."""
from icpurse.protocol.money import fmt_yuan


def cell_text(value, kind, plain=False):
    if value is None:
        return "" if plain else "-"
    if kind == "money":
        return fmt_yuan(value, unit="", sep="" if plain else ",", always_decimals=True)  # CSV: no separator
    if kind == "percent":
        return "%d" % value if plain else "%d %%" % value
    if kind == "bool":
        return ("yes" if value else "no") if plain else ("✔" if value else "✘")
    if kind == "int":
        return "%d" % value
    return str(value)


# Chinese labels (zh-CN) shown with the English ones: the finance team reads Chinese first.
ZH = {
    "Category": "类别", "Entries": "笔数", "Amount": "金额", "Outstanding change": "预收余额变动", "Cash": "现金",
    "Bank": "银行", "Terminal": "终端", "Purchases": "消费笔数", "Batch": "批次", "Reader count / sum": "读卡器笔数/金额",
    "Journal count / sum": "流水笔数/金额", "Balanced": "平衡", "Programme": "卡项目", "Profile": "监管规则",
    "Issuer class": "发卡机构类别", "Outstanding": "预收资金余额", "Custody %": "存管比例", "Note": "备注",
    "Quarter": "季度", "Previous quarter's outstanding": "上季度末预收余额", "Custody required": "应存管资金",
    "Outstanding at quarter end / now": "季末/当前预收余额", "Purchase volume": "消费金额", "Top-ups": "充值笔数",
    "Top-up volume": "充值金额", "Cards sold": "售卡张数", "Sales": "售卡金额", "Redeemed (退卡)": "退卡金额",
    "Check": "检查项", "OK": "通过", "Detail": "说明", "Kind": "类型", "Open": "未处理", "Closed": "已处理",
    "#": "编号", "Business day": "营业日", "Card": "卡号", "Status": "状态", "Proposal": "建议", "Summary": "摘要",
    "Reader day": "读卡器日期", "Reader count": "读卡器笔数", "Reader sum": "读卡器金额", "Journal count": "流水笔数",
    "Journal sum": "流水金额", "Total": "合计",
    # summary lines
    "Opening outstanding balance": "期初预收资金余额", "Net change": "净变动", "Closing outstanding balance": "期末预收资金余额",
    "Store purchases": "门店消费笔数", "Store purchase volume": "门店消费金额", "Cash movement": "现金变动",
    "Bank movement": "银行变动", "Open exceptions": "未处理异常", "Outstanding balance": "预收资金余额",
    "Findings": "异常总数", "Open findings": "未处理异常", "Open findings amount": "未处理异常金额",
    "Booked to the discrepancy account": "计入差错账户", "Integrity checks passed": "完整性检查通过",
}
UNIT = "元 yuan"


def header(column):
    """A column header: Chinese and English label, and the unit of a money column."""
    zh = ZH.get(column.title)
    title = "%s %s" % (zh, column.title) if zh else column.title
    return "%s (%s)" % (title, UNIT) if column.kind == "money" else title


def summary_label(label, kind):
    """A summary line's label: Chinese and English, and the unit of a money figure."""
    zh = ZH.get(label)
    text = "%s %s" % (zh, label) if zh else label
    return "%s (%s)" % (text, UNIT) if kind == "money" else text


def yuan_in_text(text):
    """Amounts written as 'N fen' in free text (finding summaries) as yuan, like the tables."""
    import re

    return re.sub(r"(-?\d+) fen\b", lambda m: "%s yuan" % fmt_yuan(int(m.group(1)), unit="", always_decimals=True),
                  str(text))
