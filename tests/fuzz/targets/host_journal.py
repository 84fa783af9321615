"""Fuzz target: the host's verification of uploaded reader journal records
(host/terminals/journal_records.py: decode, verify_sequence).

Input: a run of records built from a real journal (journal_files' bases): kept, dropped,
duplicated, reordered, flipped, truncated, raw garbage, or re-sealed with the right key around
fuzzed fields. Properties: decode raises only ValueError; verify_sequence never raises and
returns (good, problems) where `good` is a prefix of what was sent, each record in it passing its
MAC and naming the terminal, numbered upwards; records left out are explained by a problem.
"""
import _common
import journal_files as jf

with _common.instrument(__name__):
    from icpurse.firmware import codec
    from icpurse.host.terminals import journal_records as hj

KEYS = {1: jf.K1, 2: jf.K2}
SIZE = codec.JOURNAL_RECORD_SIZE


def _records(fs):
    out = []
    for path in jf._files(fs):
        if path.endswith(".jr"):
            data = bytes(fs.files[path])
            out += [data[i:i + SIZE] for i in range(0, len(data) - SIZE + 1, SIZE)]
    return out


REAL = [_records(fs) for fs in jf.BASES]


def test_one_input(data):
    inp = _common.Input(data)
    base = REAL[inp.below(len(REAL))]
    raws = []
    for _ in range(inp.u8() % 10):
        op = inp.u8() % 8
        if op <= 2 and base:
            raws.append(base[inp.below(len(base))])
        elif op == 3 and base:
            r = bytearray(base[inp.below(len(base))])
            r[inp.below(SIZE)] ^= 1 + inp.u8() % 255
            raws.append(bytes(r))
        elif op == 4 and base:
            raws.append(jf._fuzz_record(inp, codec.decode_journal_record(base[inp.below(len(base))])))
        elif op == 5:
            raws.append(inp.chunk(SIZE + 4))
        elif op == 6 and base:
            raws.append(base[inp.below(len(base))][:inp.below(SIZE)])
        else:
            raws.extend(base)
    for raw in raws:
        try:
            hj.decode(raw)
        except ValueError:
            pass
    prev_number = inp.u8() % 8
    prev_mac = None if inp.flag() else inp.take(codec.MAC_SIZE)
    good, problems = hj.verify_sequence(raws, jf.TERMINAL, KEYS, prev_number, prev_mac)
    if [r.raw for r in good] != [bytes(r) for r in raws[:len(good)]]:
        raise AssertionError("verified records are not a prefix of those sent")
    last = prev_number
    for r in good:
        if not hj.mac_ok(r.raw, jf.TERMINAL, KEYS) or r.terminal_field != jf.TERMINAL or r.number <= last:
            raise AssertionError("record %d accepted: MAC, terminal or number wrong" % r.number)
        last = r.number
    if len(good) < len(raws) and not problems:
        raise AssertionError("records dropped without a problem reported")
    for p in problems:
        p.evidence()
    # (that an untouched journal verifies completely is tests/fuzz/test_properties.py's job)

SEEDS = [b"\x00\x01\x07", b"\x00\x03\x00\x00\x01\x03\x00\x05\x07", b"\x01\x02\x04\x00\x02\x05\x00\x00\x00"]

_common.main(__name__, test_one_input)
