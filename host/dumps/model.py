"""A MIFARE Classic dump as the interchange formats carry it (docs/dumps.md): blocks of 16 bytes
where any byte may be unknown (None), plus what the card answered in anticollision — UID, ATQA,
SAK — when the file says it. Every format module reads into and writes from a CardDump."""
from dataclasses import dataclass, field

BLOCK = 16
# block count -> size name (MIFARE Mini, Classic 1K, Plus/Classic 2K, Classic 4K)
SIZES = {20: "mini", 64: "1k", 128: "2k", 256: "4k"}
BLOCKS_OF = {v: k for k, v in SIZES.items()}
# ATQA (MSB first, as the PN532 reports it) and SAK by size and UID length: MF1S50yyX / MF1S70yyX
# tables, libnfc's type table for the Mini and 2K (docs/simulator.md, card table)
_ATQA = {("mini", 4): 0x0004, ("1k", 4): 0x0004, ("1k", 7): 0x0044, ("2k", 4): 0x0004, ("2k", 7): 0x0044,
         ("4k", 4): 0x0002, ("4k", 7): 0x0042, ("mini", 7): 0x0044}
_SAK = {"mini": 0x09, "1k": 0x08, "2k": 0x08, "4k": 0x18}


class DumpError(ValueError):
    """A file that is not a dump of the format claimed (or detected): the message says where."""


def bcc(b4):
    return b4[0] ^ b4[1] ^ b4[2] ^ b4[3]


def is_trailer(block):
    """Sector trailer: every 4th block below 128, every 16th from 128 on (4K map)."""
    return block % 4 == 3 if block < 128 else (block - 128) % 16 == 15


def sector_of(block):
    return block // 4 if block < 128 else 32 + (block - 128) // 16


def sector_blocks(sector):
    """(first block, block count) of a sector."""
    return (4 * sector, 4) if sector < 32 else (128 + 16 * (sector - 32), 16)


def guess_uid_len(block0):
    """4 when byte 4 is the BCC of bytes 0..3, else 7. When a 7-byte UID happens to carry that
    "BCC", the SAK/ATQA after the UID decide (NXP layout: SAK, ATQA LSB first)."""
    b = list(block0)
    if None in b[0:10] or bcc(b[0:4]) != b[4]:
        return 7 if None not in b[0:7] else 4
    as4 = (b[5], b[6] | b[7] << 8)
    as7 = (b[7], b[8] | b[9] << 8)
    known4 = {(_SAK[s], _ATQA[(s, 4)]) for s in ("1k", "4k")}
    known7 = {(_SAK[s], _ATQA[(s, 7)]) for s in ("1k", "4k")}
    return 7 if as4 not in known4 and as7 in known7 else 4


@dataclass
class CardDump:
    blocks: list  # per block: a list of 16 ints, None for an unknown byte
    uid: bytes = None  # None: not in the file (taken from block 0 then)
    atqa: int = None  # MSB first (0x0004 for a 1K), None when the file does not say
    sak: int = None
    source: str = ""  # format it was read from
    notes: list = field(default_factory=list)

    def __post_init__(self):
        if len(self.blocks) not in SIZES:
            raise DumpError("a MIFARE Classic dump has 20, 64, 128 or 256 blocks, got %d" % len(self.blocks))
        for i, b in enumerate(self.blocks):
            if len(b) != BLOCK:
                raise DumpError("block %d has %d bytes, not 16" % (i, len(b)))

    @classmethod
    def from_bytes(cls, data, **kw):
        if len(data) % BLOCK:
            raise DumpError("%d bytes is not a whole number of 16-byte blocks" % len(data))
        return cls([list(data[i:i + BLOCK]) for i in range(0, len(data), BLOCK)], **kw)

    @property
    def size(self):
        return SIZES[len(self.blocks)]

    def unknown(self):
        return sum(b.count(None) for b in self.blocks)

    def effective_uid(self):
        """The UID: from the file, else from block 0 (length guessed by its BCC)."""
        if self.uid is not None:
            return bytes(self.uid)
        b0 = self.blocks[0]
        n = guess_uid_len(b0)
        if None in b0[:n]:
            raise DumpError("the UID is unknown: block 0 is not in the dump and the file names no UID")
        return bytes(b0[:n])

    def uid_known(self):
        return self.uid is not None

    def effective_atqa(self):
        if self.atqa is not None:
            return self.atqa
        return _ATQA[(self.size, 7 if len(self.effective_uid()) == 7 else 4)]

    def effective_sak(self):
        return self.sak if self.sak is not None else _SAK[self.size]

    def block_bytes(self, i):
        b = self.blocks[i]
        return None if None in b else bytes(b)

    def raw(self, fill=None):
        """All blocks as bytes. Unknown bytes: DumpError unless `fill` (0..255) stands for them."""
        if fill is None and self.unknown():
            raise DumpError("%d byte(s) of this dump are unknown and this format cannot say so: convert to "
                            "Flipper .nfc or MIFARE Classic Tool instead, or give --fill-unknown XX"
                            % self.unknown())
        out = bytearray()
        for b in self.blocks:
            out += bytes(fill if v is None else v for v in b)
        return bytes(out)

    def summary(self):
        uid = None
        try:
            uid = self.effective_uid().hex().upper()
        except DumpError:
            pass
        return {"format": self.source, "size": self.size, "blocks": len(self.blocks), "uid": uid,
                "uid_from": "file" if self.uid is not None else "block 0",
                "atqa": "%04X" % self.effective_atqa() if uid else None,
                "atqa_from": "file" if self.atqa is not None else "size and UID length",
                "sak": "%02X" % self.effective_sak(), "sak_from": "file" if self.sak is not None else "size",
                "unknown_bytes": self.unknown(),
                "unknown_blocks": [i for i, b in enumerate(self.blocks) if None in b]}


def parse_hex_bytes(text, what, allow_unknown=None):
    """'DE AD ?? EF' / 'DEAD--EF' -> list of ints / None. `allow_unknown` is the unknown marker
    ('??' or '--'), or None when the format has none."""
    t = text.strip()
    if " " in t:
        parts = t.split()
    else:
        if len(t) % 2:
            raise DumpError("%s: odd number of hex digits" % what)
        parts = [t[i:i + 2] for i in range(0, len(t), 2)]
    out = []
    for p in parts:
        if allow_unknown is not None and p == allow_unknown:
            out.append(None)
            continue
        if len(p) != 2:
            raise DumpError("%s: %r is not a byte" % (what, p))
        try:
            out.append(int(p, 16))
        except ValueError:
            raise DumpError("%s: %r is not hex%s" % (what, p, (" or %s" % allow_unknown) if allow_unknown else ""))
    return out
