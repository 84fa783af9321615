# micropython: yes
"""MIFARE Classic memory geometry: sectors, blocks, trailers, access-bit groups.

Facts: docs/chip-facts.md "Geometry" (libnfc `is_trailer_block` / `get_trailer_block`, ACS memory maps).
Block numbers are the same on every card size (a 1K card is the first 16 sectors of a 4K map),
so the functions take an optional `geometry` that only narrows the valid range.

Plain Python without construct, written to compile under MicroPython (no f-strings, no typing).
"""

BLOCK_SIZE = 16
SMALL_SECTOR_BLOCKS = 4  # sectors 0..31
BIG_SECTOR_BLOCKS = 16  # sectors 32..39 (4K only)
SMALL_SECTORS = 32  # sectors with 4 blocks on a 4K map
BIG_SECTOR_FIRST_BLOCK = SMALL_SECTORS * SMALL_SECTOR_BLOCKS  # 128
BIG_SECTOR_GROUP_BLOCKS = 5  # access group of a 16-block sector covers 5 data blocks
TRAILER_GROUP = 3  # access group index of the sector trailer


class Geometry:
    """One MIFARE Classic card size."""

    def __init__(self, name, sector_count, block_count, size_bytes):
        self.name = name
        self.sector_count = sector_count
        self.block_count = block_count
        self.size_bytes = size_bytes

    def __repr__(self):
        return "Geometry(%r, sectors=%d, blocks=%d, bytes=%d)" % (
            self.name, self.sector_count, self.block_count, self.size_bytes)

    def sectors(self):
        return range(self.sector_count)

    def blocks(self):
        return range(self.block_count)


MINI = Geometry("MIFARE Mini", 5, 20, 320)
CLASSIC_1K = Geometry("MIFARE Classic 1K", 16, 64, 1024)
CLASSIC_4K = Geometry("MIFARE Classic 4K", 40, 256, 4096)
GEOMETRIES = (MINI, CLASSIC_1K, CLASSIC_4K)


def _check_int(value, what):
    # bool is an int subclass; a block number of True is a caller bug, not block 1
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("%s must be an int, got %r" % (what, value))


def _check_block(block, geometry):
    _check_int(block, "block number")
    if not 0 <= block < geometry.block_count:
        raise ValueError("block %d out of range: %s has blocks 0..%d" % (
            block, geometry.name, geometry.block_count - 1))


def _check_sector(sector, geometry):
    _check_int(sector, "sector number")
    if not 0 <= sector < geometry.sector_count:
        raise ValueError("sector %d out of range: %s has sectors 0..%d" % (
            sector, geometry.name, geometry.sector_count - 1))


def sector_of_block(block, geometry=CLASSIC_4K):
    """Sector that holds `block`."""
    _check_block(block, geometry)
    if block < BIG_SECTOR_FIRST_BLOCK:
        return block // SMALL_SECTOR_BLOCKS
    return SMALL_SECTORS + (block - BIG_SECTOR_FIRST_BLOCK) // BIG_SECTOR_BLOCKS


def sector_span(block, geometry=CLASSIC_4K):
    """(sector, its first block, the block after its last) of `block`: one call where a reader
    checks block after block against the sector it authenticated."""
    _check_block(block, geometry)
    if block < BIG_SECTOR_FIRST_BLOCK:
        first = block - block % SMALL_SECTOR_BLOCKS
        return block // SMALL_SECTOR_BLOCKS, first, first + SMALL_SECTOR_BLOCKS
    k = (block - BIG_SECTOR_FIRST_BLOCK) // BIG_SECTOR_BLOCKS
    first = BIG_SECTOR_FIRST_BLOCK + k * BIG_SECTOR_BLOCKS
    return SMALL_SECTORS + k, first, first + BIG_SECTOR_BLOCKS


def first_block(sector, geometry=CLASSIC_4K):
    """Number of the first block of `sector`."""
    _check_sector(sector, geometry)
    if sector < SMALL_SECTORS:
        return sector * SMALL_SECTOR_BLOCKS
    return BIG_SECTOR_FIRST_BLOCK + (sector - SMALL_SECTORS) * BIG_SECTOR_BLOCKS


def blocks_in_sector(sector, geometry=CLASSIC_4K):
    """4 for sectors 0..31, 16 for sectors 32..39."""
    _check_sector(sector, geometry)
    return SMALL_SECTOR_BLOCKS if sector < SMALL_SECTORS else BIG_SECTOR_BLOCKS


def trailer_block(sector, geometry=CLASSIC_4K):
    """Number of the sector trailer (last block) of `sector`."""
    return first_block(sector, geometry) + blocks_in_sector(sector, geometry) - 1


def is_trailer(block, geometry=CLASSIC_4K):
    return trailer_block(sector_of_block(block, geometry), geometry) == block


def block_in_sector(block, geometry=CLASSIC_4K):
    """Position of `block` inside its sector (0..3 or 0..15)."""
    return block - first_block(sector_of_block(block, geometry), geometry)


def access_group(block, geometry=CLASSIC_4K):
    """Access-bit group that governs `block`: 0, 1, 2 for data blocks, 3 for the trailer.

    In a 16-block sector, groups 0, 1, 2 cover data blocks 0-4, 5-9, 10-14
    (docs/chip-facts.md "Access bits").
    """
    sector = sector_of_block(block, geometry)
    offset = block - first_block(sector, geometry)
    if offset == blocks_in_sector(sector, geometry) - 1:
        return TRAILER_GROUP
    if sector < SMALL_SECTORS:
        return offset
    return offset // BIG_SECTOR_GROUP_BLOCKS


def data_blocks(sector, geometry=CLASSIC_4K):
    """Block numbers of the data blocks of `sector` (trailer excluded)."""
    start = first_block(sector, geometry)
    return range(start, start + blocks_in_sector(sector, geometry) - 1)


def geometry_from_sak(sak, atqa=None):
    """Card size from SAK (and ATQA in PN532 order, e.g. b"\\x00\\x02"), as nfc-mfclassic guesses it
    (docs/chip-facts.md "ATQA and SAK")."""
    if sak not in (0x08, 0x18, 0x09):
        raise ValueError("SAK 0x%02X is not a MIFARE Classic card (expected 0x08 1K, 0x18 4K or 0x09 Mini)" % sak)
    if sak == 0x09:
        return MINI
    if sak == 0x18 or (atqa is not None and atqa[1] & 0x02):
        return CLASSIC_4K
    return CLASSIC_1K
