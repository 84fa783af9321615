"""The batch journal verification (host/terminals/journal_records.py: one struct decode, MAC header
once per key version, CmacBatch) accepts and rejects exactly as the record-by-record verifier it
replaced. That verifier is kept below, verbatim, as the oracle: on valid, tampered, reordered,
truncated, duplicated, gapped, foreign and re-keyed journals both must return the same records and
the same problems. A few outcomes are also written out by hand, so the oracle itself is checked."""
import dataclasses
import random

import pytest

from icpurse.host import codec
from icpurse.host.terminals import journal_records as jv
from icpurse.protocol.crypto import kdf
from icpurse.protocol.crypto.cmac import CmacBatch, aes_cmac

TERMINAL = 31000007
OTHER = 31000008
KEYS = {1: bytes(range(16)), 2: bytes(range(100, 116))}
SEALING = {1: KEYS[1], 2: KEYS[2], 3: bytes(range(200, 216))}  # version 3: a key the verifier is not given
BODY = codec.JOURNAL_RECORD_SIZE - codec.MAC_SIZE


# --- the record-by-record verifier before the batch one (the oracle) ---------------------------------

def old_decode(raw):
    raw = bytes(raw)
    if len(raw) != jv.RECORD_SIZE:
        raise ValueError("a journal record is %d bytes, got %d" % (jv.RECORD_SIZE, len(raw)))
    f = codec.decode_journal_record(raw)
    n = f[codec.JOURNAL_RECORD_UID_LEN]
    return jv.Record(f[codec.JOURNAL_RECORD_NUMBER], f[codec.JOURNAL_RECORD_KIND], f[codec.JOURNAL_RECORD_STATE],
                     f[codec.JOURNAL_RECORD_KEY_VERSION], bytes(f[codec.JOURNAL_RECORD_UID][:n]).hex().upper(),
                     f[codec.JOURNAL_RECORD_CARD_SEQ], f[codec.JOURNAL_RECORD_AMOUNT],
                     f[codec.JOURNAL_RECORD_BALANCE_AFTER], f[codec.JOURNAL_RECORD_TERMINAL],
                     f[codec.JOURNAL_RECORD_TXN], f[codec.JOURNAL_RECORD_TIME],
                     bytes(f[codec.JOURNAL_RECORD_PREV_MAC]), bytes(f[codec.JOURNAL_RECORD_MAC]), raw)


def old_mac_ok(raw, terminal, keys):
    raw = bytes(raw)
    f = codec.decode_journal_record(raw)
    key = keys.get(f[codec.JOURNAL_RECORD_KEY_VERSION])
    if key is None:
        return False
    return kdf.verify_record_mac(key, codec.REC_JOURNAL, terminal.to_bytes(4, "big"),
                                 f[codec.JOURNAL_RECORD_KEY_VERSION], memoryview(raw)[:BODY],
                                 f[codec.JOURNAL_RECORD_MAC])


def old_verify_sequence(raws, terminal, keys, prev_number=0, prev_mac=None):
    Problem = jv.Problem
    good, problems = [], []
    expect = prev_number + 1
    last_mac = prev_mac
    for raw in raws:
        raw = bytes(raw)
        try:
            rec = old_decode(raw)
        except ValueError as e:
            problems.append(Problem("mac", expect, "undecodable record: %s" % e, raw))
            break
        if rec.key_version not in keys:
            problems.append(Problem("key", rec.number, "journal key version %d is unknown" % rec.key_version, raw))
            break
        if not old_mac_ok(raw, terminal, keys):
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
            last_mac = None
        if last_mac is not None and rec.prev_mac != last_mac:
            problems.append(Problem("chain", rec.number, "record %d does not chain to record %d" % (
                rec.number, rec.number - 1), raw))
            break
        good.append(rec)
        expect = rec.number + 1
        last_mac = rec.mac
    return good, problems


# --- journals ------------------------------------------------------------------------------------

def journal(n, terminal=TERMINAL, first=1, prev=bytes(8), versions=(1,), field_terminal=None, seed=0):
    """`n` chained records as a reader writes them (the key version changing every 5 records when
    several are given)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        number = first + i
        kv = versions[(i // 5) % len(versions)]
        uid = rng.choice([bytes.fromhex("04A0B0C0"), bytes.fromhex("04112233445566"), b""])
        raw = bytearray(codec.encode_journal_record(
            number, codec.TXN_DEBIT, rng.choice([codec.JR_PENDING, codec.JR_COMMITTED, codec.JR_ROLLED_BACK]), kv,
            len(uid), uid + bytes(codec.UID_FIELD_SIZE - len(uid)), rng.randrange(1 << 32), rng.randrange(1 << 20),
            rng.randrange(1 << 32), field_terminal or terminal, rng.randrange(1 << 24), rng.randrange(1 << 32),
            prev, bytes(8)))
        mac = kdf.record_mac(SEALING[kv], codec.REC_JOURNAL, terminal.to_bytes(4, "big"), kv, bytes(raw[:BODY]))
        raw[BODY:] = mac
        out.append(bytes(raw))
        prev = mac
    return out


def same(raws, *args, **kw):
    """Both verifiers on the same input; returns the new one's result after checking they agree."""
    new_good, new_problems = jv.verify_sequence(list(raws), *args, **kw)
    old_good, old_problems = old_verify_sequence(list(raws), *args, **kw)
    assert [r._asdict() for r in new_good] == [r._asdict() for r in old_good]
    assert all(type(r) is jv.Record for r in new_good)
    assert [dataclasses.astuple(p) for p in new_problems] == [dataclasses.astuple(p) for p in old_problems]
    return new_good, new_problems


def flip(raw, pos, bit=1):
    b = bytearray(raw)
    b[pos] ^= bit
    return bytes(b)


# --- written-out outcomes --------------------------------------------------------------------------

def test_a_valid_journal_verifies_whole():
    raws = journal(12, versions=(1, 2))
    good, problems = same(raws, TERMINAL, KEYS)
    assert problems == [] and [r.number for r in good] == list(range(1, 13))
    assert [r.raw for r in good] == raws and {r.key_version for r in good} == {1, 2}
    assert good[3] == jv.decode(raws[3]) == old_decode(raws[3])


def test_each_problem_by_hand():
    raws = journal(6)
    good, problems = same([raws[0], flip(raws[1], 10)] + raws[2:], TERMINAL, KEYS)
    assert [r.number for r in good] == [1] and [(p.kind, p.number) for p in problems] == [("mac", 2)]
    good, problems = same([raws[0], raws[2], raws[1]], TERMINAL, KEYS)  # reordered: a gap, then the chain breaks
    assert [r.number for r in good] == [1, 3] and [(p.kind, p.number) for p in problems] == [("gap", 2), ("number", 2)]
    good, problems = same(raws[:3] + [raws[3][:-1]] + raws[4:], TERMINAL, KEYS)  # a truncated record
    assert [r.number for r in good] == [1, 2, 3]
    assert [(p.kind, p.number, p.detail) for p in problems] == [
        ("mac", 4, "undecodable record: a journal record is 54 bytes, got 53")]
    good, problems = same(raws[3:], TERMINAL, KEYS, prev_number=3, prev_mac=bytes(8))  # wrong link
    assert good == [] and [(p.kind, p.number) for p in problems] == [("chain", 4)]
    good, problems = same(raws[3:], TERMINAL, KEYS, prev_number=3)  # link unknown (compacted away)
    assert [r.number for r in good] == [4, 5, 6] and problems == []
    good, problems = same(raws, TERMINAL, {2: KEYS[2]})
    assert good == [] and [(p.kind, p.detail) for p in problems] == [("key", "journal key version 1 is unknown")]
    good, problems = same(raws, OTHER, KEYS)  # the MAC binds the terminal number
    assert good == [] and [p.kind for p in problems] == ["mac"]
    forged = journal(3, field_terminal=OTHER)  # sealed by our key, but naming another terminal
    good, problems = same(forged, TERMINAL, KEYS)
    assert good == [] and [(p.kind, p.detail) for p in problems] == [("terminal", "record 1 names terminal 31000008")]
    assert same([], TERMINAL, KEYS) == ([], [])


# --- against the oracle ----------------------------------------------------------------------------

@pytest.mark.parametrize("pos", range(0, 54, 3))
def test_a_bit_flipped_anywhere_is_rejected_alike(pos):
    raws = journal(8, versions=(1, 2), seed=pos)
    for victim in (0, 4, 7):
        for bit in (1, 0x80):
            same(raws[:victim] + [flip(raws[victim], pos, bit)] + raws[victim + 1:], TERMINAL, KEYS)


def _mutate(rng, raws):
    raws = list(raws)
    op = rng.randrange(9)
    i = rng.randrange(len(raws))
    if op == 0:
        raws[i] = flip(raws[i], rng.randrange(len(raws[i])), 1 << rng.randrange(8))
    elif op == 1:
        j = rng.randrange(len(raws))
        raws[i], raws[j] = raws[j], raws[i]
    elif op == 2:
        del raws[i]
    elif op == 3:
        raws.insert(i, raws[rng.randrange(len(raws))])
    elif op == 4:
        raws[i] = raws[i][:rng.randrange(len(raws[i]))]
    elif op == 5:
        raws[i] = raws[i] + bytes(rng.randrange(1, 5))
    elif op == 6:
        raws = raws[:i]
    elif op == 7:
        raws[i] = journal(1, first=rng.randrange(1, 40), seed=rng.randrange(99))[0]
    else:
        raws[i] = bytes(rng.randrange(256) for _ in range(codec.JOURNAL_RECORD_SIZE))
    return raws


def test_random_journals_with_random_damage_agree_with_the_old_verifier():
    rng = random.Random(15)
    for case in range(400):
        raws = journal(rng.randrange(1, 25), versions=rng.choice([(1,), (2,), (1, 2), (1, 3)]), seed=case)
        for _ in range(rng.randrange(4)):
            if raws:
                raws = _mutate(rng, raws)
        keys = rng.choice([KEYS, {1: KEYS[1]}, {}])
        prev_number, prev_mac = rng.choice([(0, None), (0, bytes(8)), (2, None), (0, b"\x01" * 8)])
        same(raws, TERMINAL, keys, prev_number, prev_mac)


def test_memoryviews_and_bytearrays_are_taken_as_bytes():
    raws = journal(4)
    good, problems = same([memoryview(raws[0]), bytearray(raws[1])] + raws[2:], TERMINAL, KEYS)
    assert problems == [] and all(type(r.raw) is bytes for r in good)


# --- the batch CMAC itself -------------------------------------------------------------------------

def test_cmac_batch_gives_the_tags_of_one_cmac_per_message():
    rng = random.Random(4)
    for _ in range(200):
        key = bytes(rng.randrange(256) for _ in range(16))
        prefix = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        length = rng.randrange(0, 70)
        msgs = [bytes(rng.randrange(256) for _ in range(length + rng.randrange(3))) for _ in range(rng.randrange(1, 8))]
        batch = CmacBatch(key)
        tags = batch.tags(prefix, msgs, length)
        assert [tags[i * 16:i * 16 + 16] for i in range(len(msgs))] == [aes_cmac(key, prefix + m[:length]) for m in msgs]
        macs = [aes_cmac(key, prefix + m[:length])[:8] for m in msgs]
        bad = rng.randrange(len(msgs))
        macs[bad] = flip(macs[bad], rng.randrange(8))
        assert batch.matches(prefix, msgs, length, macs) == [i != bad for i in range(len(msgs))]


def test_cmac_batch_on_the_rfc4493_vectors():
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    msg = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
    tags = CmacBatch(key).tags(msg[:7], [msg[7:16], msg[7:40], msg[7:64]], 9)  # 16 bytes each
    assert tags[:16] == bytes.fromhex("070a16b46b4d4144f79bdd9dd04a287c")
    assert CmacBatch(key).tags(b"", [b""], 0) == bytes.fromhex("bb1d6929e95937287fa37d129b756746")
    assert CmacBatch(key).tags(msg[:20], [msg[20:40]], 20) == bytes.fromhex("dfa66747de9ae63030ca32611497c827")
    assert CmacBatch(key).tags(b"", [msg], 64) == bytes.fromhex("51f0bebf7e3b9d92fc49741779363cfe")
    with pytest.raises(ValueError):
        CmacBatch(key).matches(b"", [msg, msg], 64, [b"12345678", b"123"])
