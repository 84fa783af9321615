"""Byte layouts of the key-diversification inputs (one definition, shared with the firmware codec).

AN10922 diversification input M for every per-card / per-terminal key:
purpose ‖ key_version ‖ uid_len ‖ uid (7 bytes, zero-padded) ‖ sector. For terminal keys (journal,
link, configuration, transport: all from the journal master) the "uid" is the 8-digit terminal
number as 4 bytes big-endian and sector is 0.
"""
from construct import Bytes, Int8ul, Struct

from icpurse.protocol.records import UID_FIELD_SIZE


class Purpose:
    SECTOR_KEY_A = 0x10
    SECTOR_KEY_B = 0x11
    PURSE_MAC = 0x20  # identity, slot and log MACs (readers and issuer)
    LOAD_MAC = 0x21  # issuer-only MACs (top-up evidence)
    JOURNAL = 0x30  # a reader's journal MAC key
    LINK = 0x31  # a reader's link key: MACs of its USB link requests and responses
    CONFIG = 0x32  # a reader's configuration key: the back office's signed day configurations
    TRANSPORT = 0x33  # the one-off key of a blank reader's first provisioning (the lab ceremony)


DivInput = Struct(
    "purpose" / Int8ul,
    "key_version" / Int8ul,
    "uid_len" / Int8ul,
    "uid" / Bytes(UID_FIELD_SIZE),
    "sector" / Int8ul,
)
