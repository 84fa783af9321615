"""Raw binary dumps (.mfd / .bin): libnfc nfc-mfclassic, MIFARE Classic Tool's export, proxmark3
`.bin`. Every block in order, keys in the trailers; no UID length, ATQA or SAK and no way to say
"unknown"."""
from icpurse.host.dumps.model import BLOCKS_OF, CardDump, DumpError

NAME = "raw"
EXTENSIONS = (".mfd", ".bin", ".dump")


def sniff(data, text):
    return len(data) in {n * 16 for n in BLOCKS_OF.values()}


def read(data):
    if len(data) not in {n * 16 for n in BLOCKS_OF.values()}:
        raise DumpError("a raw dump is 320, 1024, 2048 or 4096 bytes, got %d" % len(data))
    return CardDump.from_bytes(bytes(data), source=NAME)


def write(dump, fill=None):
    return dump.raw(fill)
