"""The store reader's journal: record and anchor layouts (firmware: icpurse.firmware.journal).

The journal lives in the reader's flash as segment files of fixed-size `JournalRecord`s plus one
`JournalAnchor` file (replaced atomically) that says how far the host has acknowledged and where the
chain starts after compaction. Both are MAC'd with the reader's journal key (kdf.journal_key) as
record type RecordType.JOURNAL, the terminal number (4 bytes big-endian) standing in for the card UID
in the MAC header — the same binding the journal key's own diversification uses. As in every icpurse
record the MAC is the last field and covers everything before it. Integers little-endian.
"""
from construct import Bytes, Const, Int8ul, Int24ul, Int32ul, Struct

from icpurse.protocol.records import MAC_SIZE, UID_FIELD_SIZE


class RecordState:
    """`state` of a journal record. A debit writes PENDING before the card write, then one
    COMMITTED or ROLLED_BACK record whose `txn` is the PENDING record's number (never a rewrite)."""

    PENDING = 1
    COMMITTED = 2
    ROLLED_BACK = 3


# How each state is shown (CLI, JSON, reports); exported by the codec generator as JOURNAL_STATE_NAMES.
STATE_NAMES = {RecordState.PENDING: "pending", RecordState.COMMITTED: "committed", RecordState.ROLLED_BACK: "rolled_back"}


ANCHOR_MAGIC = b"JA"  # keeps an anchor from ever parsing as a record, and names the file format

# One journal record (54 bytes). `prev_mac` is the previous record's `mac` (zeros for record 1), so
# the MAC of each record also seals the whole chain before it.
JournalRecord = Struct(
    "number" / Int32ul,  # 1, 2, 3, ... per reader, no gaps
    "kind" / Int8ul,  # TxnKind
    "state" / Int8ul,  # RecordState
    "key_version" / Int8ul,  # version of the journal key that made `mac`
    "uid_len" / Int8ul,  # 4 or 7 (0: no card)
    "uid" / Bytes(UID_FIELD_SIZE),  # zero-padded
    "card_seq" / Int32ul,  # purse slot seq this transaction commits on the card
    "amount" / Int32ul,  # fen
    "balance_after" / Int32ul,  # fen
    "terminal" / Int32ul,  # 8-digit terminal number
    "txn" / Int24ul,  # number of the transaction's PENDING record (= the card slot's `txn`)
    "time" / Int32ul,  # seconds since 2000-01-01 00:00 UTC
    "prev_mac" / Bytes(MAC_SIZE),
    "mac" / Bytes(MAC_SIZE),
)

# The anchor file (31 bytes): records up to `acked` were acknowledged by the host; records up to
# `base` were removed by compaction and `base_mac` is the mac of record `base` (zeros if base = 0),
# i.e. the `prev_mac` the first remaining record must carry.
JournalAnchor = Struct(
    "magic" / Const(ANCHOR_MAGIC),
    "key_version" / Int8ul,
    "terminal" / Int32ul,
    "acked" / Int32ul,
    "base" / Int32ul,
    "base_mac" / Bytes(MAC_SIZE),
    "mac" / Bytes(MAC_SIZE),
)
