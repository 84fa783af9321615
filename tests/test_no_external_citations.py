"""Code and docs cite only what is in this repository (docs/chip-facts.md, docs/business-rules.md, ...)
or the primary public sources (datasheets, manuals, RFCs, regulations) — never notes kept outside it.

Every tracked text file is read (code, tests, docs, TOML, Makefile, README). The patterns are spelt
in pieces so that this file does not match itself, and it is skipped by path as well."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Citations of files kept outside the repository: the chip notes, the business-rules notes (by
# section number; the in-repo docs/business-rules.md is cited by section *name*), the notes on prior art,
# the shared folder they live in, and their bare section numbers ("reference §2.6").
EXTERNAL = re.compile("|".join((
    re.escape("pn532" + "-mifare.md"),
    r"business-rules(\.md)? ?" + "\u00a7",
    re.escape("prior" + "-art.md"),
    re.escape("shared" + "/reference"),
    r"\breference \u00a7\d",
)))

# `docs/<name>.md "Section"` citations of the fact pages must name a heading that exists.
FACT_PAGES = ("chip-facts", "business-rules")
CITATION = re.compile(r'docs/(%s)\.md,?\s*(?:#\s*)?"([^"\n]+)"' % "|".join(FACT_PAGES))
ANCHOR = re.compile(r"\((%s)\.md#([a-z0-9-]+)\)" % "|".join(FACT_PAGES))


def tracked_files(root=ROOT):
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def text_of(root, name):
    try:
        return (Path(root) / name).read_text(encoding="utf-8")
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        return None  # binary files, submodules, files deleted in the work tree


def external_citations(root=ROOT, skip=(SELF,)):
    """(path, line number, line) of every line citing a file outside the repository."""
    found = []
    for name in tracked_files(root):
        if name in skip:
            continue
        text = text_of(root, name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if EXTERNAL.search(line):
                found.append((name, number, line.strip()))
    return found


def headings(root, page):
    text = (Path(root) / "docs" / (page + ".md")).read_text(encoding="utf-8")
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)]


def github_anchor(heading):
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def test_nothing_cites_files_outside_the_repository():
    found = external_citations()
    assert not found, "cite docs/ or the primary source instead:\n" + "\n".join(
        "%s:%d: %s" % hit for hit in found)


def test_the_check_finds_a_planted_citation(tmp_path):
    # The check itself can fail: a fresh repository with one offending line in each kind of file.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.py").write_text('"""Access bits (%s \u00a72.5)."""\n' % ("pn532" + "-mifare.md"))
    (tmp_path / "b.toml").write_text('source = "%s \u00a73.1"\n' % "business-rules.md")
    (tmp_path / "c.md").write_text("Facts: `../%s/`.\n" % ("shared" + "/reference"))
    (tmp_path / "d.md").write_text("Fine: docs/business-rules.md \"MOFCOM profile\"; MF1S50yyX \u00a78.7.1.\n")
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    assert sorted(name for name, _, _ in external_citations(tmp_path, skip=())) == ["a.py", "b.toml", "c.md"]


def test_citations_of_the_fact_pages_name_their_sections():
    known = {page: headings(ROOT, page) for page in FACT_PAGES}
    anchors = {page: {github_anchor(h) for h in known[page]} for page in FACT_PAGES}
    bad = []
    for name in tracked_files():
        text = text_of(ROOT, name)
        if text is None:
            continue
        for m in CITATION.finditer(text):
            if m.group(2) not in known[m.group(1)]:
                bad.append("%s: docs/%s.md \"%s\"" % (name, m.group(1), m.group(2)))
        for m in ANCHOR.finditer(text):
            if m.group(2) not in anchors[m.group(1)]:
                bad.append("%s: %s.md#%s" % (name, m.group(1), m.group(2)))
    assert not bad, "no such section:\n" + "\n".join(bad)
