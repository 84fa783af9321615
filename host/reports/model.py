"""What a report is, independent of how it is shown: a title, summary figures, tables and charts.
Money cells hold integer fen; renderers format them."""
from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("text", "int", "money", "percent", "bool")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"


@dataclass
class Table:
    id: str
    title: str
    columns: list
    rows: list  # list of dicts keyed by Column.key
    totals: dict | None = None
    note: str = ""

    def to_dict(self):
        return {"id": self.id, "title": self.title, "columns": [c.__dict__ for c in self.columns],
                "rows": self.rows, "totals": self.totals, "note": self.note}


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # bars | line
    points: list  # [(label, fen)]
    y_label: str = "yuan"

    def to_dict(self):
        return {"id": self.id, "title": self.title, "kind": self.kind, "y_label": self.y_label,
                "points": [[label, fen] for label, fen in self.points]}


@dataclass
class Report:
    id: str
    title: str
    subtitle: str = ""
    summary: list = field(default_factory=list)  # [(label, value, kind)]
    tables: list = field(default_factory=list)
    charts: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_dict(self):
        return {"id": self.id, "title": self.title, "subtitle": self.subtitle,
                "summary": [{"label": l, "value": v, "kind": k} for l, v, k in self.summary],
                "tables": [t.to_dict() for t in self.tables], "charts": [c.to_dict() for c in self.charts],
                "notes": list(self.notes)}
