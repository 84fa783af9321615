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
    return folder, path


def test_html_is_self_contained(page):
    text = page[1].read_text(encoding="utf-8")
    assert "<script" not in text and " src=" not in text and "url(" not in text
    assert not re.search(r'href="(?!#)', text)  # only in-page links
    assert "default-src 'none'" in text


@needs_chromium
def test_html_report_renders_in_headless_chromium(page):
    folder, path = page
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
    folder, path = page
    chromium(folder, "--screenshot=%s" % (folder / "shot.png"), "--window-size=1200,1600", path.as_uri())
    width, height, distinct = _png_size_and_colours((folder / "shot.png").read_bytes())
    assert (width, height) == (1200, 1600)
    assert distinct > 10  # text, bars and lines drawn, not an empty page
