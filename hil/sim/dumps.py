"""Card dumps for the simulator: any format icpurse.host.dumps reads (raw .mfd/.bin, Proxmark
.eml/JSON, Flipper .nfc, MIFARE Classic Tool), detected from the content; written as raw .mfd
(or by the file's extension). CPython only (files).

A dump may say a byte is unknown; a simulated card cannot hold "unknown", so such bytes are filled
and the caller is told how many: data bytes 00, trailer parts with the transport configuration
(keys FF x 6, access bytes FF 07 80 69) — a sector whose keys nobody knows is then open, which a
test must not mistake for the original card.
"""
from icpurse.hil.sim.card import TRANSPORT_TRAILER, ClassicCard
from icpurse.host import dumps as formats
from icpurse.host.dumps.model import CardDump, DumpError
from icpurse.protocol.mifare import geometry

SIM_SIZES = ("1k", "4k")


def card_from_dump(d, magic=False, uid_len=None, faults=None):
    """(ClassicCard, number of unknown bytes that were filled) from a CardDump."""
    if d.size not in SIM_SIZES:
        raise DumpError("the simulator has MIFARE Classic 1K and 4K cards; this dump is a %s" % d.size.upper())
    filled = d.unknown()
    blocks = []
    for i, b in enumerate(d.blocks):
        dflt = TRANSPORT_TRAILER if geometry.is_trailer(i) else bytes(16)
        blocks.append(bytearray(dflt[k] if v is None else v for k, v in enumerate(b)))
    uid = d.effective_uid() if uid_len is None else bytes(blocks[0][:uid_len])
    if d.uid is not None and uid_len is not None and len(d.uid) != uid_len:
        raise DumpError("the dump names a %d-byte UID, the card spec %d bytes" % (len(d.uid), uid_len))
    if len(uid) not in (4, 7):
        raise DumpError("the simulator's cards have 4- or 7-byte UIDs, the dump names %d bytes" % len(uid))
    card = ClassicCard(uid, d.size, magic=magic, blocks=blocks, faults=faults)
    return card, filled


def dump_from_card(card):
    """A CardDump of a simulated card (UID, ATQA and SAK as it answers them; every byte known)."""
    return CardDump.from_bytes(card.to_mfd(), uid=bytes(card.uid), atqa=card.atqa, sak=card.sak, source="sim")


def save(card, path, fmt=None):
    """Write the card's dump: raw .mfd unless `fmt` or the file's extension names another format."""
    fmt = fmt or formats.format_for_path(path) or "raw"
    formats.save(dump_from_card(card), path, fmt)


def load(path, magic=False, uid_len=None, faults=None, fmt=None):
    """A ClassicCard from a dump file in any known format. Raises ValueError (DumpError) with the
    file name and what is wrong."""
    card, _filled = load_with_report(path, magic, uid_len, faults, fmt)
    return card


def load_with_report(path, magic=False, uid_len=None, faults=None, fmt=None):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DumpError("cannot read %s: %s" % (path, e.strerror or e))
    if fmt is None:
        try:
            fmt = formats.detect(data)
        except DumpError:
            fmt = "raw"  # binary: the size decides below, with the simulator's own message
    if formats.format_name(fmt) == "raw" and len(data) not in (1024, 4096):
        raise DumpError("%s: an .mfd dump is 1024 or 4096 bytes, got %d (a dump in another format is taken too: "
                        "Proxmark .eml/JSON, Flipper .nfc, MIFARE Classic Tool)" % (path, len(data)))
    try:
        d = formats.loads(data, fmt)
    except DumpError as e:
        raise DumpError("%s: %s" % (path, e))
    try:
        return card_from_dump(d, magic=magic, uid_len=uid_len, faults=faults)
    except DumpError as e:
        raise DumpError("%s: %s" % (path, e))
