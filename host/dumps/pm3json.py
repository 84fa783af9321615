"""Proxmark3 JSON dumps, `"FileType": "mfc v2"` (also reads "mfcard" and "mfc v3"):
{"Created", "FileType", "Card": {"UID", "ATQA", "SAK"}, "blocks": {"0": "<32 hex>", ...},
"SectorKeys": {"0": {"KeyA", "KeyB", "AccessConditions", "AccessConditionsText": {...}}}}.
ATQA is written as the card sends it (LSB first: "0400" for a 1K). The blocks hold everything;
SectorKeys repeat the trailers for people (the proxmark client reads the blocks). No way to say
"unknown": a missing block is read as unknown, a partly unknown block cannot be written."""
import json

from icpurse.host.dumps.model import BLOCK, CardDump, DumpError, parse_hex_bytes
from icpurse.protocol.mifare import geometry

NAME = "proxmark-json"
EXTENSIONS = (".json",)
FILE_TYPES = ("mfc v2", "mfcard", "mfc v3")


def sniff(data, text):
    return text is not None and text.lstrip().startswith("{") and '"FileType"' in text


def _hex(obj, key, what, n=None):
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise DumpError("%s: %s is not a hex string" % (what, key))
    b = parse_hex_bytes(v, "%s %s" % (what, key))
    if n is not None and len(b) != n:
        raise DumpError("%s: %s has %d bytes, expected %d" % (what, key, len(b), n))
    return bytes(b)


def read(data):
    try:
        doc = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, UnicodeDecodeError) as e:
        raise DumpError("not JSON: %s" % e)
    if not isinstance(doc, dict):
        raise DumpError("a proxmark JSON dump is an object")
    ftype = doc.get("FileType")
    if ftype not in FILE_TYPES:
        raise DumpError("FileType %r: a MIFARE Classic dump is one of %s" % (ftype, ", ".join(FILE_TYPES)))
    blocks_in = doc.get("blocks")
    if not isinstance(blocks_in, dict) or not blocks_in:
        raise DumpError("no \"blocks\" object")
    try:
        numbers = {int(k): v for k, v in blocks_in.items()}
    except ValueError:
        raise DumpError("block numbers must be integers")
    count = max(numbers) + 1
    for n in (20, 64, 128, 256):
        if count <= n:
            count = n
            break
    else:
        raise DumpError("block %d is beyond a 4K card" % max(numbers))
    blocks = [[None] * BLOCK for _ in range(count)]
    for n, v in numbers.items():
        if n < 0 or not isinstance(v, str):
            raise DumpError("block %s: expected a hex string" % n)
        b = parse_hex_bytes(v, "block %d" % n)
        if len(b) != BLOCK:
            raise DumpError("block %d has %d bytes, not 16" % (n, len(b)))
        blocks[n] = b
    card = doc.get("Card") or {}
    if not isinstance(card, dict):
        raise DumpError("\"Card\" must be an object")
    uid = _hex(card, "UID", "Card")
    atqa = _hex(card, "ATQA", "Card", 2)
    sak = _hex(card, "SAK", "Card", 1)
    if uid is not None and len(uid) not in (4, 7, 10):
        raise DumpError("Card UID has %d bytes" % len(uid))
    return CardDump(blocks, uid=uid, atqa=None if atqa is None else atqa[0] | atqa[1] << 8,
                    sak=None if sak is None else sak[0], source=NAME)


def write(dump, fill=None):
    raw = dump.raw(fill)
    atqa = dump.effective_atqa()
    doc = {"Created": "icpurse", "FileType": "mfc v2",
           "Card": {"UID": dump.effective_uid().hex().upper(),
                    "ATQA": bytes((atqa & 0xFF, atqa >> 8)).hex().upper(),
                    "SAK": "%02X" % dump.effective_sak()},
           "blocks": {}, "SectorKeys": {}}
    for i in range(len(raw) // BLOCK):
        b = raw[BLOCK * i:BLOCK * i + BLOCK]
        doc["blocks"][str(i)] = b.hex().upper()
        if geometry.is_trailer(i):
            doc["SectorKeys"][str(geometry.sector_of_block(i))] = {
                "KeyA": b[0:6].hex().upper(), "KeyB": b[10:16].hex().upper(),
                "AccessConditions": b[6:10].hex().upper(),
                "AccessConditionsText": {"UserData": b[9:10].hex().upper()}}
    return (json.dumps(doc, indent=2) + "\n").encode()
