"""Raw .mfd dump files (libnfc nfc-mfclassic / MIFARE Classic Tool): 1024 or 4096 bytes, block by
block, real keys in the trailers. CPython only (files)."""
from icpurse.hil.sim.card import ClassicCard


def save(card, path):
    with open(path, "wb") as f:
        f.write(card.to_mfd())


def load(path, magic=False, uid_len=None, faults=None):
    with open(path, "rb") as f:
        return ClassicCard.from_mfd(f.read(), magic=magic, uid_len=uid_len, faults=faults)
