"""The store reader's journal (firmware/journal.py), under CPython and MicroPython.

Reference bytes below were computed outside the code under test: the record layout packed by hand
with `struct` and AES-CMAC from the `cryptography` package (header 4A 04 <terminal BE> 000000 01
<key version>, then the record without its MAC).
"""
import os

import mpytest
from crashfs import CrashFS, PowerLoss

from icpurse.firmware import codec, kdf
from icpurse.firmware.journal import (AMOUNT, COMMITTED, KIND, MAC, NUMBER, PENDING, PREV_MAC,
                                      RECORD_SIZE, ROLLED_BACK, STATE, TXN, Journal, JournalCorrupt,
                                      JournalError, JournalFull)

KEY = bytes(range(16))
KEY2 = bytes(range(16, 32))
TERMINAL = 12345678
UID = b"\x04\xa1\xb2\xc3"
UID7 = b"\x04\x11\x22\x33\x44\x55\x66"
DIR = "/journal"
DEBIT = codec.TXN_DEBIT
T0 = 800000000  # seconds since 2000-01-01

# Record 1 (PENDING debit of 12.50 yuan, card seq 8, balance after 87.50) and record 2 (its commit).
REC1 = bytes.fromhex(
    "010000000301000404a1b2c300000008000000e20400002e2200004e61bc000100000008af2f"
    "0000000000000000856a4a3762a6cbe9")
REC2 = bytes.fromhex(
    "020000000302000404a1b2c300000008000000e20400002e2200004e61bc000100000508af2f"
    "856a4a3762a6cbe956f8acc21627debe")
# Anchor after acknowledging up to 2 (no compaction yet).
ANCHOR_ACK2 = bytes.fromhex("4a41004e61bc0002000000000000000000000000000000e5975b048ca84152")


def _journal(fs, **kw):
    return Journal(DIR, kw.pop("key", KEY), TERMINAL, fs=fs, open_fn=fs.open, **kw)


def _seg(first):
    return "%s/%010d.jr" % (DIR, first)


def _debit(j, amount, t=T0):
    p = j.begin(DEBIT, UID, 9, amount, 10000 - amount, t)
    return p, j.commit(p, t + 1)


def _raw(rec):
    return codec.encode_journal_record(*rec)


def _verify_chain(raws, first=1, prev=bytes(8), key=KEY):
    """Independent check of numbering, chaining and MACs of consecutive raw records."""
    n = first
    for raw in raws:
        rec = codec.decode_journal_record(raw)
        assert rec[NUMBER] == n, (rec[NUMBER], n)
        assert rec[PREV_MAC] == prev, n
        assert kdf.verify_record_mac(key, codec.REC_JOURNAL, TERMINAL.to_bytes(4, "big"),
                                     rec[codec.JOURNAL_RECORD_KEY_VERSION], raw[:RECORD_SIZE - 8], rec[MAC]), n
        prev = rec[MAC]
        n += 1
    return n, prev


# ---- format -----------------------------------------------------------------------------------

def test_records_match_reference_bytes():
    fs = CrashFS()
    j = _journal(fs).open()
    p = j.begin(DEBIT, UID, 8, 1250, 8750, T0)
    c = j.commit(p, T0 + 5)
    assert bytes(fs.files[_seg(1)]) == REC1 + REC2
    assert _raw(p) == REC1 and _raw(c) == REC2
    assert p[STATE] == PENDING and p[TXN] == 1
    assert c[STATE] == COMMITTED and c[TXN] == 1 and c[PREV_MAC] == p[MAC]


def test_anchor_matches_reference_bytes():
    fs = CrashFS()
    j = _journal(fs).open()
    _debit(j, 1250)
    assert j.acknowledge(2) == 2
    assert bytes(fs.files[DIR + "/anchor"]) == ANCHOR_ACK2
    assert "anchor.tmp" not in fs.listdir(DIR)


# ---- append, reopen, numbering ----------------------------------------------------------------

def test_append_and_reopen():
    fs = CrashFS()
    j = _journal(fs, segment_records=4).open()
    written = []
    for i in range(5):
        p, c = _debit(j, 100 + i, T0 + 10 * i)
        written += [_raw(p), _raw(c)]
    p = j.begin(DEBIT, UID7, 20, 7, 93, T0 + 99)  # left unresolved
    written.append(_raw(p))
    assert j.next_number == 12
    assert fs.listdir(DIR) == ["0000000001.jr", "0000000005.jr", "0000000009.jr"]
    j2 = _journal(fs, segment_records=4).open()
    assert j2.next_number == 12 and j2.last_mac == j.last_mac
    assert [_raw(r) for r in j2.records()] == written
    assert list(j2.records(raw=True)) == written
    assert [r[NUMBER] for r in j2.pending()] == [11]
    assert _verify_chain(written) == (12, j.last_mac)
    # numbering continues, chained to the last record before the reopen
    c = j2.commit(11, T0 + 100)
    assert c[NUMBER] == 12 and c[PREV_MAC] == j.last_mac and j2.pending() == []


def test_records_from_a_number():
    fs = CrashFS()
    j = _journal(fs, segment_records=3).open()
    for i in range(4):
        _debit(j, 10 + i)
    assert [r[NUMBER] for r in j.records(5)] == [5, 6, 7, 8]
    assert [r[NUMBER] for r in j.records(7)] == [7, 8]
    assert [r[NUMBER] for r in j.records(9)] == []
    assert [r[AMOUNT] for r in j.records(1) if r[STATE] == COMMITTED] == [10, 11, 12, 13]


def test_resolution_rules():
    j = _journal(CrashFS()).open()
    p, _ = _debit(j, 50)
    with mpytest.raises(ValueError, match="not pending"):
        j.commit(p, T0)  # already committed: never a second completion
    with mpytest.raises(ValueError, match="not pending"):
        j.roll_back(77, T0)
    with mpytest.raises(ValueError):
        j.append(DEBIT, COMMITTED, UID, txn=2)  # record 2 is a commit, not a pending one
    with mpytest.raises(ValueError):
        j.append(DEBIT, 9, UID)
    with mpytest.raises(ValueError):
        j.begin(DEBIT, b"\x01\x02\x03", 1, 1, 1, T0)
    p = j.begin(DEBIT, UID, 10, 5, 5, T0)
    r = j.roll_back(p, T0 + 1)
    assert r[STATE] == ROLLED_BACK and r[TXN] == p[NUMBER] and j.pending() == []
    assert j.next_number == 5


def test_not_usable_before_open():
    j = _journal(CrashFS())
    with mpytest.raises(JournalError, match="not open"):
        j.begin(DEBIT, UID, 1, 1, 1, T0)


def test_totals_count_only_committed():
    j = _journal(CrashFS(), segment_records=2).open()
    _debit(j, 300)
    _debit(j, 450)
    p = j.begin(DEBIT, UID, 9, 1000, 0, T0)
    j.roll_back(p, T0)
    p = j.begin(DEBIT, UID, 9, 999, 0, T0)  # unresolved
    assert j.totals() == {DEBIT: (2, 750)}
    assert j.totals(since=2) == {DEBIT: (1, 450)}
    assert j.totals(since=0, until=2) == {DEBIT: (1, 300)}
    j.commit(p, T0)
    assert j.totals(since=3) == {DEBIT: (2, 1449)}  # commits 4 and 9
    j.acknowledge(4)
    j.compact()
    assert j.base == 4
    with mpytest.raises(ValueError, match="compacted"):
        j.totals(since=0)


# ---- tampering --------------------------------------------------------------------------------

def _four_records():
    fs = CrashFS()
    j = _journal(fs).open()
    _debit(j, 100)
    _debit(j, 200)
    return fs


def test_any_changed_byte_in_the_middle_is_detected():
    clean = _four_records()
    for off in range(RECORD_SIZE, 3 * RECORD_SIZE):  # records 2 and 3 of 4
        fs = clean.copy()
        fs.files[_seg(1)][off] ^= 0x01
        with mpytest.raises(JournalCorrupt):
            _journal(fs).open()


def test_deleted_or_moved_records_are_detected():
    clean = _four_records()
    data = bytes(clean.files[_seg(1)])
    r = [data[i * RECORD_SIZE:(i + 1) * RECORD_SIZE] for i in range(4)]
    for bad, why in ((r[0] + r[2] + r[3], "missing"),  # record 2 deleted
                     (r[1] + r[2] + r[3], "starts with record 2"),  # record 1 deleted
                     (r[0] + r[2] + r[1] + r[3], "missing or moved"),  # swapped
                     (r[0] + r[1] + r[2] + r[3] + r[1], "missing or moved")):  # replayed at the end
        fs = clean.copy()
        fs.files[_seg(1)] = bytearray(bad)
        with mpytest.raises(JournalCorrupt, match=why):
            _journal(fs).open()


def test_deleted_segment_is_detected():
    fs = CrashFS()
    j = _journal(fs, segment_records=2).open()
    for i in range(3):
        _debit(j, 10)
    for victim in (3, 1):
        broken = fs.copy()
        broken.remove(_seg(victim))
        with mpytest.raises(JournalCorrupt, match="missing"):
            _journal(broken, segment_records=2).open()


def test_records_deleted_after_acknowledgement_are_detected():
    fs = CrashFS()
    j = _journal(fs).open()
    _debit(j, 10)
    _debit(j, 20)
    j.acknowledge(4)
    fs.files[_seg(1)] = fs.files[_seg(1)][:2 * RECORD_SIZE]  # acknowledged records 3 and 4 vanish
    with mpytest.raises(JournalCorrupt, match="acknowledged up to 4"):
        _journal(fs).open()


def test_anchor_is_verified():
    fs = CrashFS()
    j = _journal(fs, segment_records=2).open()
    _debit(j, 10)
    _debit(j, 20)
    j.acknowledge(3)
    j.compact()
    assert j.base == 2
    for off in range(len(fs.files[DIR + "/anchor"])):
        broken = fs.copy()
        broken.files[DIR + "/anchor"][off] ^= 0x80
        with mpytest.raises(JournalCorrupt):
            _journal(broken, segment_records=2).open()
    broken = fs.copy()
    broken.remove(DIR + "/anchor")  # without it the journal would have to start at record 1
    with mpytest.raises(JournalCorrupt, match="expected"):
        _journal(broken, segment_records=2).open()
    other = Journal(DIR, KEY, TERMINAL + 1, fs=fs, open_fn=fs.open, segment_records=2)
    with mpytest.raises(JournalCorrupt):
        other.open()  # the terminal number is bound into every MAC


def test_torn_last_record_is_dropped():
    clean = _four_records()
    for cut in (1, 30, RECORD_SIZE - 1):
        fs = clean.copy()
        fs.files[_seg(1)] = fs.files[_seg(1)][:3 * RECORD_SIZE + cut]
        j = _journal(fs).open()
        assert j.next_number == 4 and [r[NUMBER] for r in j.pending()] == [3]
        assert len(fs.files[_seg(1)]) == 3 * RECORD_SIZE  # repaired: the next append is whole
        j.roll_back(3, T0)
        assert _verify_chain(list(_journal(fs).open().records(raw=True)))[0] == 5
    # A complete last record that fails its MAC is indistinguishable from a torn one: dropped.
    fs = clean.copy()
    fs.files[_seg(1)][-1] ^= 0xFF
    assert _journal(fs).open().next_number == 4


def test_key_rollover_keeps_old_records_verifiable():
    fs = CrashFS()
    j = Journal(DIR, KEY, TERMINAL, key_version=1, fs=fs, open_fn=fs.open).open()
    _debit(j, 10)
    j2 = Journal(DIR, KEY2, TERMINAL, key_version=2, old_keys={1: KEY}, fs=fs, open_fn=fs.open).open()
    p, c = _debit(j2, 20)
    assert c[codec.JOURNAL_RECORD_KEY_VERSION] == 2 and p[PREV_MAC] == j.last_mac
    assert Journal(DIR, KEY2, TERMINAL, key_version=2, old_keys={1: KEY}, fs=fs,
                   open_fn=fs.open).open().next_number == 5
    with mpytest.raises(JournalError, match="key version 1"):
        Journal(DIR, KEY2, TERMINAL, key_version=2, fs=fs, open_fn=fs.open).open()


# ---- acknowledgement and compaction -----------------------------------------------------------

def test_acknowledge_rules():
    fs = CrashFS()
    j = _journal(fs).open()
    _debit(j, 10)
    with mpytest.raises(ValueError, match="ends at 2"):
        j.acknowledge(3)
    assert j.acknowledge(2) == 2
    assert j.acknowledge(1) == 2  # a late, older acknowledgement changes nothing
    assert _journal(fs).open().acked == 2


def test_compaction_removes_only_acknowledged_segments():
    fs = CrashFS()
    j = _journal(fs, segment_records=2).open()
    for i in range(3):
        _debit(j, 10 * (i + 1))
    assert j.compact() == 0  # nothing acknowledged: nothing leaves
    j.acknowledge(3)
    assert j.compact() == 2  # records 1-2; the segment of 3-4 still holds record 4
    assert fs.listdir(DIR) == ["0000000003.jr", "0000000005.jr", "anchor"]
    assert j.base == 2 and [r[NUMBER] for r in j.records()] == [3, 4, 5, 6]
    j2 = _journal(fs, segment_records=2).open()
    assert (j2.base, j2.acked, j2.next_number) == (2, 3, 7)
    last_mac = j2.last_mac
    j2.acknowledge(6)
    assert j2.compact() == 4
    assert fs.listdir(DIR) == ["anchor"]
    j3 = _journal(fs, segment_records=2).open()
    assert (j3.base, j3.next_number, j3.last_mac) == (6, 7, last_mac)
    p = j3.begin(DEBIT, UID, 1, 1, 1, T0)
    assert p[NUMBER] == 7 and p[PREV_MAC] == last_mac  # the chain survives compaction
    assert _journal(fs, segment_records=2).open().next_number == 8


def test_unresolved_pending_record_is_never_compacted():
    fs = CrashFS()
    j = _journal(fs, segment_records=2).open()
    p = j.begin(DEBIT, UID, 1, 40, 60, T0)  # 1: the card was pulled
    _debit(j, 10)  # 2, 3
    _debit(j, 20)  # 4, 5
    j.acknowledge(5)
    assert j.compact() == 0
    reopened = _journal(fs, segment_records=2).open()
    assert [r[NUMBER] for r in reopened.pending()] == [1]
    assert reopened.pending_for(UID)[NUMBER] == 1 and reopened.pending_for(UID7) is None
    j.commit(p, T0 + 60)  # the card came back: the same transaction completes
    j.acknowledge(6)
    assert j.compact() == 6
    assert j.pending() == []


def test_journal_full_blocks_new_transactions_only():
    j = _journal(CrashFS(), segment_records=2, capacity=4).open()
    _debit(j, 1)  # 1, 2
    p = j.begin(DEBIT, UID, 1, 1, 1, T0)  # 3; its completion will be 4
    with mpytest.raises(JournalFull):
        j.begin(DEBIT, UID, 1, 1, 1, T0)  # 4 and 5 would not fit
    assert j.commit(p, T0)[NUMBER] == 4  # an open transaction can always complete
    with mpytest.raises(JournalFull):
        j.begin(DEBIT, UID, 1, 1, 1, T0)
    j.acknowledge(4)
    j.compact()
    assert j.begin(DEBIT, UID, 1, 1, 1, T0)[NUMBER] == 5


def test_sync_is_called_when_the_filesystem_has_it():
    class SyncFS(CrashFS):
        syncs = 0

        def sync(self):
            SyncFS.syncs += 1

    fs = SyncFS()
    j = _journal(fs).open()
    before = SyncFS.syncs
    j.begin(DEBIT, UID, 1, 1, 1, T0)
    assert SyncFS.syncs > before


def test_on_the_real_filesystem():
    path = mpytest.tmpdir() + "/journal"
    j = Journal(path, KEY, TERMINAL, segment_records=2).open()
    for i in range(3):
        _debit(j, 5 + i)
    j.acknowledge(4)
    assert j.compact() == 4
    j = Journal(path, KEY, TERMINAL, segment_records=2).open()
    assert (j.base, j.next_number) == (4, 7)
    assert sorted(os.listdir(path)) == ["0000000005.jr", "anchor"]
    assert [r[AMOUNT] for r in j.records() if r[STATE] == COMMITTED] == [7]


def test_reads_one_record_at_a_time():
    fs = CrashFS()
    j = _journal(fs, segment_records=8).open()
    for i in range(6):
        _debit(j, i + 1)
    sizes = []

    def spy_open(path, mode="r"):
        f = fs.open(path, mode)
        inner = f.readinto

        def readinto(buf):
            sizes.append(len(buf))
            return inner(buf)

        f.readinto = readinto
        return f

    j2 = Journal(DIR, KEY, TERMINAL, fs=fs, open_fn=spy_open, segment_records=8).open()
    assert len(list(j2.records(raw=True))) == 12 and j2.totals() == {DEBIT: (6, 21)}
    assert sizes and max(sizes) <= RECORD_SIZE  # never a whole segment in memory


def test_append_allocates_little():
    j = _journal(CrashFS()).open()
    _debit(j, 1)
    rec, used = mpytest.alloc_bytes(j.begin, DEBIT, UID, 1, 1, 1, T0)
    assert rec[NUMBER] == 3
    assert used < 4096, used  # record, MAC and file object only (ESP32 heap budget)


# ---- power loss ---------------------------------------------------------------------------------

SEG = 3


class _Run:
    """One pass of the script: what returned (so must survive) and what was in flight."""

    def __init__(self):
        self.returned = {}  # number -> raw record whose append returned
        self.acked = 0  # last acknowledge that returned
        self.ack_inflight = 0
        self.inflight = None  # (state, amount) of the append under way
        self.host = {}  # number -> raw record the host received


def _upload(j, host):
    """The host fetches everything after the reader's acknowledgement pointer."""
    n = j.acked + 1
    for raw in j.records(j.acked + 1, raw=True):
        number = codec.decode_journal_record(raw)[NUMBER]
        assert number == n, "upload out of order"
        if number in host:
            assert host[number] == raw, "record %d uploaded twice with different bytes" % number
        host[number] = raw
        n += 1
    return n - 1


def _script(fs, run):
    j = _journal(fs, segment_records=SEG).open()

    def begin(amount):
        run.inflight = (PENDING, amount)
        rec = j.begin(DEBIT, UID, 9, amount, 10000 - amount, T0)
        run.returned[rec[NUMBER]] = _raw(rec)
        return rec

    def resolve(p, state):
        run.inflight = (state, p[AMOUNT])
        rec = (j.commit if state == COMMITTED else j.roll_back)(p, T0 + 1)
        run.returned[rec[NUMBER]] = _raw(rec)

    def upload_and_ack():
        run.inflight = None
        last = _upload(j, run.host)
        run.ack_inflight = last
        j.acknowledge(last)
        run.acked = last

    def compact():
        run.inflight = None
        j.compact()

    resolve(begin(1000), COMMITTED)  # 1, 2
    resolve(begin(250), COMMITTED)  # 3, 4
    upload_and_ack()  # acked 4
    resolve(begin(99), ROLLED_BACK)  # 5, 6
    compact()  # segment 1-3 goes
    p = begin(500)  # 7 (card pulled)
    upload_and_ack()  # acked 7, although 7 is unresolved
    compact()  # 4-6 goes; 7-9 stays for the pending record
    resolve(p, COMMITTED)  # 8
    resolve(begin(10), COMMITTED)  # 9, 10 (new segment)
    upload_and_ack()  # acked 10
    compact()  # everything goes: only the anchor remains
    begin(70)  # 11, left pending in a fresh segment
    run.inflight = None
    return j


def _check_recovered(fs, run):
    """After power came back: the journal opens and nothing that was reported is lost."""
    j = _journal(fs, segment_records=SEG).open()
    kept = list(j.records(raw=True))
    for name in fs.listdir(DIR):  # no temp file, no compacted segment left behind
        assert name == "anchor" or (name.endswith(".jr") and int(name[:-3]) > j.base), name
    last = j.next_number - 1
    assert [codec.decode_journal_record(r)[NUMBER] for r in kept] == list(range(j.base + 1, last + 1))
    # acknowledgement: the last one that returned, or the one in flight
    assert j.acked in (run.acked, run.ack_inflight), (j.acked, run.acked, run.ack_inflight)
    assert j.base <= j.acked
    host = dict(run.host)
    # records only leave after the host has them
    for n in range(1, j.base + 1):
        assert n in host, "record %d compacted but never uploaded" % n
    # every record whose append returned is still there, unchanged (or safely at the host)
    top = max(run.returned) if run.returned else 0
    for n in run.returned:
        if n > j.base:
            assert kept[n - j.base - 1] == run.returned[n], "record %d changed or lost" % n
        else:
            assert host[n] == run.returned[n]
    # at most one more record: the append in flight, complete on flash
    assert top <= last <= top + 1, (top, last)
    if last == top + 1:
        extra = codec.decode_journal_record(kept[-1])
        assert run.inflight is not None and (extra[STATE], extra[AMOUNT]) == run.inflight
    # the host fetches the rest: no number with two different records, no gap, chain verifies
    _upload(j, host)
    assert sorted(host) == list(range(1, last + 1))
    _verify_chain([host[n] for n in range(1, last + 1)])
    # unresolved transactions are reported, exactly
    unresolved = []
    for n in range(1, last + 1):
        rec = codec.decode_journal_record(host[n])
        if rec[STATE] == PENDING:
            unresolved.append(n)
        elif rec[TXN] in unresolved:
            unresolved.remove(rec[TXN])
    assert [r[NUMBER] for r in j.pending()] == unresolved
    # and the journal keeps working
    for p in j.pending():
        j.roll_back(p, T0 + 2)
    _debit(j, 1)
    j.acknowledge(_upload(j, host))
    j.compact()
    again = _journal(fs, segment_records=SEG).open()
    assert again.next_number == last + 1 + len(unresolved) + 2 and again.pending() == []
    assert again.acked == again.next_number - 1


def _variants(k, call):
    """(keep, seed) ways for changing call k to lose power. A write: nothing lands, two seeded
    strict prefixes, or all of it lands but the call never returns. Others: the call does nothing."""
    if call[0] == "write" and call[2] > 1:
        return ((0, None), (0, 2 * k + 1), (0, 2 * k + 2), (None, None))
    return ((0, None),)


def _crash(k, keep, seed):
    fs = CrashFS()
    fs.arm(k, keep, seed)
    run = _Run()
    try:
        _script(fs, run)
    except PowerLoss:
        return fs.reboot(), run
    raise AssertionError("no power loss at call %d" % k)


def test_power_loss_at_every_write():
    plan = CrashFS()
    _script(plan, _Run())
    calls = plan.log
    kinds = [c[0] for c in calls]
    # 11 records + 6 anchor replacements (3 acknowledgements, 3 compactions) written; 5 segments
    # + 6 temp files created; 4 segments removed; the directory made once
    assert (kinds.count("write"), kinds.count("create"), kinds.count("rename"), kinds.count("remove"),
            kinds.count("mkdir"), len(kinds)) == (17, 11, 6, 4, 1, 39)
    runs = 0
    for k in range(len(calls)):
        for keep, seed in _variants(k, calls[k]):
            fs, run = _crash(k, keep, seed)
            try:
                _check_recovered(fs, run)
            except BaseException as e:
                raise AssertionError("power lost at call %d %r keep=%r seed=%r: %r"
                                     % (k, calls[k], keep, seed, e))
            runs += 1
    assert runs > len(calls)


def test_power_loss_again_during_recovery():
    # Every crash state whose recovery has to write (drop a torn record, finish a compaction,
    # delete a temp file) is recovered again with power failing at each of those writes.
    plan = CrashFS()
    _script(plan, _Run())
    repaired = 0
    for k in range(len(plan.log)):
        for keep, seed in _variants(k, plan.log[k]):
            crashed, run = _crash(k, keep, seed)
            probe = crashed.copy()
            _journal(probe, segment_records=SEG).open()
            recovery = probe.log
            for r in range(len(recovery)):
                for keep2, seed2 in _variants(r, recovery[r]):
                    fs = crashed.copy()
                    fs.arm(r, keep2, seed2)
                    with mpytest.raises(PowerLoss):
                        _journal(fs, segment_records=SEG).open()
                    _check_recovered(fs.reboot(), run)
                    repaired += 1
    assert repaired > 10
