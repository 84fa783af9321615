"""The USB link between host tools and the store reader: framed, checksummed, versioned.

Frame = LinkHeader (10 bytes) ‖ payload (`length` bytes) ‖ CRC-32 (IEEE, little-endian) over header
and payload. The receiver hunts for the sync bytes, checks the header check byte before trusting
`length` (so line noise never makes it wait for a huge payload), then the frame CRC-32.

Requests carry `kind = REQUEST`; the reader answers with the same `seq` and `command`, `kind = RESPONSE`
and the command's response payload, or `kind = ERROR` and an `ErrorBody` (typed code + UTF-8
message) — never a traceback. Payloads are one fixed Struct, optionally followed by `count` fixed
records (blacklist entries, journal records, log entries).

Link version 2 authenticates every request that changes the reader (`AUTHENTICATED`): its payload
ends with a `LinkAuth` trailer (a counter above the last one the reader accepted, and an 8-byte
AES-CMAC under the reader's link key over `LinkMacHeader` ‖ the payload before the trailer), and
the response payload ends with the reader's MAC over the same header (direction RESPONSE) ‖ the
response. Sign-in and CONFIGURE carry the whole day configuration as one `DayConfig` record MAC'd
with the terminal's configuration key (docs/reader.md "Link authentication").
"""
from construct import Bytes, Int8ul, Int16ul, Int32ul, Struct

LINK_VERSION = 2
SYNC = b"\xa5\x5a"
MAX_PAYLOAD = 4096
CRC_SIZE = 4
LINK_MAC_SIZE = 8  # bytes of AES-CMAC kept on requests, responses and day configurations
NONCE_SIZE = 8


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
    UNAUTHENTICATED = 0x0C  # a state-changing request without a valid MAC under this reader's link key
    REPLAYED = 0x0D  # counter (or configuration serial) not above the last accepted: replayed or reordered
    CLOCK = 0x0E  # the clock may not go back further than the signed window without a signed time
    INTERNAL = 0x0F
    CARD = 0x10  # a transparent card command failed; detail = PN532 status (0x14 auth, 0x13 NAK, 0x01 gone)
    BAD_CONFIG = 0x11  # a signed day configuration that is not for this reader, or a blacklist that does not match it
    REFUSAL_BASE = 0x40  # + icpurse.protocol.records.Refusal code


# The requests that change the reader: each carries a LinkAuth trailer. INFO, READ_CARD,
# FETCH_JOURNAL and DEBIT (the POS's request, with the holder's card in the field) stay open; the
# transparent CARD_* commands only work while a signed configuration allows them.
AUTHENTICATED = (Cmd.SET_TIME, Cmd.PROVISION_KEYS, Cmd.LOAD_BLACKLIST, Cmd.SIGN_IN, Cmd.DAY_CLOSE, Cmd.REBOOT,
                 Cmd.CONFIGURE, Cmd.ACK_JOURNAL)


class LinkState:
    """How far a reader is on the way to being a terminal (ReaderInfo.link_state)."""

    BLANK = 0  # no link key, no transport key: the lab's transport key ceremony comes first
    TRANSPORT = 1  # a transport key from the ceremony: the first PROVISION_KEYS is MAC'd with it
    PROVISIONED = 2  # the terminal's own link key authenticates every state-changing request


class MacDirection:
    """First byte of every link MAC input: keeps request, response and configuration MACs apart."""

    REQUEST = 0x51  # 'Q'
    RESPONSE = 0x41  # 'A'
    CONFIG = 0x43  # 'C'


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
    "link_state" / Int8ul,  # LinkState
    "link_nonce" / Bytes(NONCE_SIZE),  # this reader's link session: new after every erase of its NVS
    "link_counter" / Int32ul,  # the last authenticated request's counter; the next must be higher
    "config_serial" / Int32ul,  # serial of the signed day configuration in force (0: none)
    "day" / Int16ul,  # the signed business day (days since 2000-01-01) expiry and daily caps use
    "journal_last_mac" / Bytes(LINK_MAC_SIZE),  # MAC of record journal_next - 1: the host's high-water mark
    # 1: the state ring (per-card memory, debit write-ahead) has its own flash partition; 0: the
    # image has none and the ring lives in a file (slower, and the filesystem's wear), docs/hardware.md
    "ring_partition" / Int8ul,
)

# Trailer of every authenticated request payload.
LinkAuth = Struct("counter" / Int32ul, "mac" / Bytes(LINK_MAC_SIZE))

# What a link MAC covers before the payload. Requests and responses: the reader's terminal number
# (0 while blank), its nonce and the request's counter; a day configuration: its serial as `counter`,
# the nonce zero (the back office signs it for the terminal, not for one link session).
LinkMacHeader = Struct(
    "direction" / Int8ul,  # MacDirection
    "version" / Int8ul,  # LINK_VERSION
    "command" / Int8ul,  # Cmd (0 for a day configuration)
    "terminal" / Int32ul,
    "nonce" / Bytes(NONCE_SIZE),
    "counter" / Int32ul,
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
    "link" / Bytes(16),  # this terminal's link key: requests and responses
    "config" / Bytes(16),  # this terminal's configuration key: signed day configurations
)

BlacklistHeader = Struct(
    "version" / Int32ul,
    "total" / Int16ul,  # entries in the whole list
    "offset" / Int16ul,  # index of the first entry in this chunk
    "count" / Int16ul,  # entries in this chunk, each a BlacklistEntry
)
BlacklistEntry = Struct("card_number" / Bytes(6))

# The whole configuration of a reader, signed by the back office (MAC with the terminal's
# configuration key over LinkMacHeader(CONFIG, LINK_VERSION, 0, terminal, zero nonce, serial) ‖ the
# record without its MAC). SIGN_IN carries one (and opens the day), CONFIGURE carries one (and does
# not); the reader applies exactly this and keeps it, re-verified at every boot.
DayConfig = Struct(
    "terminal" / Int32ul,
    "key_version" / Int8ul,  # version of the configuration key that made `mac`
    "serial" / Int32ul,  # strictly increasing per reader: an older configuration is a replay
    "time" / Int32ul,  # signed time (seconds since 2000-01-01 UTC): the reader's clock is set to it
    "day" / Int16ul,  # business day: card expiry and daily caps are judged on it, not on the clock
    "cutoff" / Int32ul,  # no sale at or after this time until the next sign-in (0: none)
    "clock_window" / Int32ul,  # seconds SET_TIME may move the clock back (further needs a signed time)
    "mode" / Int8ul,
    "fixed_price" / Int32ul,
    "grace_days" / Int16ul,
    "txn_cap" / Int32ul,  # the programme's per-sale cap, fen (0 = none)
    "daily_cap" / Int32ul,  # the programme's cap per card and business day, fen (0 = none)
    "issuer" / Int16ul,  # cards of another issuer are refused as unknown
    "transparent" / Int8ul,  # 1: allow CARD_* commands (issuance readers); 0: store reader
    "blacklist_version" / Int32ul,
    "blacklist_digest" / Bytes(LINK_MAC_SIZE),  # SHA-256 of the list as the reader stores it, first 8 bytes
    # the programme's rules a reader applies to cards beyond the caps above (purse v2)
    "balance_cap" / Int32ul,  # fen; a card holding more is refused (0 = none)
    "v1_until" / Int16ul,  # last card day on which layout v1 cards are accepted (0 = no end set)
    "mac" / Bytes(LINK_MAC_SIZE),
)

SignIn = Struct("operator" / Int32ul)  # followed by a DayConfig
SignInResult = Struct("day" / Int16ul, "batch" / Int32ul, "first_number" / Int32ul)

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
