"""Proxmark3 emulator files (.eml): one block per line, 32 hex digits; nothing else, no way to
say "unknown"."""
import re

from icpurse.host.dumps.model import BLOCKS_OF, CardDump, DumpError, parse_hex_bytes

NAME = "eml"
EXTENSIONS = (".eml",)
_LINE = re.compile(r"^[0-9A-Fa-f]{32}$")


def _lines(text):
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def sniff(data, text):
    if text is None:
        return False
    lines = _lines(text)
    return bool(lines) and all(_LINE.match(ln) for ln in lines)


def read(data):
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    lines = _lines(text)
    for i, ln in enumerate(lines):
        if not _LINE.match(ln):
            raise DumpError(".eml line %d: expected 32 hex digits, got %r" % (i + 1, ln[:40]))
    if len(lines) not in BLOCKS_OF.values():
        raise DumpError(".eml has %d blocks; a MIFARE Classic has 20, 64, 128 or 256" % len(lines))
    return CardDump([parse_hex_bytes(ln, "block %d" % i) for i, ln in enumerate(lines)], source=NAME)


def write(dump, fill=None):
    raw = dump.raw(fill)
    return "".join(raw[i:i + 16].hex().upper() + "\n" for i in range(0, len(raw), 16)).encode()
