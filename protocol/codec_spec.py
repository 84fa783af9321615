"""What the firmware codec (firmware/codec.py) exports: records, constant classes, data tables.

Add a definition here and run `make gen`; tests fail while the generated file is stale and prove
the generated codec equals construct byte for byte (tests/protocol/test_codegen.py).
"""
from icpurse.protocol import pn532, records
from icpurse.protocol.crypto import inputs

# (prefix, class with UPPER_CASE attributes)
CONSTANTS = [
    ("FRAME", pn532.Frame),
    ("CMD", pn532.Command),
    ("ST", pn532.Status),
    ("MF", pn532.Mifare),
    ("RF", pn532.RfItem),
    ("SAM", pn532.Sam),
    ("TG", pn532.Target),
    ("T", pn532.Timing),
    ("REC", records.RecordType),
    ("TXN", records.TxnKind),
    ("KIND", records.CardKind),
    ("IDF", records.IdentityFlags),
    ("PURPOSE", inputs.Purpose),
]

# (NAME, tuple or bytes)
TABLES = [
    ("FIRMWARE_VERSION", pn532.FIRMWARE_VERSION),
    ("BAUD_RATES", pn532.BAUD_RATES),
    ("DEFAULT_BAUD", pn532.DEFAULT_BAUD),
    ("LAYOUT_VERSION", records.LAYOUT_VERSION),
    ("MAC_SIZE", records.MAC_SIZE),
    ("UID_FIELD_SIZE", records.UID_FIELD_SIZE),
    ("LOG_ENTRIES", records.LOG_ENTRIES),
]

# (snake_case name, flat construct Struct)
STRUCTS = [
    ("identity", records.Identity),
    ("purse_slot", records.PurseSlot),
    ("log_entry", records.LogEntry),
    ("mac_header", records.MacHeader),
    ("div_input", inputs.DivInput),
]
