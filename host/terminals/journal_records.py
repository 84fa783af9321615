"""Verification of reader journal records on the host: each record's MAC and the chain.

The MAC is checked exactly as the reader checks it (firmware/journal.py `_mac_ok`): `verify_record_mac`
with the terminal's journal key of the record's key version, record type JOURNAL and the terminal
number (4 bytes big-endian) as the MAC header's "UID", over the record without its MAC. The host twin
of firmware/kdf.py is used (icpurse.protocol.crypto.kdf: same functions and results, parity-tested
1:1; AES-CMAC from `cryptography`, ~4x faster than the firmware's pure-Python AES on CPython).
Layout through the generated codec only.
"""
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.protocol.crypto import kdf

RECORD_SIZE = codec.JOURNAL_RECORD_SIZE
ZERO_MAC = bytes(codec.MAC_SIZE)
_BODY = RECORD_SIZE - codec.MAC_SIZE


@dataclass(frozen=True)
class Record:
    """A decoded journal record with its stored bytes (the shape the ledger stores)."""

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


def decode(raw) -> Record:
    raw = bytes(raw)
    if len(raw) != RECORD_SIZE:
        raise ValueError("a journal record is %d bytes, got %d" % (RECORD_SIZE, len(raw)))
    f = codec.decode_journal_record(raw)
    n = f[codec.JOURNAL_RECORD_UID_LEN]
    return Record(f[codec.JOURNAL_RECORD_NUMBER], f[codec.JOURNAL_RECORD_KIND], f[codec.JOURNAL_RECORD_STATE],
                  f[codec.JOURNAL_RECORD_KEY_VERSION], bytes(f[codec.JOURNAL_RECORD_UID][:n]).hex().upper(),
                  f[codec.JOURNAL_RECORD_CARD_SEQ], f[codec.JOURNAL_RECORD_AMOUNT],
                  f[codec.JOURNAL_RECORD_BALANCE_AFTER], f[codec.JOURNAL_RECORD_TERMINAL], f[codec.JOURNAL_RECORD_TXN],
                  f[codec.JOURNAL_RECORD_TIME], bytes(f[codec.JOURNAL_RECORD_PREV_MAC]),
                  bytes(f[codec.JOURNAL_RECORD_MAC]), raw)


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


def verify_sequence(raws, terminal: int, keys: dict, prev_number: int = 0, prev_mac: bytes | None = None):
    """Verify records that should follow record `prev_number` (whose MAC is `prev_mac`; None =
    unknown, e.g. the records before were compacted away on the reader and never collected).

    Returns (good, problems): `good` is the longest verified prefix (Records); verification stops at
    the first record failing its MAC, chain or numbering, and `problems` says why (a gap — numbers
    missing — is reported but the records after it are still taken, since nothing there is forged:
    their chain link to the missing records cannot be checked)."""
    good, problems = [], []
    expect = prev_number + 1
    last_mac = prev_mac
    for raw in raws:
        raw = bytes(raw)
        try:
            rec = decode(raw)
        except ValueError as e:
            problems.append(Problem("mac", expect, "undecodable record: %s" % e, raw))
            break
        if rec.key_version not in keys:
            problems.append(Problem("key", rec.number, "journal key version %d is unknown" % rec.key_version, raw))
            break
        if not mac_ok(raw, terminal, keys):
            problems.append(Problem("mac", rec.number, "record %d fails its MAC (edited or forged)" % rec.number, raw))
            break
        if rec.terminal_field != terminal:
            problems.append(Problem("terminal", rec.number, "record %d names terminal %08d" % (
                rec.number, rec.terminal_field), raw))
            break
        if rec.number < expect:
            problems.append(Problem("number", rec.number, "record %d arrived where %d was expected (number "
                                    "reused or replayed)" % (rec.number, expect), raw))
            break
        if rec.number > expect:
            problems.append(Problem("gap", expect, "records %d..%d missing" % (expect, rec.number - 1)))
            last_mac = None  # the link to the missing records cannot be checked
        if last_mac is not None and rec.prev_mac != last_mac:
            problems.append(Problem("chain", rec.number, "record %d does not chain to record %d" % (
                rec.number, rec.number - 1), raw))
            break
        good.append(rec)
        expect = rec.number + 1
        last_mac = rec.mac
    return good, problems


def journal_keys(domain, terminal: int) -> dict:
    """{key_version: journal key of `terminal`} for every key version of the issuer's domain."""
    from icpurse.keys import exports

    export = exports.reader_keyset(domain, terminal, versions=sorted(domain.versions))
    return {v: keys["journal"].material for v, keys in export.versions.items()}


def verify_records(raws, terminal: int, keys: dict):
    """Verify each record on its own -- decodes, MAC under the terminal's journal key, names this
    terminal -- in the order the reader sent them; the chain is checked once the records are in
    the ledger in number order (host/terminals/integrity.py).

    Returns (good, problems): `good` are the authentic records up to the first one that is not
    (nothing after a forged record is taken); a record numbered at or below one sent before it is
    still taken but reported (`order`: the reader's flash was rearranged)."""
    good, problems = [], []
    highest = 0
    for raw in raws:
        raw = bytes(raw)
        try:
            rec = decode(raw)
        except ValueError as e:
            problems.append(Problem("mac", highest + 1, "undecodable record: %s" % e, raw))
            break
        if rec.key_version not in keys:
            problems.append(Problem("key", rec.number, "journal key version %d is unknown" % rec.key_version, raw))
            break
        if not mac_ok(raw, terminal, keys):
            problems.append(Problem("mac", rec.number, "record %d fails its MAC (edited or forged)" % rec.number, raw))
            break
        if rec.terminal_field != terminal:
            problems.append(Problem("terminal", rec.number, "record %d names terminal %08d" % (
                rec.number, rec.terminal_field), raw))
            break
        if rec.number <= highest:
            problems.append(Problem("order", rec.number, "record %d was sent after record %d: the journal's "
                                    "records were moved" % (rec.number, highest), raw))
        good.append(rec)
        highest = max(highest, rec.number)
    return good, problems
