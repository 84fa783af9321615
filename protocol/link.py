"""The USB link between host tools and the store reader: framed, checksummed, versioned.

Frame = LinkHeader (10 bytes) ‖ payload (`length` bytes) ‖ CRC-32 (IEEE, little-endian) over header
and payload. The receiver hunts for the sync bytes, checks the header check byte before trusting
`length` (so line noise never makes it wait for a huge payload), then the frame CRC-32.

Requests carry `kind = REQUEST`; the reader answers with the same `seq` and `command`, `kind = RESPONSE`
and the command's response payload, or `kind = ERROR` and an `ErrorBody` (typed code + UTF-8
message) — never a traceback. Payloads are one fixed Struct, optionally followed by `count` fixed
records (blacklist entries, journal records, log entries).
"""
from construct import Bytes, Int8ul, Int16ul, Int32ul, Struct

LINK_VERSION = 1
SYNC = b"\xa5\x5a"
MAX_PAYLOAD = 4096
CRC_SIZE = 4


class Kind:
    REQUEST = 0x01
    RESPONSE = 0x02
    ERROR = 0x03


class Cmd:
    INFO = 0x01
    SET_TIME = 0x02
    PROVISION_KEYS = 0x03
    LOAD_BLACKLIST = 0x04
    SIGN_IN = 0x05
    DEBIT = 0x06
    READ_CARD = 0x07
    FETCH_JOURNAL = 0x08
    ACK_JOURNAL = 0x09
    DAY_CLOSE = 0x0A
    REBOOT = 0x0B
    CONFIGURE = 0x0C
    # Transparent MIFARE access for issuance workstations: keys pass through the reader's RAM and
    # are never stored. A reader configured with `transparent = 0` refuses these.
    CARD_WAIT = 0x10
    CARD_AUTH = 0x11
    CARD_READ = 0x12
    CARD_WRITE = 0x13
    CARD_VALUE = 0x14
    CARD_TRANSFER = 0x15


class LinkError:
    """Error codes of the link layer and of the reader; purse refusals travel as 0x40 + Refusal."""

    BAD_FRAME = 0x01  # CRC or length wrong (the host resends)
    UNSUPPORTED_VERSION = 0x02
    UNKNOWN_COMMAND = 0x03
    BAD_PAYLOAD = 0x04  # payload does not decode for this command
    NOT_PROVISIONED = 0x05  # no keys yet
    DAY_NOT_OPEN = 0x06  # debit before sign-in
    DAY_OPEN = 0x07  # e.g. provisioning while the day is open
    NO_CARD = 0x08  # no card within the timeout
    JOURNAL_FULL = 0x09  # acknowledge (upload) the journal first
    PENDING = 0x0A  # an earlier transaction is unresolved: present that card again
    BAD_ORDER = 0x0B  # e.g. acknowledging records that were never sent
    INTERNAL = 0x0F
    CARD = 0x10  # a transparent card command failed; detail = PN532 status (0x14 auth, 0x13 NAK, 0x01 gone)
    REFUSAL_BASE = 0x40  # + icpurse.protocol.records.Refusal code


class Mode:
    """Reader operating modes (set by CONFIGURE)."""

    POS = 0  # amount from the POS / host for each debit
    FIXED_PRICE = 1  # canteen / vending: every tap debits `fixed_price`


LinkHeader = Struct(
    "sync" / Bytes(2),
    "version" / Int8ul,
    "kind" / Int8ul,
    "seq" / Int8ul,
    "command" / Int8ul,
    "length" / Int16ul,
    "reserved" / Int8ul,
    "header_crc" / Int8ul,  # low byte of the CRC-32 of the 9 header bytes before it
)

ErrorBody = Struct("code" / Int8ul, "detail" / Int8ul)  # followed by the UTF-8 message

Empty = Struct()

ReaderInfo = Struct(
    "link_version" / Int8ul,
    "firmware_version" / Int16ul,
    "terminal" / Int32ul,
    "key_version" / Int8ul,  # current; 0 = not provisioned
    "previous_key_version" / Int8ul,  # 0 = none
    "blacklist_version" / Int32ul,
    "journal_next" / Int32ul,  # number the next journal record gets
    "journal_acked" / Int32ul,  # highest number the host acknowledged
    "pending" / Int16ul,  # unresolved pending transactions
    "time" / Int32ul,  # reader clock, seconds since 2000-01-01 UTC
    "day_open" / Int8ul,
    "mode" / Int8ul,
    "fixed_price" / Int32ul,
)

SetTime = Struct("time" / Int32ul)

# One key version for a store reader: never key B, never the load MAC key (role scoping).
ProvisionKeys = Struct(
    "terminal" / Int32ul,
    "key_version" / Int8ul,
    "make_current" / Int8ul,  # 1: this version becomes current, the old current becomes previous
    "sector_a" / Bytes(16),
    "purse_mac" / Bytes(16),
    "journal" / Bytes(16),  # this terminal's journal key (derived by the host)
)

BlacklistHeader = Struct(
    "version" / Int32ul,
    "total" / Int16ul,  # entries in the whole list
    "offset" / Int16ul,  # index of the first entry in this chunk
    "count" / Int16ul,  # entries in this chunk, each a BlacklistEntry
)
BlacklistEntry = Struct("card_number" / Bytes(6))

SignIn = Struct("time" / Int32ul, "operator" / Int32ul, "blacklist_version" / Int32ul)
SignInResult = Struct("day" / Int16ul, "batch" / Int32ul)

Configure = Struct(
    "mode" / Int8ul,
    "fixed_price" / Int32ul,
    "grace_days" / Int16ul,
    "txn_cap" / Int32ul,
    "daily_cap" / Int32ul,
    "issuer" / Int16ul,  # cards of another issuer are refused as unknown
    "transparent" / Int8ul,  # 1: allow CARD_* commands (issuance readers); 0: store reader
)

# Optional tail of a CONFIGURE payload (issue 11): the programme's rules a reader applies to cards
# beyond the caps above. A reader configured without it keeps 0 (no cap, v1 cards always accepted).
CardPolicy = Struct(
    "balance_cap" / Int32ul,  # fen; a card holding more is refused (0 = none)
    "v1_until" / Int16ul,  # last card day on which layout v1 cards are accepted (0 = no end set)
)

DebitRequest = Struct("amount" / Int32ul, "pos_ref" / Int32ul, "timeout_ms" / Int16ul)
DebitResult = Struct(
    "card_number" / Bytes(6),
    "amount" / Int32ul,
    "balance" / Int32ul,
    "card_seq" / Int32ul,
    "journal_number" / Int32ul,
    "recovered" / Int8ul,  # 1: an interrupted earlier transaction was completed on this tap
)

ReadCardRequest = Struct("timeout_ms" / Int16ul)
CardSummary = Struct(
    "card_number" / Bytes(6),
    "uid_len" / Int8ul,
    "uid" / Bytes(7),
    "balance" / Int32ul,
    "card_seq" / Int32ul,
    "expiry" / Int16ul,
    "key_version" / Int8ul,
    "count" / Int8ul,  # followed by `count` LogEntry records (protocol.records.LogEntry)
)

FetchJournal = Struct("first" / Int32ul, "max" / Int16ul)
JournalChunk = Struct("count" / Int16ul)  # followed by `count` journal records
AckJournal = Struct("up_to" / Int32ul)

DayTotals = Struct(
    "day" / Int16ul,
    "batch" / Int32ul,
    "debit_count" / Int32ul,
    "debit_sum" / Int32ul,  # fen
    "first_number" / Int32ul,
    "last_number" / Int32ul,
)

CardWait = Struct("timeout_ms" / Int16ul)
CardFound = Struct("uid_len" / Int8ul, "uid" / Bytes(7), "atqa" / Int16ul, "sak" / Int8ul)
CardAuth = Struct("block" / Int8ul, "key_type" / Int8ul, "key" / Bytes(6))
CardBlock = Struct("block" / Int8ul)
CardWrite = Struct("block" / Int8ul, "data" / Bytes(16))
CardData = Struct("data" / Bytes(16))
CardValue = Struct("op" / Int8ul, "block" / Int8ul, "operand" / Int32ul)  # op: MIFARE command byte
