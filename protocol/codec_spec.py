"""What the generated codecs export: records, constant classes, data tables, name tables.

Add a definition here and run `make gen`: the names the firmware uses go to the device codec
(firmware/codec.py), the rest to the host codec (host/codec.py). Tests fail while a generated file
is stale and prove the generated code equals construct byte for byte (tests/protocol/test_codegen.py).
"""
from icpurse.protocol import journal, link, pn532, readerstate, records
from icpurse.protocol import layout
from icpurse.protocol.mifare import mad, trailer
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
    ("R", records.Refusal),
    ("JR", journal.RecordState),
    ("LINK_KIND", link.Kind),
    ("LINK_CMD", link.Cmd),
    ("LINK_ERR", link.LinkError),
    ("MODE", link.Mode),
    ("LINK_STATE", link.LinkState),
    ("LINK_MAC", link.MacDirection),
    ("RING", readerstate.RingKind),
]

# (NAME, tuple or bytes)
TABLES = [
    ("FIRMWARE_VERSION", pn532.FIRMWARE_VERSION),
    ("BAUD_RATES", pn532.BAUD_RATES),
    ("DEFAULT_BAUD", pn532.DEFAULT_BAUD),
    ("LAYOUT_VERSION", records.LAYOUT_VERSION),
    ("LAYOUT_V2", records.LAYOUT_V2),
    ("MAC_SIZE", records.MAC_SIZE),
    ("HEADER_MAC_SIZE", records.HEADER_MAC_SIZE),
    ("UID_FIELD_SIZE", records.UID_FIELD_SIZE),
    ("LOG_ENTRIES", records.LOG_ENTRIES),
    ("MAD_KEY_A", mad.MAD_KEY_A),
    ("LINK_VERSION", link.LINK_VERSION),
    # The MAD images of the v1 layout are the same on every card: computed here by construct.
    ("LAYOUT_MAD1", mad.build_mad1(layout.MAD_INFO_BYTE, [
        layout.PURSE_AID if s in layout.application_sectors() else mad.FREE for s in range(1, 16)])),
    ("LAYOUT_MAD2", mad.build_mad2(0, [mad.FREE] * 23)),
    ("LAYOUT_MAD1_V2", mad.build_mad1(layout.MAD_INFO_BYTE, [
        layout.PURSE_AID if s in layout.V2_SECTORS else mad.FREE for s in range(1, 16)])),
    ("LINK_SYNC", link.SYNC),
    ("LINK_MAX_PAYLOAD", link.MAX_PAYLOAD),
    ("LINK_CRC_SIZE", link.CRC_SIZE),
    ("LINK_MAC_SIZE", link.LINK_MAC_SIZE),
    ("LINK_NONCE_SIZE", link.NONCE_SIZE),
    ("LINK_AUTHENTICATED", link.AUTHENTICATED),
    ("RING_RECORD_SIZE", readerstate.RING_RECORD_SIZE),
    ("RING_MAGIC", readerstate.RING_MAGIC),
]

# (NAME, constant class, {value: "name"}): how each value is shown, one spelling each
NAMES = [
    ("TXN_NAMES", records.TxnKind, records.TXN_NAMES),
    ("JOURNAL_STATE_NAMES", journal.RecordState, journal.STATE_NAMES),
]

# (snake_case name, flat construct Struct)
STRUCTS = [
    ("identity", records.Identity),
    ("purse_slot", records.PurseSlot),
    ("purse_slot_head", records.PurseSlotHead),
    ("log_entry", records.LogEntry),
    ("purse_header", records.PurseHeader),
    ("credit_record", records.CreditRecord),
    ("mac_header", records.MacHeader),
    ("div_input", inputs.DivInput),
    ("sector_trailer", trailer.SectorTrailerRaw),
    ("link_header", link.LinkHeader),
    ("error_body", link.ErrorBody),
    ("reader_info", link.ReaderInfo),
    ("set_time", link.SetTime),
    ("provision_keys", link.ProvisionKeys),
    ("blacklist_header", link.BlacklistHeader),
    ("blacklist_entry", link.BlacklistEntry),
    ("sign_in", link.SignIn),
    ("sign_in_result", link.SignInResult),
    ("day_config", link.DayConfig),
    ("link_auth", link.LinkAuth),
    ("link_mac_header", link.LinkMacHeader),
    ("debit_request", link.DebitRequest),
    ("debit_result", link.DebitResult),
    ("read_card_request", link.ReadCardRequest),
    ("card_summary", link.CardSummary),
    ("fetch_journal", link.FetchJournal),
    ("journal_chunk", link.JournalChunk),
    ("ack_journal", link.AckJournal),
    ("day_totals", link.DayTotals),
    ("card_wait", link.CardWait),
    ("card_found", link.CardFound),
    ("card_auth", link.CardAuth),
    ("card_block", link.CardBlock),
    ("card_write", link.CardWrite),
    ("card_data", link.CardData),
    ("card_value", link.CardValue),
    ("journal_record", journal.JournalRecord),
    ("journal_anchor", journal.JournalAnchor),
    ("card_state_record", readerstate.CardStateRecord),
]
