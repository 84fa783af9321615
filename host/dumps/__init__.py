"""MIFARE Classic dump files in the formats labs use (docs/dumps.md): raw .mfd/.bin, Proxmark3
.eml and JSON ("mfc v2"), Flipper Zero .nfc, MIFARE Classic Tool. One module per format (read,
write, sniff), format detection, unknown bytes kept unknown (CardDump)."""
import os

from icpurse.host.dumps import eml, flipper, mct, pm3json, raw
from icpurse.host.dumps.model import CardDump, DumpError

FORMATS = {m.NAME: m for m in (raw, eml, pm3json, flipper, mct)}
ALIASES = {"mfd": "raw", "bin": "raw", "proxmark": "proxmark-json", "json": "proxmark-json", "pm3": "proxmark-json",
           "nfc": "flipper", "mifare-classic-tool": "mct"}
# the order formats are tried in (text formats with a header first; raw last: any size matches)
_SNIFF_ORDER = (pm3json, flipper, mct, eml, raw)

__all__ = ["CardDump", "DumpError", "FORMATS", "detect", "load", "loads", "dumps", "save", "format_for_path"]


def _text(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def format_name(name):
    name = (name or "").lower()
    name = ALIASES.get(name, name)
    if name not in FORMATS:
        raise DumpError("unknown dump format %r (one of %s)" % (name, ", ".join(FORMATS)))
    return name


def detect(data):
    """The format of a dump's content (not its name)."""
    text = _text(data)
    for m in _SNIFF_ORDER:
        if m.sniff(data, text):
            return m.NAME
    raise DumpError("not a MIFARE Classic dump in a known format (%d bytes): raw dumps are 320/1024/2048/4096 "
                    "bytes; text dumps are Proxmark .eml/JSON, Flipper .nfc or MIFARE Classic Tool" % len(data))


def format_for_path(path):
    """The format a file name asks for by its extension, or None."""
    ext = os.path.splitext(str(path))[1].lower()
    for m in FORMATS.values():
        if ext in m.EXTENSIONS:
            return m.NAME
    return None


def loads(data, fmt=None):
    name = format_name(fmt) if fmt else detect(data)
    return FORMATS[name].read(data)


def load(path, fmt=None):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DumpError("cannot read %s: %s" % (path, e.strerror or e))
    try:
        return loads(data, fmt)
    except DumpError as e:
        raise DumpError("%s: %s" % (path, e))


def dumps(dump, fmt, fill=None):
    return FORMATS[format_name(fmt)].write(dump, fill)


def save(dump, path, fmt=None, fill=None):
    """Write atomically (temporary file + rename), so a failed conversion leaves nothing half-written."""
    name = format_name(fmt) if fmt else format_for_path(path)
    if name is None:
        raise DumpError("cannot tell the format from %s: name it (--to raw|eml|proxmark-json|flipper|mct)" % path)
    data = dumps(dump, name, fill)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return name
