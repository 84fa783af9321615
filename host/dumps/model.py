"""A MIFARE Classic dump as the interchange formats carry it (docs/dumps.md): blocks of 16 bytes
where any byte may be unknown (None), plus what the card answered in anticollision — UID, ATQA,
SAK — when the file says it. Every format module reads into and writes from a CardDump."""
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.protocol.mifare import blocks as mifare_blocks

BLOCK = 16
# block count -> size name (MIFARE Mini, Classic 1K, Plus/Classic 2K, Classic 4K); block and sector
# numbers are the same on every size (icpurse.protocol.mifare.geometry)
SIZES = {20: "mini", 64: "1k", 128: "2k", 256: "4k"}
BLOCKS_OF = {v: k for k, v in SIZES.items()}
# ATQA (MSB first, as the PN532 reports it) and SAK by size and UID length: MF1S50yyX / MF1S70yyX
# (the PN532 constants), libnfc's type table for the Mini and 2K (docs/simulator.md, card table)
_ATQA = {("mini", 4): codec.TG_ATQA_1K_4B, ("mini", 7): codec.TG_ATQA_1K_7B,
         ("1k", 4): codec.TG_ATQA_1K_4B, ("1k", 7): codec.TG_ATQA_1K_7B,
         ("2k", 4): codec.TG_ATQA_1K_4B, ("2k", 7): codec.TG_ATQA_1K_7B,
         ("4k", 4): codec.TG_ATQA_4K_4B, ("4k", 7): codec.TG_ATQA_4K_7B}
_SAK = {"mini": codec.TG_SAK_MINI, "1k": codec.TG_SAK_CLASSIC_1K, "2k": codec.TG_SAK_CLASSIC_1K,
        "4k": codec.TG_SAK_CLASSIC_4K}


class DumpError(ValueError):
    """A file that is not a dump of the format claimed (or detected): the message says where."""

    exit_code = 2  # bad input (the icpurse command's exit code)


def uid_length(block0):
    """The UID length (4 or 7) of a dump's block 0, whose bytes may be unknown (None): the rule of
    icpurse.protocol.mifare.blocks.uid_length when bytes 0..9 are known; with only the UID and BCC
    known, the BCC alone decides; with a byte of the UID or the BCC unknown, 4 (no UID to tell from the
    file then: CardDump.effective_uid says so when it needs one)."""
    b = list(block0)
    if None in b[0:5]:
        return 4
    if None in b[5:10]:
        return 4 if mifare_blocks.bcc(b[0:4]) == b[4] else 7
    return mifare_blocks.uid_length(b)


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
        n = uid_length(b0)
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
