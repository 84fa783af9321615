"""MIFARE Classic Tool (Android) dump files: "+Sector: N" then the sector's 4 (16 from sector 32
on) blocks, one line of 32 hex digits each, "-" for unknown (MCT writes "------------" for a key
it did not find and a line of 32 "-" for a block it could not read); a line starting with "*"
("*No keys found or dead sector") stands for a sector read not at all. Sectors may be missing.
No UID length, ATQA or SAK."""
import re

from icpurse.host.dumps.model import BLOCK, CardDump, DumpError, parse_hex_bytes
from icpurse.protocol.mifare import geometry

NAME = "mct"
EXTENSIONS = (".mct",)
_HEADER = re.compile(r"^\+Sector: ?([0-9]{1,2})$")
_LINE = re.compile(r"^[0-9A-Fa-f-]{32}$")
DEAD = "*No keys found or dead sector"


def sniff(data, text):
    return text is not None and any(_HEADER.match(ln.strip()) for ln in text.splitlines()[:3])


def read(data):
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise DumpError("a MIFARE Classic Tool dump is text")
    sectors = {}
    current, lines_left, n = None, 0, 0
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        m = _HEADER.match(line)
        if m:
            if lines_left:
                raise DumpError("line %d: sector %d ends after %d of its blocks" % (
                    n, current, len(sectors[current])))
            current = int(m.group(1))
            if current > 39:
                raise DumpError("line %d: sector %d does not exist (0..39)" % (n, current))
            if current in sectors:
                raise DumpError("line %d: sector %d twice (several dumps appended in one file?)" % (n, current))
            sectors[current] = []
            lines_left = geometry.blocks_in_sector(current)
            continue
        if current is None:
            raise DumpError("line %d: data before the first '+Sector:' header" % n)
        if line.startswith("*"):
            if sectors[current]:
                raise DumpError("line %d: '*' line inside sector %d's blocks" % (n, current))
            sectors[current] = None
            lines_left = 0
            continue
        if not lines_left:
            raise DumpError("line %d: sector %d already has its %d blocks" % (n, current,
                                                                              geometry.blocks_in_sector(current)))
        if not _LINE.match(line):
            raise DumpError("line %d: expected 32 hex digits or '-', got %r" % (n, line[:40]))
        try:
            b = parse_hex_bytes(line, "line %d" % n, "--")
        except DumpError:
            raise DumpError("line %d: '-' must stand for a whole byte ('--')" % n)
        sectors[current].append(b)
        lines_left -= 1
    if lines_left:
        raise DumpError("the file ends inside sector %d" % current)
    if not sectors:
        raise DumpError("no '+Sector:' header: not a MIFARE Classic Tool dump")
    top = max(sectors)
    count = 20 if top < 5 else 64 if top < 16 else 128 if top < 32 else 256
    blocks = [[None] * BLOCK for _ in range(count)]
    for s, rows in sectors.items():
        if rows is None:
            continue
        first = geometry.first_block(s)
        for k, b in enumerate(rows):
            blocks[first + k] = b
    return CardDump(blocks, source=NAME)


def write(dump, fill=None):
    lines = []
    for sector in range(geometry.sector_of_block(len(dump.blocks) - 1) + 1):
        first, k = geometry.first_block(sector), geometry.blocks_in_sector(sector)
        rows = dump.blocks[first:first + k]
        lines.append("+Sector: %d" % sector)
        if fill is None and all(v is None for b in rows for v in b):
            lines.append(DEAD)
        else:
            for b in rows:
                lines.append("".join(("--" if fill is None else "%02X" % fill) if v is None else "%02X" % v
                                     for v in b))
    return ("\n".join(lines) + "\n").encode()
