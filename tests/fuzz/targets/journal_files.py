"""Fuzz target: the reader journal parser (firmware/journal.Journal.open) over damaged files.

Starts from real journals (several segments, with and without an anchor, compacted, across a
key rollover) in an in-memory filesystem and applies mutations the input chooses: flipped bytes,
truncated / deleted / duplicated files, stray files, records and anchors re-sealed with the right
key around fuzzed fields (so the chain, numbering and state checks run, not only the MAC).

Properties: open() ends in JournalCorrupt / JournalError or succeeds; never another exception.
After a successful open the records iterate, a new transaction can be written (or JournalFull),
and the journal opens again with the same next number (repairs never leave it unopenable).
"""
import _common

with _common.instrument(__name__):
    from icpurse.firmware import codec, kdf
    from icpurse.firmware.journal import Journal, JournalError, JournalFull

DIR = "/j"
TERMINAL = 12345678
K1 = bytes(range(16))
K2 = bytes(range(16, 32))
UID = bytes.fromhex("DEADBEEF")
_BODY = codec.JOURNAL_RECORD_SIZE - codec.MAC_SIZE
_ANCHOR_BODY = codec.JOURNAL_ANCHOR_SIZE - codec.MAC_SIZE
_TID = TERMINAL.to_bytes(4, "big")


def _journal(fs, version=2):
    if version == 1:
        return Journal(DIR, K1, TERMINAL, 1, None, fs, fs.open, segment_records=3, capacity=40)
    return Journal(DIR, K2, TERMINAL, 2, {1: K1}, fs, fs.open, segment_records=3, capacity=40)


def _sale(j, t, commit=True):
    p = j.begin(codec.TXN_DEBIT, UID, 5, 100, 900, t)
    if commit is None:
        return p
    (j.commit if commit else j.roll_back)(p, t + 1)
    return p


def _bases():
    out = []
    fs = _common.crashfs()
    j = _journal(fs, 1).open()
    _sale(j, 10)
    _sale(j, 20, False)
    _sale(j, 30, None)  # left pending
    out.append(fs.copy())  # 5 records, 2 segments, no anchor
    j.acknowledge(4)
    out.append(fs.copy())  # with an anchor
    j.compact()
    _sale(j, 40)
    out.append(fs.copy())  # compacted: base > 0
    j = _journal(fs, 2).open()  # key rollover: version 2 records after version 1
    _sale(j, 50)
    j.acknowledge(j.next_number - 1)
    j.compact()
    out.append(fs.copy())
    return out


BASES = _bases()


def _files(fs):
    return sorted(p for p in fs.files if p.startswith(DIR + "/"))


def _key(version):
    return {1: K1, 2: K2}.get(version, K2)


def _seal_record(fields):
    buf = bytearray(codec.encode_journal_record(*fields))
    buf[_BODY:] = kdf.record_mac(_key(fields[codec.JOURNAL_RECORD_KEY_VERSION]), codec.REC_JOURNAL, _TID,
                                 fields[codec.JOURNAL_RECORD_KEY_VERSION], bytes(buf[:_BODY]))
    return bytes(buf)


def _fuzz_record(inp, rec):
    """`rec` (tuple) with a few fields replaced by fuzzed values of the right width."""
    fields = list(rec)
    widths = {codec.JOURNAL_RECORD_NUMBER: 4, codec.JOURNAL_RECORD_KIND: 1, codec.JOURNAL_RECORD_STATE: 1,
              codec.JOURNAL_RECORD_KEY_VERSION: 1, codec.JOURNAL_RECORD_UID_LEN: 1, codec.JOURNAL_RECORD_CARD_SEQ: 4,
              codec.JOURNAL_RECORD_AMOUNT: 4, codec.JOURNAL_RECORD_TERMINAL: 4, codec.JOURNAL_RECORD_TXN: 3}
    names = sorted(widths)
    for _ in range(1 + inp.u8() % 3):
        f = names[inp.below(len(names))]
        v = inp.uint(widths[f])
        if widths[f] > 1 and inp.flag():
            v = fields[f] + (inp.u8() % 5) - 2  # near the real value: off-by-one territory
            v = max(0, min(v, (1 << (8 * widths[f])) - 1))
        if f == codec.JOURNAL_RECORD_KEY_VERSION and inp.flag():
            v = 1 + (v & 1)
        fields[f] = v
    if inp.u8() % 4 == 0:
        fields[codec.JOURNAL_RECORD_PREV_MAC] = inp.take(codec.MAC_SIZE)
    return _seal_record(fields)


def _mutate(inp, fs):
    files = _files(fs)
    op = inp.u8() % 9
    if not files and op < 7:
        op = 7
    path = files[inp.below(len(files))] if files else None
    if op == 0:  # flip one byte
        data = fs.files[path]
        if data:
            data[inp.below(len(data))] ^= 1 + inp.u8() % 255
    elif op == 1:  # truncate
        data = fs.files[path]
        del data[inp.below(len(data) + 1):]
    elif op == 2:
        del fs.files[path]
    elif op == 3:  # copy one file over another (or to a new segment name)
        other = files[inp.below(len(files))] if inp.flag() else "%s/%010d.jr" % (DIR, inp.u8() % 16)
        fs.files[other] = bytearray(fs.files[path])
    elif op == 4 and path.endswith(".jr"):  # re-seal a record with fuzzed fields
        data = fs.files[path]
        n = len(data) // codec.JOURNAL_RECORD_SIZE
        if n:
            i = inp.below(n) * codec.JOURNAL_RECORD_SIZE
            rec = codec.decode_journal_record(bytes(data[i:i + codec.JOURNAL_RECORD_SIZE]))
            data[i:i + codec.JOURNAL_RECORD_SIZE] = _fuzz_record(inp, rec)
    elif op == 5 or op == 4:  # a re-sealed anchor with fuzzed fields
        kv = 1 + (inp.u8() & 1)
        body = codec.encode_journal_anchor(kv, TERMINAL if inp.u8() else inp.uint(4), inp.uint(1), inp.uint(1),
                                           inp.take(8) if inp.flag() else bytes(8), bytes(8))
        mac = kdf.record_mac(_key(kv), codec.REC_JOURNAL, _TID, kv, body[:_ANCHOR_BODY])
        fs.files[DIR + "/anchor"] = bytearray(body[:_ANCHOR_BODY] + mac)
    elif op == 6:  # append a sealed record that follows the real last one, with fuzzed fields
        last = files[-1]
        data = fs.files[last]
        if len(data) >= codec.JOURNAL_RECORD_SIZE:
            rec = list(codec.decode_journal_record(bytes(data[-codec.JOURNAL_RECORD_SIZE:])))
            rec[codec.JOURNAL_RECORD_PREV_MAC] = rec[codec.JOURNAL_RECORD_MAC]
            rec[codec.JOURNAL_RECORD_NUMBER] += 1
            data += _fuzz_record(inp, rec)
    elif op == 7:  # a stray file
        names = ("x.tmp", "anchor", "anchor.tmp", "%d.jr" % inp.u8(), "junk", "1_0.jr", "-1.jr", " 7.jr",
                 "%010d.jr" % inp.uint(4))
        fs.files[DIR + "/" + names[inp.below(len(names))]] = bytearray(inp.chunk(120))
    else:  # a sub-directory where a file belongs
        fs.dirs[DIR + "/" + ("%010d.jr" % inp.u8() if inp.flag() else "anchor")] = True


def test_one_input(data):
    inp = _common.Input(data)
    fs = BASES[inp.below(len(BASES))].copy()
    for _ in range(1 + inp.u8() % 4):
        _mutate(inp, fs)
    version = 1 if inp.u8() % 4 == 0 else 2
    try:
        j = _journal(fs, version).open()
    except JournalError:
        return
    numbers = [r[codec.JOURNAL_RECORD_NUMBER] for r in j.records()]
    if numbers != list(range(j.base + 1, j.next_number)):
        raise AssertionError("opened journal iterates %r (base %d, next %d)" % (numbers, j.base, j.next_number))
    try:
        _sale(j, 99, inp.flag())
    except JournalFull:
        pass
    expected = j.next_number
    again = _journal(fs, version).open()
    if again.next_number != expected:
        raise AssertionError("reopened at %d, expected %d" % (again.next_number, expected))


SEEDS = [bytes((b,)) + b"\x00" * 6 for b in range(len(BASES))] + [b"\x01\x00\x04\x01\x00", b"\x02\x00\x07\x05"]

_common.main(__name__, test_one_input)
