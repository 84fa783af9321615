"""Flipper Zero `.nfc` files of a MIFARE Classic (Flipper's NFC file format documentation):
"Filetype: Flipper NFC device", "Version: 4" (2 and 3 read too), "Device type: Mifare Classic",
"UID", "ATQA", "SAK", "Mifare Classic type: 1K|4K|MINI", "Data format version: 2", then
"Block N: " with 16 bytes, "??" for each unknown byte. ATQA: MSB first from version 3 on
("00 04"), LSB first in version 2. Data format version 1 (key maps instead of "??") is refused."""
from icpurse.host.dumps.model import BLOCK, BLOCKS_OF, CardDump, DumpError, parse_hex_bytes

NAME = "flipper"
EXTENSIONS = (".nfc",)
FILETYPE = "Flipper NFC device"
_TYPES = {"MINI": "mini", "1K": "1k", "2K": "2k", "4K": "4k"}
_TYPE_NAMES = {v: k for k, v in _TYPES.items()}


def sniff(data, text):
    return text is not None and text.lstrip().startswith("Filetype: " + FILETYPE)


def read(data):
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise DumpError("a Flipper .nfc file is text")
    fields = {}
    blocks = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise DumpError("line %d: expected 'Key: value', got %r" % (n, line[:40]))
        key, value = key.strip(), value.strip()
        if key.startswith("Block "):
            try:
                num = int(key[6:])
            except ValueError:
                raise DumpError("line %d: bad block number %r" % (n, key))
            b = parse_hex_bytes(value, "line %d (%s)" % (n, key), "??")
            if len(b) != BLOCK:
                raise DumpError("line %d: %s has %d bytes, not 16" % (n, key, len(b)))
            blocks[num] = b
        else:
            fields[key] = value
    if fields.get("Filetype") != FILETYPE:
        raise DumpError("not a Flipper NFC device file (Filetype %r)" % fields.get("Filetype"))
    try:
        version = int(fields.get("Version", ""))
    except ValueError:
        raise DumpError("Version %r is not a number" % fields.get("Version"))
    if version not in (2, 3, 4):
        raise DumpError("Flipper NFC file version %d is not supported (2, 3 and 4 are)" % version)
    if fields.get("Device type") != "Mifare Classic":
        raise DumpError("Device type %r: only Mifare Classic dumps are MIFARE Classic dumps"
                        % fields.get("Device type"))
    if fields.get("Data format version", "2") != "2":
        raise DumpError("Mifare Classic data format version %s is not supported (2 is: '??' marks unknown "
                        "bytes); open and save the file on a current Flipper firmware" % fields["Data format version"])
    size = _TYPES.get(fields.get("Mifare Classic type", "").upper())
    if size is None:
        if not blocks:
            raise DumpError("no 'Mifare Classic type' and no blocks")
        size = next(s for n, s in sorted((n, s) for s, n in BLOCKS_OF.items()) if n > max(blocks))
    count = BLOCKS_OF[size]
    if blocks and max(blocks) >= count:
        raise DumpError("Block %d is beyond a %s card" % (max(blocks), _TYPE_NAMES[size]))
    uid = bytes(parse_hex_bytes(fields["UID"], "UID")) if "UID" in fields else None
    if uid is not None and len(uid) not in (4, 7, 10):
        raise DumpError("UID has %d bytes" % len(uid))
    atqa = None
    if "ATQA" in fields:
        a = parse_hex_bytes(fields["ATQA"], "ATQA")
        if len(a) != 2:
            raise DumpError("ATQA has %d bytes" % len(a))
        atqa = (a[0] << 8 | a[1]) if version >= 3 else (a[1] << 8 | a[0])
    sak = None
    if "SAK" in fields:
        s = parse_hex_bytes(fields["SAK"], "SAK")
        if len(s) != 1:
            raise DumpError("SAK has %d bytes" % len(s))
        sak = s[0]
    out = [blocks.get(i, [None] * BLOCK) for i in range(count)]
    return CardDump(out, uid=uid, atqa=atqa, sak=sak, source=NAME)


def _hexline(b):
    return " ".join("??" if v is None else "%02X" % v for v in b)


def write(dump, fill=None):
    atqa = dump.effective_atqa()
    lines = [
        "Filetype: " + FILETYPE,
        "Version: 4",
        "# Device type can be ISO14443-3A, ISO14443-3B, ISO14443-4A, NTAG/Ultralight, Mifare Classic, Mifare DESFire",
        "Device type: Mifare Classic",
        "# UID is common for all formats",
        "UID: " + _hexline(dump.effective_uid()),
        "# ISO14443-3A specific data",
        "ATQA: %02X %02X" % (atqa >> 8, atqa & 0xFF),
        "SAK: %02X" % dump.effective_sak(),
        "# Mifare Classic specific data",
        "Mifare Classic type: " + _TYPE_NAMES[dump.size],
        "Data format version: 2",
        "# Mifare Classic blocks, '??' means unknown data",
    ]
    for i, b in enumerate(dump.blocks):
        if fill is not None:
            b = [fill if v is None else v for v in b]
        lines.append("Block %d: %s" % (i, _hexline(b)))
    return ("\n".join(lines) + "\n").encode()
