"""What a store reader keeps per card it saw, in a pre-erased flash ring (firmware/ring.py).

One 64-byte record per event, appended, never rewritten: a TAP record is the write-ahead of a
debit (written before the first card write: the journal's PENDING record is made from it after
the customer was told, or at boot when power failed in between); a STATE record is what the reader
last saw or committed on a card. The newest record of a card (by `number`) is the reader's memory
of it: a copy of the card that shows an older state is refused, and `day_total` is the reader's
own count of what it debited from the card on `day` (docs/reader.md, "Per-card memory").
Integers little-endian; `crc` (CRC-32 of everything before it) tells a whole record from one torn
by power loss. Erased flash reads 0xFF: `magic` 0xFF is an empty slot.
"""
from construct import Bytes, Int8ul, Int16ul, Int32ul, Struct

from icpurse.protocol.records import UID_FIELD_SIZE

RING_RECORD_SIZE = 64
RING_MAGIC = 0x52  # 'R'


class RingKind:
    TAP = 1  # write-ahead of a debit (before the card write)
    STATE = 2  # the card's state as the reader last saw or left it


CardStateRecord = Struct(
    "magic" / Int8ul,
    "kind" / Int8ul,  # RingKind
    "number" / Int32ul,  # record number in the ring, 1, 2, 3, ... (the newest wins)
    "uid_len" / Int8ul,
    "uid" / Bytes(UID_FIELD_SIZE),
    "layout" / Int8ul,  # card layout version
    "key_version" / Int8ul,
    "seq_before" / Int32ul,  # TAP: the card's counter before the debit
    "balance_before" / Int32ul,
    "seq" / Int32ul,  # TAP: the counter the debit takes; STATE: the counter seen
    "balance" / Int32ul,
    "day" / Int16ul,  # card day of day_total
    "day_total" / Int32ul,  # fen this reader debited from the card on `day` (TAP: including this debit)
    "journal" / Int32ul,  # TAP: the journal number (= the transaction's txn); STATE: 0
    "amount" / Int32ul,  # TAP: fen
    "time" / Int32ul,  # seconds since 2000-01-01
    "reserved" / Bytes(10),
    "crc" / Int32ul,  # CRC-32 of the 60 bytes before it
)
