# micropython: yes
"""The icpurse sector maps, v1 and v2 (docs/card-layout.md), as data.

Personalisation, the purse protocol, `icpurse layout show` and the tests read the maps from here;
nothing else hard-codes a sector or block number. Access conditions are C1C2C3 values
(`C1<<2 | C2<<1 | C3`) for (block 0, block 1, block 2, trailer) of each sector.

v2 keeps v1's sectors 1 and 2 with their access bits unchanged (so a v1 card migrates without a
trailer write) and gives them new content: the identity sector's third block holds the issuer's
credit record, the value sector holds the balance, its backup and the purse header. v2 uses no
other sector.
"""
from icpurse.protocol.mifare import geometry

# Data-block conditions (datasheet Table 8) and trailer conditions (Table 7) used by the layout.
RW_AB = 0b000  # read/write/value ops with key A or B
R_AB_W_B = 0b100  # read A|B, write B
VALUE_DEC_A = 0b110  # read A|B, write B, increment B, decrement/transfer/restore A|B
TRAILER_B_ADMIN = 0b011  # key A: read access bits only; key B: write keys and access bits
TRANSPORT_TRAILER = 0b001

MAD_SECTOR = 0
MAD2_SECTOR = 16
IDENTITY_SECTOR = 1
VALUE_SECTOR = 2
SLOT_SECTORS = (3, 4)
LOG_SECTORS = tuple(range(5, 15))
FREE_SECTORS_1K = (15,)

IDENTITY_BLOCK = geometry.first_block(IDENTITY_SECTOR)  # blocks 4-5
BALANCE_BLOCK = geometry.first_block(VALUE_SECTOR)  # block 8
CEILING_BLOCK = BALANCE_BLOCK + 1  # block 9
RECORD_BLOCKS = 2  # identity, slot and log records span two blocks of their sector

# v2 (docs/card-layout.md, "Layout v2"): one sector for the whole debit.
PURSE_SECTOR = VALUE_SECTOR  # sector 2: balance, backup, header; key A may only decrement
BACKUP_BLOCK = BALANCE_BLOCK + 1  # block 9 (v1: the ceiling)
HEADER_BLOCK = BALANCE_BLOCK + 2  # block 10 (v1: reserved zeros, key B only)
CREDIT_BLOCK = IDENTITY_BLOCK + 2  # block 6 (v1: reserved zeros, key B only)
V2_SECTORS = (IDENTITY_SECTOR, PURSE_SECTOR)

# MAD application identifier of the icpurse application: function cluster 0x01 (miscellaneous
# applications), application code 0x50 ('P'). Not an NXP-registered AID; issuers with a registered
# one set it per programme.
PURSE_AID = 0x0150
MAD_INFO_BYTE = IDENTITY_SECTOR  # card publisher sector: the identity record
GPB_MAD1 = 0xC1  # DA | MA | ADV=01
GPB_MAD2 = 0xC2
GPB_DEFAULT = 0x69  # value of byte 9 as delivered; kept for application sectors


class SectorSpec:
    """One sector of the layout: what its blocks hold and who may do what."""

    def __init__(self, number, name, blocks, conds, key_a="diversified", gpb=GPB_DEFAULT):
        self.number = number
        self.name = name
        self.blocks = blocks  # descriptions of the data blocks, in order
        self.conds = conds  # (block0, block1, block2, trailer) C1C2C3
        self.key_a = key_a  # "mad" (public MAD key) or "diversified"
        self.gpb = gpb


def sector_map(geom=None, version=1):
    """The sector map of layout `version` (1 or 2) for a card geometry (1K default; 4K adds MAD2
    in sector 16)."""
    geom = geom or geometry.CLASSIC_1K
    if version == 2:
        return _sector_map_v2(geom)
    sectors = [
        SectorSpec(
            MAD_SECTOR,
            "MAD",
            ("manufacturer block (UID, BCC) — read-only", "MAD1: CRC, info byte, AIDs of sectors 1–7",
             "MAD1: AIDs of sectors 8–15"),
            (R_AB_W_B, R_AB_W_B, R_AB_W_B, TRAILER_B_ADMIN),
            key_a="mad",
            gpb=GPB_MAD2 if geom.sector_count > 16 else GPB_MAD1,
        ),
        SectorSpec(
            IDENTITY_SECTOR,
            "identity",
            ("identity record (bytes 0–15)", "identity record (bytes 16–31, MAC)", "reserved (zeros)"),
            (R_AB_W_B, R_AB_W_B, R_AB_W_B, TRAILER_B_ADMIN),
        ),
        SectorSpec(
            VALUE_SECTOR,
            "purse values",
            ("balance value block (fen)", "ceiling value block (balance after last top-up)",
             "reserved (zeros, never a value block)"),
            (VALUE_DEC_A, VALUE_DEC_A, R_AB_W_B, TRAILER_B_ADMIN),
        ),
    ]
    for i, s in enumerate(SLOT_SECTORS):
        sectors.append(
            SectorSpec(s, "purse slot %d" % i, ("slot record (bytes 0–15)", "slot record (bytes 16–31, MAC)",
                                                "reserved"), (RW_AB, RW_AB, RW_AB, TRAILER_B_ADMIN))
        )
    for i, s in enumerate(LOG_SECTORS):
        sectors.append(
            SectorSpec(s, "log entry %d" % i, ("log entry (bytes 0–15)", "log entry (bytes 16–31, MAC)",
                                               "reserved"), (RW_AB, RW_AB, RW_AB, TRAILER_B_ADMIN))
        )
    if geom.sector_count > 16:
        sectors.append(
            SectorSpec(MAD2_SECTOR, "MAD2", ("MAD2: CRC, info byte, AIDs", "MAD2: AIDs", "MAD2: AIDs"),
                       (R_AB_W_B, R_AB_W_B, R_AB_W_B, TRAILER_B_ADMIN), key_a="mad")
        )
    return sectors


def _sector_map_v2(geom):
    sectors = [
        SectorSpec(
            MAD_SECTOR,
            "MAD",
            ("manufacturer block (UID, BCC) — read-only", "MAD1: CRC, info byte, AIDs of sectors 1–7",
             "MAD1: AIDs of sectors 8–15"),
            (R_AB_W_B, R_AB_W_B, R_AB_W_B, TRAILER_B_ADMIN),
            key_a="mad",
            gpb=GPB_MAD2 if geom.sector_count > 16 else GPB_MAD1,
        ),
        SectorSpec(
            IDENTITY_SECTOR,
            "identity",
            ("identity record (bytes 0–15)", "identity record (bytes 16–31, MAC)",
             "credit record: the issuer's last write, sealed with the load MAC key"),
            (R_AB_W_B, R_AB_W_B, R_AB_W_B, TRAILER_B_ADMIN),
        ),
        SectorSpec(
            PURSE_SECTOR,
            "purse",
            ("balance value block (fen; address byte = issuer-write generation)",
             "backup value block (never above the balance)",
             "purse header: card number, expiry, ceiling, check MAC"),
            (VALUE_DEC_A, VALUE_DEC_A, R_AB_W_B, TRAILER_B_ADMIN),
        ),
    ]
    if geom.sector_count > 16:
        sectors.append(
            SectorSpec(MAD2_SECTOR, "MAD2", ("MAD2: CRC, info byte, AIDs", "MAD2: AIDs", "MAD2: AIDs"),
                       (R_AB_W_B, R_AB_W_B, R_AB_W_B, TRAILER_B_ADMIN), key_a="mad")
        )
    return sectors


def application_sectors():
    """Sectors the MAD assigns to the icpurse application."""
    return (IDENTITY_SECTOR, VALUE_SECTOR) + SLOT_SECTORS + LOG_SECTORS


def slot_block(index):
    """First block of purse slot 0 or 1."""
    return geometry.first_block(SLOT_SECTORS[index])


def log_block(seq):
    """First block of the log entry that transaction `seq` writes (ring of len(LOG_SECTORS))."""
    return geometry.first_block(LOG_SECTORS[seq % len(LOG_SECTORS)])
