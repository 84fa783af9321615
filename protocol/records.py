"""The icpurse card records (layouts v1 and v2), one construct definition each (docs/card-layout.md).

Every record is a fixed-size, flat Struct of integers and byte strings so that
`icpurse.protocol.codegen` can generate the equivalent MicroPython codec for the firmware. All
integers are little-endian, like MIFARE value blocks. Money is integer fen.
"""
from construct import Bytes, Int8ul, Int16ul, Int24ul, Int32ul, Struct

LAYOUT_VERSION = 1  # the v1 layout (slots, log); what v1 records' MACs carry
LAYOUT_V2 = 2  # the v2 layout (value blocks + header; docs/card-layout.md)
MAC_SIZE = 8  # bytes of AES-CMAC kept in every record but the v2 purse header
HEADER_MAC_SIZE = 6  # the v2 purse header's check MAC (docs/card-layout.md: why 6 is enough there)
UID_FIELD_SIZE = 7  # UIDs (4 or 7 bytes) are zero-padded to 7 in MAC and KDF inputs
LOG_ENTRIES = 10  # ring positions; entry n goes to position n % LOG_ENTRIES


class RecordType:
    """First byte of every MAC input: keeps the MACs of different records apart."""

    IDENTITY = 0x49  # 'I'
    SLOT = 0x53  # 'S'
    LOG = 0x4C  # 'L'
    JOURNAL = 0x4A  # 'J' (reader journal records, terminal key)
    HEADER = 0x48  # 'H' (v2 purse header, purse MAC key)
    CREDIT = 0x43  # 'C' (v2 credit record's seal, load MAC key: issuer only)


class TxnKind:
    """Transaction kinds carried by purse slots, log entries and reader journals."""

    ISSUE = 1  # personalisation: the first slot, balance 0
    LOAD = 2  # top-up (issuer)
    DEBIT = 3  # purchase at a store reader
    VOID = 4  # same-day reversal of a top-up (issuer)
    REFUND = 5  # goods returned to the card (issuer)
    ADJUST = 6  # back-office correction (issuer)
    RECOVER = 7  # issuer recovery of a corrupt purse
    MIGRATE = 8  # a v1 card moved to layout v2 (issuer; amount 0)


# How people and reports call each kind (CLI, JSON, reports): one spelling, exported by the codec
# generator as TXN_NAMES. LOAD is a "top-up" (充值) wherever it is shown.
TXN_NAMES = {
    TxnKind.ISSUE: "issue",
    TxnKind.LOAD: "top-up",
    TxnKind.DEBIT: "debit",
    TxnKind.VOID: "void",
    TxnKind.REFUND: "refund",
    TxnKind.ADJUST: "adjust",
    TxnKind.RECOVER: "recover",
    TxnKind.MIGRATE: "migrate",
}


class CardKind:
    """Card kinds of the utility-card programme (docs/business-rules.md "Card numbering"), stored as
    ASCII."""

    REGULAR = 0x50  # 'P'
    COMMEMORATIVE = 0x4A  # 'J'
    CUSTOM = 0x54  # 'T'
    SPECIAL = 0x58  # 'X'


class IdentityFlags:
    NAMED = 0x01


# Blocks 4–5: who the card is. Written once at personalisation (key B only).
Identity = Struct(
    "layout_version" / Int8ul,
    "key_version" / Int8ul,
    "issuer" / Int16ul,
    "programme" / Int16ul,
    "card_number" / Bytes(6),  # 12 BCD digits
    "card_kind" / Int8ul,
    "flags" / Int8ul,
    "issue_year" / Int16ul,
    "issue_series" / Int8ul,
    "issue_set_size" / Int8ul,
    "issue_set_index" / Int8ul,
    "issue_date" / Int16ul,  # days since 2000-01-01
    "expiry" / Int16ul,  # days since 2000-01-01, 0 = no expiry
    "reserved" / Int8ul,
    "mac" / Bytes(MAC_SIZE),
)

# Two slots (sectors 3 and 4, blocks 0–1): the committed purse state and the transaction that made it.
PurseSlot = Struct(
    "seq" / Int32ul,
    "balance" / Int32ul,  # fen
    "day" / Int16ul,  # day of day_spent (days since 2000-01-01)
    "day_spent" / Int24ul,  # fen debited on `day`
    "kind" / Int8ul,  # TxnKind
    "amount" / Int24ul,  # fen
    "terminal" / Int32ul,  # 8-digit terminal number, 0 = issuer workstation
    "txn" / Int24ul,  # the terminal's journal number of this transaction
    "mac" / Bytes(MAC_SIZE),
)

# The first block of a purse slot: enough to see which slot is newer before reading the rest.
PurseSlotHead = Struct(
    "seq" / Int32ul,
    "rest" / Bytes(12),
)

# Log ring (sectors 5–14, blocks 0–1): recent transactions for audit and the holder.
LogEntry = Struct(
    "seq" / Int32ul,
    "kind" / Int8ul,
    "amount" / Int32ul,
    "balance" / Int32ul,
    "terminal" / Int32ul,
    "txn" / Int24ul,
    "time" / Int32ul,  # seconds since 2000-01-01 00:00 UTC
    "mac" / Bytes(MAC_SIZE),
)

# v2, block 10 (purse sector, key B only): what a store reader needs besides the balance. The card
# number is the 12-digit number as a 40-bit big-endian integer (the identity record keeps it in
# BCD); `ceiling` bounds the balance: the balance right after the issuer's last write. The MAC
# input also carries the balance block's address byte (the issuer-write generation).
PurseHeader = Struct(
    "card_number" / Bytes(5),
    "expiry" / Int16ul,  # days since 2000-01-01, 0 = no expiry (as the identity record's)
    "ceiling" / Int24ul,  # fen
    "mac" / Bytes(HEADER_MAC_SIZE),
)

# v2, block 6 (identity sector, key B only): the issuer's last write, sealed with the load MAC key
# (readers hold no load key: they cannot make or check it). The seal also covers the purse header
# and the generation, so it vouches for the ceiling readers rely on.
CreditRecord = Struct(
    "credit_seq" / Int32ul,  # issuer writes since personalisation; its low byte is the generation
    "kind" / Int8ul,  # TxnKind of that write
    "amount" / Int24ul,  # fen
    "seal" / Bytes(MAC_SIZE),
)

# Prefix of every record MAC: binds record type, UID and versions to the record bytes.
MacHeader = Struct(
    "record_type" / Int8ul,
    "uid_len" / Int8ul,
    "uid" / Bytes(UID_FIELD_SIZE),
    "layout_version" / Int8ul,
    "key_version" / Int8ul,
)


def pad_uid(uid):
    """UID (4 or 7 bytes) -> (length, 7 zero-padded bytes) as MAC and KDF inputs carry it."""
    uid = bytes(uid)
    if len(uid) not in (4, 7):
        raise ValueError("UID must be 4 or 7 bytes, got %d" % len(uid))
    return len(uid), uid + bytes(UID_FIELD_SIZE - len(uid))


class Refusal:
    """Why a card or a transaction was refused: one code per cause, shared by the purse protocol,
    the reader's USB link and its LED/buzzer codes. 0 is success."""

    OK = 0
    NO_CARD = 1  # no card in the field, or it left during the transaction
    UNKNOWN_CARD = 2  # not an icpurse card of this issuer (MAD / keys / layout)
    WRONG_KEY_VERSION = 3  # an icpurse card whose key version this reader does not hold
    FORGED = 4  # a record's MAC does not verify
    CORRUPT = 5  # no valid purse slot, or two slots disagree at the same sequence number
    BLACKLISTED = 6
    EXPIRED = 7  # beyond expiry plus the programme's grace period
    INSUFFICIENT = 8  # balance lower than the amount
    OVER_TXN_CAP = 9
    OVER_DAILY_CAP = 10
    OVER_BALANCE_CAP = 11  # top-up would exceed the programme's cap
    TOPUP_INCOMPLETE = 12  # slot ahead of the ceiling: only the issuer (key B) can finish it
    INCONSISTENT = 13  # balance block disagrees with the committed slot in a way no tear explains
    CARD_CHANGED = 14  # another card appeared between read and write
    BAD_AMOUNT = 15  # zero, negative or not an integer number of fen
    NOT_ALLOWED = 16  # the operation needs a key or role this device does not hold
    WRITE_FAILED = 17  # the card refused a write or left the field during it (outcome decided on the next tap)
    OLDER_STATE = 18  # the card shows an older state than this reader already saw (a restored copy)
    TRANSITION_OVER = 19  # a v1 card after the programme's last day for v1 cards: migrate it at the issuer
