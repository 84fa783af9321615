"""Verification of reader journal records on the host: each record's MAC and the chain.

The MAC is checked exactly as the reader checks it (firmware/journal.py `_mac_ok`): the record MAC
with the terminal's journal key of the record's key version, record type JOURNAL and the terminal
number (4 bytes big-endian) as the MAC header's "UID", over the record without its MAC. The host twin
of firmware/kdf.py is used (icpurse.protocol.crypto.kdf: same functions and results, parity-tested
1:1; AES-CMAC from `cryptography`).

Speed (`make bench`, `office.verify_vs_cmac`): `verify_sequence` handles a whole batch at once. The
MAC header is built once per key version; every record is decoded once, by one `struct` format
derived from the record's construct declaration (protocol/journal.py, the layout's one source); the
MACs of the batch are computed together (`CmacBatch`: one AES-ECB call per block position over all
records). Only the chain and numbering checks walk the records one by one, in the order the reader
wrote them.
"""
import struct
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from icpurse.host import codec
from icpurse.protocol.codegen import describe_struct
from icpurse.protocol.crypto import kdf
from icpurse.protocol.crypto.cmac import CmacBatch
from icpurse.protocol.journal import JournalRecord as _LAYOUT

RECORD_SIZE = codec.JOURNAL_RECORD_SIZE
ZERO_MAC = bytes(codec.MAC_SIZE)
_BODY = RECORD_SIZE - codec.MAC_SIZE


class Record(NamedTuple):
    """A decoded journal record with its stored bytes (the shape the ledger stores).

    A named tuple, not a dataclass: a batch's records are made in C (`tuple.__new__` over the
    batch's columns, `_records`), where a frozen dataclass's __init__ costs as much as an AES-CMAC
    per record."""

    number: int
    kind: int
    state: int
    key_version: int
    uid: str  # hex, upper case
    card_seq: int
    amount: int
    balance_after: int
    terminal_field: int
    txn: int
    reader_time: int
    prev_mac: bytes
    mac: bytes
    raw: bytes


def _record_format(layout):
    """(struct.Struct decoding one record into its data fields in codec order, [(index, offset,
    size, byte order, signed)] of the integer fields `struct` cannot give directly: they come out
    as bytes and are converted after)."""
    codes = {1: "B", 2: "H", 4: "I"}
    fmt, fixups, index, offset = ["<"], [], 0, 0
    for f in describe_struct(layout):
        if f.kind == "pad":
            fmt.append("%dx" % f.size)
            offset += f.size
            continue
        if f.kind == "const":
            raise TypeError("journal records have no constant fields (verify them here if one is added)")
        if f.kind == "int" and f.size in codes and (f.size == 1 or not f.big):
            fmt.append(codes[f.size].lower() if f.signed else codes[f.size])
        else:
            fmt.append("%ds" % f.size)
            if f.kind == "int":
                fixups.append((index, offset, f.size, "big" if f.big else "little", f.signed))
        index += 1
        offset += f.size
    return struct.Struct("".join(fmt)), tuple(fixups)


def _overlap_readers(fixups, size):
    """{field index: (Struct, mask)} reading each short little-endian unsigned field as the 4-byte
    integer starting at it (the bytes after it masked off), in C over a whole batch; None when a
    field does not allow that (then the fields are converted record by record)."""
    out = {}
    for index, offset, width, order, signed in fixups:
        if order != "little" or signed or width >= 4 or offset + 4 > size:
            return None
        out[index] = (struct.Struct("<%dxI%dx" % (offset, size - offset - 4)), (1 << (8 * width)) - 1)
    return out


_STRUCT, _FIXUPS = _record_format(_LAYOUT)
_OVERLAP = _overlap_readers(_FIXUPS, _STRUCT.size)
if _STRUCT.size != RECORD_SIZE or len(_STRUCT.unpack(bytes(RECORD_SIZE))) != len(codec.JOURNAL_RECORD_FIELDS):
    raise ImportError("the journal record layout and the generated codec differ: run `make gen`")
if Record._fields != (
        "number", "kind", "state", "key_version", "uid", "card_seq", "amount", "balance_after", "terminal_field",
        "txn", "reader_time", "prev_mac", "mac", "raw"):  # _records below fills exactly these
    raise ImportError("Record's fields changed: update _records")
_NUMBER, _KEY_VERSION, _UID_LEN, _UID, _MAC, _TXN = (
    codec.JOURNAL_RECORD_NUMBER, codec.JOURNAL_RECORD_KEY_VERSION, codec.JOURNAL_RECORD_UID_LEN,
    codec.JOURNAL_RECORD_UID, codec.JOURNAL_RECORD_MAC, codec.JOURNAL_RECORD_TXN)


def _records(raws, fields, converted):
    """Records from raw bytes and their decoded fields (`_decode_all`), built column by column: each
    field's column is taken from the decoded tuples and the records are made from the columns
    zipped together (all in C); only the UID's hex text is made record by record, once per card."""
    if set(converted) - {_TXN}:
        raise AssertionError("only txn is stored as bytes in a journal record: update _records")
    txns = converted.get(_TXN) or list(map(itemgetter(_TXN), fields))
    hexes, uids = {}, []
    append = uids.append
    for f in fields:
        key = (f[_UID], f[_UID_LEN])
        text = hexes.get(key)
        if text is None:
            text = hexes[key] = key[0][:key[1]].hex().upper()
        append(text)
    return list(map(tuple.__new__, repeat(Record), zip(
        *_columns(fields, _BEFORE_UID), uids, *_columns(fields, _BEFORE_TXN), txns, *_columns(fields, _AFTER_TXN),
        raws)))


def _columns(fields, indexes):
    return [map(itemgetter(i), fields) for i in indexes]


# the decoded fields (codec order) of Record's fields, around uid (made from UID and UID_LEN) and
# txn (converted by _decode_all)
_BEFORE_UID = (_NUMBER, codec.JOURNAL_RECORD_KIND, codec.JOURNAL_RECORD_STATE, _KEY_VERSION)
_BEFORE_TXN = (codec.JOURNAL_RECORD_CARD_SEQ, codec.JOURNAL_RECORD_AMOUNT, codec.JOURNAL_RECORD_BALANCE_AFTER,
               codec.JOURNAL_RECORD_TERMINAL)
_AFTER_TXN = (codec.JOURNAL_RECORD_TIME, codec.JOURNAL_RECORD_PREV_MAC, _MAC)


def _decode_all(blob):
    """(field tuples in codec order, {field index: [values]} of the fields `struct` gives as bytes)
    of the records in `blob` (their bytes end to end), in one pass each."""
    fields = list(_STRUCT.iter_unpack(blob))
    if _OVERLAP is not None:
        return fields, {i: [v & mask for (v,) in st.iter_unpack(blob)] for i, (st, mask) in _OVERLAP.items()}
    converted = {}
    for i, _offset, _size, order, signed in _FIXUPS:
        converted[i] = [int.from_bytes(f[i], order, signed=signed) for f in fields]
    return fields, converted


def decode_many(raws) -> list:
    """Records of `raws` (each exactly one record's bytes), decoded in one pass."""
    raws = list(map(bytes, raws))
    if set(map(len, raws)) - {RECORD_SIZE}:
        raise ValueError("a journal record is %d bytes" % RECORD_SIZE)
    return _records(raws, *_decode_all(b"".join(raws))) if raws else []


def decode(raw) -> Record:
    raw = bytes(raw)
    if len(raw) != RECORD_SIZE:
        raise ValueError("a journal record is %d bytes, got %d" % (RECORD_SIZE, len(raw)))
    return _records([raw], *_decode_all(raw))[0]


def mac_ok(raw, terminal: int, keys: dict) -> bool:
    """True iff the record's MAC verifies under the terminal's journal key of its key version.
    `keys`: {key_version: 16-byte journal key of this terminal}. Unknown version: False."""
    raw = bytes(raw)
    f = codec.decode_journal_record(raw)
    key = keys.get(f[codec.JOURNAL_RECORD_KEY_VERSION])
    if key is None:
        return False
    return kdf.verify_record_mac(key, codec.REC_JOURNAL, terminal.to_bytes(4, "big"),
                                 f[codec.JOURNAL_RECORD_KEY_VERSION], memoryview(raw)[:_BODY],
                                 f[codec.JOURNAL_RECORD_MAC])


def macs_ok(raws, fields, terminal: int, keys: dict) -> list:
    """For each record: True / False (its MAC verifies or not), None when its key version is not in
    `keys`. The MAC header is built once per key version and each version's records are MAC'd
    together (CmacBatch)."""
    out = [None] * len(raws)
    versions = list(map(itemgetter(_KEY_VERSION), fields))
    if len(set(versions)) == 1:  # the usual batch: one key version
        by_version = {versions[0]: range(len(raws))}
    else:
        by_version = {}
        for i, version in enumerate(versions):
            by_version.setdefault(version, []).append(i)
    tid = terminal.to_bytes(4, "big")
    for version, idx in by_version.items():
        key = keys.get(version)
        if key is None:
            continue
        header = kdf.record_mac_header(codec.REC_JOURNAL, tid, version)
        batch = CmacBatch(key)
        if len(idx) == len(raws):
            out = batch.matches(header, raws, _BODY, list(map(itemgetter(_MAC), fields)))
        else:
            for i, ok in zip(idx, batch.matches(header, [raws[i] for i in idx], _BODY,
                                                [fields[i][_MAC] for i in idx])):
                out[i] = ok
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a journal: kind is mac | chain | gap | number | terminal | key | order |
    truncated. `extra`: more evidence (e.g. the last missing number of a gap)."""

    kind: str
    number: int
    detail: str
    raw: bytes = b""
    extra: dict = field(default_factory=dict)

    def evidence(self) -> dict:
        out = {"kind": self.kind, "number": self.number, "detail": self.detail}
        if self.raw:
            out["raw"] = self.raw.hex()
        out.update(self.extra)
        return out


def _all_in_order(fields, macs, terminal, first, prev_mac):
    """The common case, checked column by column in C (no loop in Python): every MAC verifies,
    every record names the terminal, the numbers run first, first + 1, ... and each record chains to
    the one before (the first to `prev_mac` unless that is None). False means: look record by record."""
    n = len(fields)
    if not n:
        return True
    if macs.count(True) != n:
        return False
    if list(map(itemgetter(codec.JOURNAL_RECORD_TERMINAL), fields)).count(terminal) != n:
        return False
    if list(map(itemgetter(_NUMBER), fields)) != list(range(first, first + n)):
        return False
    prevs = list(map(itemgetter(codec.JOURNAL_RECORD_PREV_MAC), fields))
    if prev_mac is not None and prevs[0] != prev_mac:
        return False
    return prevs[1:] == list(map(itemgetter(_MAC), fields[:-1]))


def verify_sequence(raws, terminal: int, keys: dict, prev_number: int = 0, prev_mac: bytes | None = None):
    """Verify records that should follow record `prev_number` (whose MAC is `prev_mac`; None =
    unknown, e.g. the records before were compacted away on the reader and never collected).

    Returns (good, problems): `good` is the longest verified prefix (Records); verification stops at
    the first record failing its MAC, chain or numbering, and `problems` says why (a gap — numbers
    missing — is reported but the records after it are still taken, since nothing there is forged:
    their chain link to the missing records cannot be checked)."""
    raws = list(map(bytes, raws))
    whole = len(raws)
    if set(map(len, raws)) - {RECORD_SIZE}:
        whole = next(i for i, raw in enumerate(raws) if len(raw) != RECORD_SIZE)  # the rest is not looked at
    fields, converted = _decode_all(b"".join(raws[:whole]))
    macs = macs_ok(raws[:whole], fields, terminal, keys)
    good, problems = [], []
    expect = prev_number + 1
    last_mac = prev_mac
    if whole == len(raws) and _all_in_order(fields, macs, terminal, expect, last_mac):
        return _records(raws, fields, converted), problems
    stop = whole
    terminal_at, prev_at = codec.JOURNAL_RECORD_TERMINAL, codec.JOURNAL_RECORD_PREV_MAC
    for i in range(whole):
        f = fields[i]
        number = f[_NUMBER]
        ok = macs[i]
        if not ok or f[terminal_at] != terminal or number != expect:
            if ok is None:
                problems.append(Problem("key", number, "journal key version %d is unknown" % f[_KEY_VERSION],
                                        raws[i]))
                stop = i
                break
            if not ok:
                problems.append(Problem("mac", number, "record %d fails its MAC (edited or forged)" % number, raws[i]))
                stop = i
                break
            if f[terminal_at] != terminal:
                problems.append(Problem("terminal", number, "record %d names terminal %08d" % (
                    number, f[terminal_at]), raws[i]))
                stop = i
                break
            if number < expect:
                problems.append(Problem("number", number, "record %d arrived where %d was expected (number "
                                        "reused or replayed)" % (number, expect), raws[i]))
                stop = i
                break
            problems.append(Problem("gap", expect, "records %d..%d missing" % (expect, number - 1)))
            last_mac = None  # the link to the missing records cannot be checked
        if last_mac is not None and f[prev_at] != last_mac:
            problems.append(Problem("chain", number, "record %d does not chain to record %d" % (
                number, number - 1), raws[i]))
            stop = i
            break
        expect = number + 1
        last_mac = f[_MAC]
    else:
        if whole < len(raws):
            raw = raws[whole]
            problems.append(Problem("mac", expect, "undecodable record: a journal record is %d bytes, got %d" % (
                RECORD_SIZE, len(raw)), raw))
    good = _records(raws[:stop], fields[:stop], {i: v[:stop] for i, v in converted.items()})
    return good, problems


def verify_records(raws, terminal: int, keys: dict):
    """Verify each record on its own -- decodes, MAC under the terminal's journal key, names this
    terminal -- in the order the reader sent them; the chain and the numbering are checked once the
    records are in the ledger in number order (host/terminals/integrity.py), so a gap or a reordered
    flash never makes the host acknowledge past a missing record. Batched as `verify_sequence`: one
    decode and one CmacBatch over the whole fetch.

    Returns (good, problems): `good` are the authentic records up to the first one that is not
    (nothing after a forged record is taken); a record numbered at or below one sent before it is
    still taken but reported (`order`: the reader's flash was rearranged)."""
    raws = list(map(bytes, raws))
    whole = len(raws)
    if set(map(len, raws)) - {RECORD_SIZE}:
        whole = next(i for i, raw in enumerate(raws) if len(raw) != RECORD_SIZE)
    fields, converted = _decode_all(b"".join(raws[:whole]))
    macs = macs_ok(raws[:whole], fields, terminal, keys)
    numbers = list(map(itemgetter(_NUMBER), fields))
    if (whole == len(raws) and macs.count(True) == whole
            and list(map(itemgetter(codec.JOURNAL_RECORD_TERMINAL), fields)).count(terminal) == whole
            and numbers == sorted(set(numbers))):  # the usual fetch: all authentic, in increasing order
        return _records(raws, fields, converted), []
    problems = []
    highest = 0
    stop = whole
    terminal_at = codec.JOURNAL_RECORD_TERMINAL
    for i in range(whole):
        f, number, ok = fields[i], numbers[i], macs[i]
        if ok is None:
            problems.append(Problem("key", number, "journal key version %d is unknown" % f[_KEY_VERSION], raws[i]))
            stop = i
            break
        if not ok:
            problems.append(Problem("mac", number, "record %d fails its MAC (edited or forged)" % number, raws[i]))
            stop = i
            break
        if f[terminal_at] != terminal:
            problems.append(Problem("terminal", number, "record %d names terminal %08d" % (number, f[terminal_at]),
                                    raws[i]))
            stop = i
            break
        if number <= highest:
            problems.append(Problem("order", number, "record %d was sent after record %d: the journal's "
                                    "records were moved" % (number, highest), raws[i]))
        highest = max(highest, number)
    else:
        if whole < len(raws):
            problems.append(Problem("mac", highest + 1, "undecodable record: a journal record is %d bytes, got %d" % (
                RECORD_SIZE, len(raws[whole])), raws[whole]))
    good = _records(raws[:stop], fields[:stop], {i: v[:stop] for i, v in converted.items()})
    return good, problems


def journal_keys(keys, terminal: int) -> dict:
    """{key_version: journal key of `terminal`} for every key version of a collector key set (or the
    issuer's domain)."""
    from icpurse.keys import exports

    return exports.terminal_journal_keys(keys, terminal)
