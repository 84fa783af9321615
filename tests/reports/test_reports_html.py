"""The self-contained HTML report, rendered in headless Chromium (Debian package `chromium`)."""
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

import reports_world as w
from icpurse.host.reports import build, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian package `chromium`) not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path, *args):
    cmd = [CHROMIUM] + FLAGS + ["--user-data-dir=%s" % (tmp_path / "chromium-profile")] + list(args)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8")


class Dom(HTMLParser):
    """Collects elements (tag, attrs) and the text of <title> and table cells."""

    def __init__(self):
        super().__init__()
        self.elements, self.stack, self.text = [], [], {}

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), list(self.stack)))
        if tag not in ("meta", "br", "link", "img", "input", "hr"):
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if any(t == tag for t, _ in self.stack):
            while self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if self.stack:
            self.text.setdefault(self.stack[-1][0], []).append(data)

    def find(self, tag, within_id=None, cls=None):
        return [a for t, a, stack in self.elements if t == tag and (cls is None or cls in a.get("class", "").split())
                and (within_id is None or any(s[1].get("id") == within_id for s in stack))]


@pytest.fixture(scope="module")
def page(facts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    path = folder / "report.html"
    path.write_text(render_html.render(build.all_reports(facts, w.D3), "icpurse report %s" % w.D3), encoding="utf-8")
    return folder, path, facts


def test_html_is_self_contained(page):
    text = page[1].read_text(encoding="utf-8")
    assert "<script" not in text and " src=" not in text and "url(" not in text
    assert not re.search(r'href="(?!#)', text)  # only in-page links
    assert "default-src 'none'" in text


@needs_chromium
def test_html_report_renders_in_headless_chromium(page):
    folder, path = page[:2]
    dom = Dom()
    dom.feed(chromium(folder, "--dump-dom", path.as_uri()))
    assert dom.text["title"][0].strip() == "icpurse report 2026-03-04"  # the page title comes first
    sections = [a["id"] for a in dom.find("section")]
    assert sections == ["report-daily", "report-outstanding", "report-volumes", "report-reconciliation"]
    bars = dom.find("rect", within_id="chart-daily-volume", cls="bar")
    assert len(bars) == build.CHART_DAYS
    by_day = {b["data-label"]: int(b["data-fen"]) for b in bars}
    assert (by_day["2026-03-02"], by_day["2026-03-03"], by_day["2026-03-04"]) == (3500, 20000, 700)
    assert int(next(b for b in bars if b["data-label"] == "2026-03-03")["height"]) > 0
    assert len(dom.find("polyline", within_id="chart-outstanding-trend", cls="trend")) == 1
    assert len(dom.find("circle", within_id="chart-outstanding-trend", cls="point")) == build.CHART_DAYS
    cells = " ".join(dom.text.get("td", []))
    closing = 200000 - 3500 - 20000 - 700 + 30000 - 300  # every booking up to the D3 cut-off
    assert "2,055.00" == "{:,}.{:02d}".format(closing // 100, closing % 100)
    assert "2,055.00" in cells  # closing outstanding balance
    assert "300.00" in cells  # the discrepancy
    if w.A in cells:  # the exception list, when the ledger has one
        assert "rollback" in cells


def _png_size_and_colours(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width, height, len(set(raw[:200000]))


@needs_chromium
def test_html_report_screenshot_is_not_blank(page):
    folder, path = page[:2]
    chromium(folder, "--screenshot=%s" % (folder / "shot.png"), "--window-size=1200,1600", path.as_uri())
    width, height, distinct = _png_size_and_colours((folder / "shot.png").read_bytes())
    assert (width, height) == (1200, 1600)
    assert distinct > 10  # text, bars and lines drawn, not an empty page


# --- Chinese labels are drawn as Chinese glyphs, not as boxes ---------------------------------------

def _decoded_rows(data):
    """The PNG's filtered scanlines, decompressed (equal images give equal bytes: same encoder)."""
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


def _glyph_shot(folder, name, text):
    from icpurse.host.reports.render_html import CSS

    page = folder / ("%s.html" % name)
    page.write_text('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>%s body{margin:0}'
                    'p{font-size:96px;margin:8px;line-height:1}</style></head><body><p>%s</p></body></html>'
                    % (CSS, text), encoding="utf-8")
    shot = folder / ("%s.png" % name)
    chromium(folder, "--screenshot=%s" % shot, "--window-size=400,140", page.as_uri())
    return _decoded_rows(shot.read_bytes())


def w_facts(page):
    return page[2]


@needs_chromium
def test_chinese_labels_render_as_glyphs_not_boxes(page, tmp_path):
    """Without a CJK font every Chinese character is drawn as the same 'missing glyph' box: two
    different characters then give the same picture. With the font (fonts-noto-cjk, installed by
    `make test`) they differ. The report page itself is shot too (build/report-zh.png, to look at)."""
    a = _glyph_shot(tmp_path, "ri", "日切")
    b = _glyph_shot(tmp_path, "yue", "月结")
    c = _glyph_shot(tmp_path, "ri-again", "日切")
    assert a == c  # the same text draws the same picture: the comparison can tell
    assert a != b, "Chinese characters render as identical boxes: no CJK font (install fonts-noto-cjk)"
    folder, path = page[:2]
    html = path.read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "Noto Sans CJK SC" in html and "@media print" in html
    assert "类别 Category" in html and "金额 Amount (元 yuan)" in html
    import os

    out = os.path.join(os.path.dirname(__file__), "..", "..", "build")
    os.makedirs(out, exist_ok=True)
    meta = {"issuer": "示例百货有限公司 Example Department Store", "report_id": "RPT-20260304-TEST",
            "generated": "2026-03-04 23:05", "timezone": "UTC+08:00 (CST)", "cutoff": "23:00 UTC+08:00 (CST)",
            "audit_head": [42, "ab" * 32], "prepared_by": "finance"}
    full = tmp_path / "report-meta.html"
    full.write_text(render_html.render(build.all_reports(w_facts(page), w.D3), "icpurse 报表 report %s" % w.D3,
                                       meta["generated"], meta), encoding="utf-8")
    text = full.read_text(encoding="utf-8")
    assert "发卡机构 Issuer" in text and 'id="audit-head">' + "ab" * 32 in text and "审核 Approved by" in text
    shot = os.path.join(out, "report-zh.png")
    chromium(tmp_path, "--screenshot=%s" % shot, "--window-size=1200,1400", full.as_uri())
    width, height, distinct = _png_size_and_colours(open(shot, "rb").read())
    assert (width, height) == (1200, 1400) and distinct > 10
