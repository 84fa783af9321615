"""The store reader's journal: append-only, numbered, MAC-chained, power-fail-safe (MicroPython).

Layout: icpurse.protocol.journal (JournalRecord, JournalAnchor), used here only through the
generated codec. Format and the power-fail argument: docs (section "Reader journal").

Files in `fs_dir`:
  NNNNNNNNNN.jr  a segment: whole records, the first one numbered NNNNNNNNNN; only appended to
  anchor         acknowledged-up-to and compaction base; replaced atomically (temp file + rename)
  *.tmp          a replacement that power loss interrupted: deleted on open

Power-fail rules this module relies on (LittleFS): bytes of an interrupted write may be partly
there, `rename` over an existing file is atomic, a closed file is on flash. So: a record is
appended with one write and the file closed before `append` returns; anything else is changed only
by writing a temp file and renaming it. After a crash the only damage possible is an incomplete
or unverifiable LAST record, which was never reported as written: `open` drops it. Anything wrong
before the end is not a crash but tampering or a bug, and raises JournalCorrupt.
"""
import os

from icpurse.firmware import codec, kdf
from icpurse.protocol.mpy import const

RECORD_SIZE = codec.JOURNAL_RECORD_SIZE
PENDING = codec.JR_PENDING
COMMITTED = codec.JR_COMMITTED
ROLLED_BACK = codec.JR_ROLLED_BACK

# Field indexes of a record tuple (codec.decode_journal_record).
NUMBER = codec.JOURNAL_RECORD_NUMBER
KIND = codec.JOURNAL_RECORD_KIND
STATE = codec.JOURNAL_RECORD_STATE
KEY_VERSION = codec.JOURNAL_RECORD_KEY_VERSION
UID_LEN = codec.JOURNAL_RECORD_UID_LEN
UID = codec.JOURNAL_RECORD_UID
CARD_SEQ = codec.JOURNAL_RECORD_CARD_SEQ
AMOUNT = codec.JOURNAL_RECORD_AMOUNT
BALANCE_AFTER = codec.JOURNAL_RECORD_BALANCE_AFTER
TERMINAL = codec.JOURNAL_RECORD_TERMINAL
TXN = codec.JOURNAL_RECORD_TXN
TIME = codec.JOURNAL_RECORD_TIME
PREV_MAC = codec.JOURNAL_RECORD_PREV_MAC
MAC = codec.JOURNAL_RECORD_MAC

_MAX_TXN = const(0xFFFFFF)  # `txn` is 24 bits (as in the card's purse slot)
_MAC_SIZE = codec.MAC_SIZE
_BODY = RECORD_SIZE - _MAC_SIZE  # the MAC is the last field and covers everything before it
_ANCHOR_BODY = codec.JOURNAL_ANCHOR_SIZE - _MAC_SIZE
_ZERO_MAC = bytes(_MAC_SIZE)
_SEGMENT = ".jr"
_TMP = ".tmp"
_ANCHOR = "anchor"


class JournalError(Exception):
    """The journal cannot be used as asked (not open, missing key version, ...)."""


class JournalCorrupt(JournalError):
    """The stored journal fails verification somewhere a power loss cannot explain."""


class JournalFull(JournalError):
    """Too many records await the host's acknowledgement: no new transaction may start."""


def _read_full(f, mv):
    """Fill `mv` from `f`; the number of bytes read (less only at the end of the file)."""
    got = 0
    n = len(mv)
    while got < n:
        k = f.readinto(mv[got:])
        if not k:
            break
        got += k
    return got


def _segment_name(first):
    s = str(first)
    return "0" * (10 - len(s)) + s + _SEGMENT


class Journal:
    """The journal of one reader in directory `fs_dir` of filesystem `fs` (module `os` or alike).

    key: 16-byte journal key of version `key_version` (new records); old_keys: {version: key} of
    earlier versions, to verify records written before a key rollover. segment_records: records per
    segment file (compaction removes whole files). capacity: most records kept (acknowledged or
    not; 0 = no limit) -- `begin` raises JournalFull unless the new record and the completions of
    all open transactions fit, so completing a transaction is always possible.
    """

    def __init__(self, fs_dir, key, terminal, key_version=0, old_keys=None, fs=os, open_fn=open,
                 segment_records=64, capacity=0):
        if len(key) != kdf.KEY_SIZE:
            raise ValueError("journal key must be 16 bytes")
        if not 0 <= terminal <= kdf.MAX_TERMINAL:
            raise ValueError("terminal number out of range: %r" % (terminal,))
        if segment_records < 1:
            raise ValueError("segment_records must be >= 1")
        self._path = fs_dir.rstrip("/") or "/"
        self._dir = self._path if self._path == "/" else self._path + "/"
        self._keys = dict(old_keys or {})
        self._keys[key_version] = bytes(key)
        self._key = bytes(key)
        self._kv = key_version
        self._terminal = terminal
        self._tid = terminal.to_bytes(4, "big")  # the MAC header's "UID", as in kdf.journal_key
        self._fs = fs
        self._open_fn = open_fn
        self._per_segment = segment_records
        self._capacity = capacity
        self._buf = bytearray(RECORD_SIZE)
        self._mv = memoryview(self._buf)
        self._opened = False
        self._segs = []  # first record number of each segment file, ascending
        self._seg_count = 0  # records in the last segment
        self._next = 1
        self._last_mac = _ZERO_MAC
        self._acked = 0
        self._base = 0
        self._base_mac = _ZERO_MAC
        self._pending = []

    # ---- state -------------------------------------------------------------------------------

    @property
    def next_number(self):
        """The number the next record gets (last record = next_number - 1)."""
        return self._next

    @property
    def acked(self):
        """Highest record number the host acknowledged."""
        return self._acked

    @property
    def base(self):
        """Records up to this number were compacted away (the first kept record is base + 1)."""
        return self._base

    @property
    def last_mac(self):
        return self._last_mac

    def pending(self):
        """Unresolved PENDING records (tuples), oldest first."""
        return list(self._pending)

    def pending_for(self, uid):
        """The unresolved PENDING record of card `uid` (the newest), or None: on the next tap of
        that card the same transaction is completed or rolled back, never a second one started."""
        uid = bytes(uid)
        for i in range(len(self._pending) - 1, -1, -1):
            rec = self._pending[i]
            if rec[UID][:rec[UID_LEN]] == uid:
                return rec
        return None

    # ---- opening: scan, verify, repair -------------------------------------------------------

    def open(self):
        """Scan and verify the journal; drop a torn last record; finish an interrupted compaction."""
        self._opened = False
        self._pending = []
        try:
            self._fs.mkdir(self._path)
        except OSError:
            pass  # it exists (any other problem shows up at the first file access)
        segs = []
        has_anchor = False
        for name in self._fs.listdir(self._path):
            if name.endswith(_TMP):
                self._fs.remove(self._dir + name)  # an interrupted replacement; the original stands
            elif name == _ANCHOR:
                has_anchor = True
            elif name.endswith(_SEGMENT):
                try:
                    first = int(name[:-len(_SEGMENT)])
                except ValueError:
                    first = -1
                # only the exact name append() gives: int() also reads "7", " 7", "+7" or "0_7",
                # and two names for one segment would be scanned (and removed) twice
                if first < 0 or _segment_name(first) != name:
                    raise JournalCorrupt("unexpected file %s" % name)
                segs.append(first)
        segs.sort()
        if has_anchor:
            acked, base, base_mac = self._read_anchor()
        else:
            acked, base, base_mac = 0, 0, _ZERO_MAC  # never acknowledged
        expected = base + 1
        prev = base_mac
        stale = []  # segments holding only records <= base: a compaction was interrupted
        torn = -1  # the segment whose last record is torn
        counts = []  # whole, verified records per segment
        last = len(segs) - 1
        for i in range(len(segs)):
            first = segs[i]
            kept, total, is_torn, prev = self._scan_segment(first, i == last, base, expected, prev)
            if is_torn:
                torn = first
            if kept:
                expected += kept
            elif total:
                stale.append(first)
            elif i != last:
                raise JournalCorrupt("segment %d is empty" % first)
            elif first != expected:
                raise JournalCorrupt("segment %d follows record %d: records missing" % (first, expected - 1))
            counts.append(total)
        if acked >= expected:
            raise JournalCorrupt("acknowledged up to %d but the journal ends at %d: records missing"
                                 % (acked, expected - 1))
        # Repairs. Everything kept was verified above, so only data never reported as written goes.
        if torn >= 0 and counts[-1] and torn not in stale:
            self._truncate_segment(torn, counts[-1])
        keep_segs = []
        keep_counts = []
        for i in range(len(segs)):
            if segs[i] in stale or counts[i] == 0:
                self._fs.remove(self._dir + _segment_name(segs[i]))
            else:
                keep_segs.append(segs[i])
                keep_counts.append(counts[i])
        self._sync()
        self._segs = keep_segs
        self._seg_count = keep_counts[-1] if keep_counts else 0
        self._next = expected
        self._last_mac = prev
        self._acked = acked
        self._base = base
        self._base_mac = base_mac
        self._opened = True
        return self

    def _scan_segment(self, first, is_last, base, expected, prev):
        """Verify one segment -> (records kept, whole valid records in it, last one torn?, last mac)."""
        buf = self._buf
        mv = self._mv
        kept = 0
        total = 0
        with self._open_stored(_segment_name(first)) as f:
            while True:
                n = _read_full(f, mv)
                if n == 0:
                    return kept, total, False, prev
                if n < RECORD_SIZE:
                    if is_last:
                        return kept, total, True, prev  # an interrupted append
                    raise JournalCorrupt("segment %d: incomplete record after %d records" % (first, total))
                rec = codec.decode_journal_record(buf)
                number = rec[NUMBER]
                if not self._mac_ok(rec):
                    if is_last and _read_full(f, mv) == 0:
                        return kept, total, True, prev  # the last record, torn: never reported
                    raise JournalCorrupt("record %d (segment %d) fails its MAC" % (number, first))
                if total == 0 and number != first:
                    raise JournalCorrupt("segment %d starts with record %d" % (first, number))
                total += 1
                if number <= base and kept == 0 and expected == base + 1:
                    continue  # acknowledged and compacted; its file was not deleted yet
                if number != expected + kept:
                    raise JournalCorrupt("record %d found where %d was expected: records missing or moved"
                                         % (number, expected + kept))
                if rec[PREV_MAC] != prev:
                    raise JournalCorrupt("record %d does not chain to record %d" % (number, number - 1))
                self._track(rec, base)
                prev = rec[MAC]
                kept += 1

    def _mac_ok(self, rec):
        key = self._keys.get(rec[KEY_VERSION])
        if key is None:
            # Never treated as torn: a missing key must not make the last record disappear.
            raise JournalCorrupt("record %d needs journal key version %d, which this reader does not hold"
                                 % (rec[NUMBER], rec[KEY_VERSION]))
        return kdf.verify_record_mac(key, codec.REC_JOURNAL, self._tid, rec[KEY_VERSION],
                                     self._mv[:_BODY], rec[MAC])

    def _track(self, rec, base):
        """Keep the set of unresolved PENDING records up to date with one more record."""
        state = rec[STATE]
        if state == PENDING:
            if rec[TXN] != rec[NUMBER]:
                raise JournalCorrupt("pending record %d carries txn %d" % (rec[NUMBER], rec[TXN]))
            self._pending.append(rec)
        elif state == COMMITTED or state == ROLLED_BACK:
            for i in range(len(self._pending)):
                if self._pending[i][NUMBER] == rec[TXN]:
                    del self._pending[i]
                    return
            if rec[TXN] > base:
                raise JournalCorrupt("record %d resolves %d, which is not pending" % (rec[NUMBER], rec[TXN]))
        else:
            raise JournalCorrupt("record %d has unknown state %d" % (rec[NUMBER], state))

    def _open_stored(self, name):
        """A journal file for reading; a file that cannot be read (a directory in its place, an
        I/O error) makes the journal unusable, as damage would: JournalCorrupt, not OSError."""
        try:
            return self._open_fn(self._dir + name, "rb")
        except OSError as e:
            raise JournalCorrupt("cannot read journal file %s: %s" % (name, e))

    def _read_anchor(self):
        with self._open_stored(_ANCHOR) as f:
            data = f.read()
        if len(data) != codec.JOURNAL_ANCHOR_SIZE:
            raise JournalCorrupt("anchor has %d bytes" % len(data))
        try:
            a = codec.decode_journal_anchor(data)
        except ValueError:
            raise JournalCorrupt("anchor is not a journal anchor")
        key = self._keys.get(a[codec.JOURNAL_ANCHOR_KEY_VERSION])
        if key is None:
            raise JournalCorrupt("anchor needs journal key version %d, which this reader does not hold"
                                 % a[codec.JOURNAL_ANCHOR_KEY_VERSION])
        if not kdf.verify_record_mac(key, codec.REC_JOURNAL, self._tid, a[codec.JOURNAL_ANCHOR_KEY_VERSION],
                                     memoryview(data)[:_ANCHOR_BODY], a[codec.JOURNAL_ANCHOR_MAC]):
            raise JournalCorrupt("anchor fails its MAC")
        acked = a[codec.JOURNAL_ANCHOR_ACKED]
        base = a[codec.JOURNAL_ANCHOR_BASE]
        if a[codec.JOURNAL_ANCHOR_TERMINAL] != self._terminal or base > acked:
            raise JournalCorrupt("anchor does not fit this journal")
        return acked, base, a[codec.JOURNAL_ANCHOR_BASE_MAC]

    def _truncate_segment(self, first, keep):
        """Rewrite a segment with its first `keep` records (no truncate() in MicroPython)."""
        name = self._dir + _segment_name(first)
        tmp = name + _TMP
        with self._open_fn(name, "rb") as src:
            with self._open_fn(tmp, "wb") as dst:
                for _ in range(keep):
                    _read_full(src, self._mv)
                    dst.write(self._buf)
                dst.flush()
        self._sync()
        self._fs.rename(tmp, name)
        self._sync()

    # ---- writing -----------------------------------------------------------------------------

    def _check_open(self):
        if not self._opened:
            raise JournalError("journal not open (call open(); needed again after a failed write)")

    def _sync(self):
        sync = getattr(self._fs, "sync", None)
        if sync is not None:
            sync()

    def append(self, kind, state, uid=b"", card_seq=0, amount=0, balance_after=0, txn=None, time=0):
        """Write one record and return it (tuple) once it is on flash.

        PENDING starts a transaction (its `txn` is its own number); COMMITTED / ROLLED_BACK must
        name an unresolved PENDING record in `txn`. Use begin / commit / roll_back.
        """
        self._check_open()
        number = self._next
        if state == PENDING:
            if txn is not None and txn != number:
                raise ValueError("a pending record's txn is its own number")
            if number > _MAX_TXN:
                raise JournalFull("transaction numbers exhausted")
            # Room for this record and the completions of it and of every open transaction.
            if self._capacity and number + 1 + len(self._pending) - self._base > self._capacity:
                raise JournalFull("%d records await acknowledgement" % (number - 1 - self._acked))
            txn = number
        elif state == COMMITTED or state == ROLLED_BACK:
            if self._find_pending(txn) < 0:
                raise ValueError("transaction %r is not pending" % (txn,))
        else:
            raise ValueError("unknown record state %r" % (state,))
        n = len(uid)
        if n not in (0, 4, 7):
            raise ValueError("UID must be 4 or 7 bytes, got %d" % n)
        buf = self._buf
        buf[:] = codec.encode_journal_record(
            number, kind, state, self._kv, n, bytes(uid) + bytes(codec.UID_FIELD_SIZE - n), card_seq,
            amount, balance_after, self._terminal, txn, time, self._last_mac, _ZERO_MAC)
        mac = kdf.record_mac(self._key, codec.REC_JOURNAL, self._tid, self._kv, self._mv[:_BODY])
        buf[_BODY:] = mac
        new_segment = not self._segs or self._seg_count >= self._per_segment
        first = number if new_segment else self._segs[-1]
        # Until the write is known to be complete the in-memory state may not match the flash.
        self._opened = False
        f = self._open_fn(self._dir + _segment_name(first), "ab")
        try:
            if f.write(buf) not in (None, RECORD_SIZE):
                raise OSError(28)  # short write: treat as a full filesystem
            f.flush()
        finally:
            f.close()
        self._sync()
        self._opened = True
        if new_segment:
            self._segs.append(number)
            self._seg_count = 0
        self._seg_count += 1
        self._next = number + 1
        self._last_mac = mac
        rec = codec.decode_journal_record(buf)
        if state == PENDING:
            self._pending.append(rec)
        else:
            del self._pending[self._find_pending(txn)]
        return rec

    def _find_pending(self, txn):
        for i in range(len(self._pending)):
            if self._pending[i][NUMBER] == txn:
                return i
        return -1

    def begin(self, kind, uid, card_seq, amount, balance_after, time):
        """Debit step 3: the PENDING record, written before the card is."""
        return self.append(kind, PENDING, uid, card_seq, amount, balance_after, None, time)

    def _resolve(self, pending, state, time):
        number = pending if isinstance(pending, int) else pending[NUMBER]
        i = self._find_pending(number)
        if i < 0:
            raise ValueError("transaction %r is not pending" % (number,))
        p = self._pending[i]
        return self.append(p[KIND], state, p[UID][:p[UID_LEN]], p[CARD_SEQ], p[AMOUNT], p[BALANCE_AFTER],
                           number, time)

    def commit(self, pending, time):
        """Debit step 6: the card holds the new state. `pending`: the record or its number."""
        return self._resolve(pending, COMMITTED, time)

    def roll_back(self, pending, time):
        """The card kept its old state: the transaction did not happen."""
        return self._resolve(pending, ROLLED_BACK, time)

    def _write_anchor(self, acked, base, base_mac):
        body = codec.encode_journal_anchor(self._kv, self._terminal, acked, base, base_mac, _ZERO_MAC)
        mac = kdf.record_mac(self._key, codec.REC_JOURNAL, self._tid, self._kv,
                             memoryview(body)[:_ANCHOR_BODY])
        data = codec.encode_journal_anchor(self._kv, self._terminal, acked, base, base_mac, mac)
        name = self._dir + _ANCHOR
        self._opened = False
        with self._open_fn(name + _TMP, "wb") as f:
            f.write(data)
            f.flush()
        self._sync()
        self._fs.rename(name + _TMP, name)  # the atomic step: old anchor or new, never half
        self._sync()
        self._opened = True

    def acknowledge(self, up_to):
        """The host has stored every record up to `up_to`; returns the acknowledged number."""
        self._check_open()
        if up_to >= self._next:
            raise ValueError("cannot acknowledge %d: the journal ends at %d" % (up_to, self._next - 1))
        if up_to > self._acked:
            self._write_anchor(up_to, self._base, self._base_mac)
            self._acked = up_to
        return self._acked

    def compact(self, keep_from=None):
        """Delete segment files whose records are all acknowledged and none of them is an
        unresolved transaction (or after one), nor numbered `keep_from` or later (the reader keeps
        the open day's records for its day-close totals). Returns the number of records removed."""
        self._check_open()
        cut = self._acked
        if keep_from is not None:
            cut = min(cut, keep_from - 1)
        if self._pending:
            cut = min(cut, self._pending[0][NUMBER] - 1)
        segs = self._segs
        drop = 0
        while drop < len(segs):
            last = segs[drop + 1] - 1 if drop + 1 < len(segs) else self._next - 1
            if last > cut:
                break
            drop += 1
        if drop == 0:
            return 0
        new_base = last if drop == len(segs) else segs[drop] - 1
        if new_base == self._next - 1:
            base_mac = self._last_mac
        else:
            base_mac = self._record_mac_of(segs[drop - 1], new_base)
        # The anchor first: from then on the dropped files are leftovers that open() deletes.
        self._write_anchor(self._acked, new_base, base_mac)
        self._base = new_base
        self._base_mac = base_mac
        self._opened = False
        for first in segs[:drop]:
            self._fs.remove(self._dir + _segment_name(first))
        self._sync()
        self._opened = True
        removed = new_base - segs[0] + 1
        self._segs = segs[drop:]
        if not self._segs:
            self._seg_count = 0
        return removed

    def _record_mac_of(self, first, number):
        with self._open_fn(self._dir + _segment_name(first), "rb") as f:
            f.seek((number - first) * RECORD_SIZE)
            if _read_full(f, self._mv) != RECORD_SIZE:
                raise JournalCorrupt("record %d vanished" % number)
        rec = codec.decode_journal_record(self._buf)
        if rec[NUMBER] != number or not self._mac_ok(rec):
            raise JournalCorrupt("record %d changed on flash" % number)
        return rec[MAC]

    # ---- reading -----------------------------------------------------------------------------

    def records(self, from_number=1, raw=False):
        """Iterate the kept records numbered >= from_number (tuples, or the stored bytes if raw),
        one at a time: for upload to the host."""
        self._check_open()
        start = max(from_number, self._base + 1)
        segs = list(self._segs)
        buf = bytearray(RECORD_SIZE)
        mv = memoryview(buf)
        for i in range(len(segs)):
            first = segs[i]
            if i + 1 < len(segs) and segs[i + 1] <= start:
                continue
            with self._open_fn(self._dir + _segment_name(first), "rb") as f:
                if start > first:
                    f.seek((start - first) * RECORD_SIZE)
                while _read_full(f, mv) == RECORD_SIZE:
                    if raw:
                        yield bytes(buf)
                    else:
                        yield codec.decode_journal_record(buf)

    def totals(self, since=0, until=None):
        """Day-close batch totals of COMMITTED records numbered since < n <= until:
        {kind: (count, sum of amounts in fen)}."""
        if since < self._base:
            raise ValueError("records up to %d were compacted away" % self._base)
        out = {}  # type: dict
        for rec in self.records(since + 1):
            if until is not None and rec[NUMBER] > until:
                break
            if rec[STATE] == COMMITTED:
                count, total = out.get(rec[KIND], (0, 0))
                out[rec[KIND]] = (count + 1, total + rec[AMOUNT])
        return out
