"""Inline SVG charts drawn here (no chart library, no scripts). Coordinates use integer
arithmetic on integer fen, labels are formatted from integer fen."""
from html import escape

from icpurse.host.reports.cells import cell_text

W, H = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 96, 16, 24, 56
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM
TICKS = 4


def _nice_max(v):
    """A round axis maximum >= v (1, 2, 5 x 10^n fen)."""
    if v <= 0:
        return 100
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= v:
                return step * m
        step *= 10


def _axes(lo, hi, labels):
    parts = ['<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (LEFT, TOP, LEFT, TOP + PLOT_H),
             '<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (LEFT, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H)]
    for i in range(TICKS + 1):
        v = lo + (hi - lo) * i // TICKS
        y = TOP + PLOT_H - (v - lo) * PLOT_H // (hi - lo)
        parts.append('<line class="grid" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (LEFT, y, LEFT + PLOT_W, y))
        parts.append('<text class="ytick" x="%d" y="%d" text-anchor="end">%s</text>' % (
            LEFT - 6, y + 4, cell_text(v, "money")))
    step = max(1, (len(labels) + 13) // 14)  # at most ~14 x labels
    for i, (x, label) in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            parts.append('<text class="xtick" x="%d" y="%d" text-anchor="middle">%s</text>' % (
                x, TOP + PLOT_H + 18, escape(label[5:] if len(label) == 10 else label)))
    return parts


def _svg(chart, body):
    return ('<svg xmlns="http://www.w3.org/2000/svg" id="chart-%s" class="chart chart-%s" viewBox="0 0 %d %d" '
            'width="%d" height="%d" role="img" aria-label="%s"><title>%s</title>%s</svg>') % (
        escape(chart.id), chart.kind, W, H, W, H, escape(chart.title), escape(chart.title), "".join(body))


def bar_chart(chart):
    n = max(1, len(chart.points))
    hi = _nice_max(max([v for _, v in chart.points] + [0]))
    slot = PLOT_W // n
    bw = max(1, slot * 7 // 10)
    body, labels = [], []
    for i, (label, fen) in enumerate(chart.points):
        x = LEFT + i * slot + (slot - bw) // 2
        h = max(0, fen) * PLOT_H // hi
        body.append('<rect class="bar" x="%d" y="%d" width="%d" height="%d" data-label="%s" data-fen="%d">'
                    '<title>%s: %s yuan</title></rect>' % (x, TOP + PLOT_H - h, bw, h, escape(label), fen,
                                                           escape(label), cell_text(fen, "money")))
        labels.append((x + bw // 2, label))
    body.append('<text class="ylabel" x="12" y="%d">%s</text>' % (TOP - 8, escape(chart.y_label)))
    return _svg(chart, _axes(0, hi, labels) + body)


def line_chart(chart):
    values = [v for _, v in chart.points] or [0]
    lo = min(0, min(values))
    lo = -_nice_max(-lo) if lo < 0 else 0
    hi = _nice_max(max(values + [1]))
    n = len(chart.points)
    coords = []
    for i, (label, fen) in enumerate(chart.points):
        x = LEFT + (PLOT_W // 2 if n == 1 else i * PLOT_W // (n - 1))
        y = TOP + PLOT_H - (fen - lo) * PLOT_H // (hi - lo)
        coords.append((x, y, label, fen))
    body = ['<polyline class="trend" fill="none" points="%s"/>' % " ".join("%d,%d" % (x, y) for x, y, _, _ in coords)]
    for x, y, label, fen in coords:
        body.append('<circle class="point" cx="%d" cy="%d" r="3" data-label="%s" data-fen="%d">'
                    '<title>%s: %s yuan</title></circle>' % (x, y, escape(label), fen, escape(label),
                                                              cell_text(fen, "money")))
    body.append('<text class="ylabel" x="12" y="%d">%s</text>' % (TOP - 8, escape(chart.y_label)))
    return _svg(chart, _axes(lo, hi, [(x, label) for x, _, label, _ in coords]) + body)


def chart_svg(chart):
    return bar_chart(chart) if chart.kind == "bars" else line_chart(chart)
