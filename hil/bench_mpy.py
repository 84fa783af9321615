"""One debit on a provisioned virtual reader, under CPython and the real MicroPython interpreter.

`hil/bench.py` uses `make_reader`/`debit_request`/`serve` on CPython for the modelled tap time, and
runs this file with tests/micropython/run.mjs (it is test-shaped: `test_debit_heap` prints one
`BENCH-HEAP {...}` line) for the heap a debit allocates on MicroPython.

The heap figure is what `Reader.handle` allocates for one DEBIT request with the GC paused, so it
is an upper bound of the peak. The simulated PN532 and card run in the same interpreter; their
share is measured by replaying the recorded host-link bytes into an identical rig with no reader
on top, and subtracted.
"""
import os
import sys

from icpurse.firmware import link, purse
from icpurse.host import codec
from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.hil.sim import factory, rig
from icpurse.hil.sim.rig import VirtualReader
from icpurse.hil.sim.tag import CardTag
from icpurse.protocol import cardtime

# Bench keys and card (fixed, not secret): the same figures on every run.
SECTOR_A = bytes(range(16))
SECTOR_B = bytes(range(16, 32))
PURSE_MAC = bytes(range(32, 48))
LOAD_MAC = bytes(range(48, 64))
JOURNAL_MASTER = bytes(range(64, 80))
TERMINAL = 20260001
UID = b"\xc0\xff\xee\x01"
NOW = 9500 * cardtime.DAY  # card seconds: 2026-01-04 00:00 UTC (card day 9500)
BALANCE = 50000  # fen
AMOUNT = 1250  # fen, one sale
BLACKLISTED = b"\x50\x31\x00\x00\x09\x99"


def _issued_card():
    issuer = KeyRing([KeySet(1, SECTOR_A, PURSE_MAC, sector_b=SECTOR_B, load_mac=LOAD_MAC)])
    fields = factory.identity_fields(1)
    card = factory.issued_card(UID, issuer.for_card(UID, 1), fields, NOW - cardtime.DAY)
    # Balance as a top-up leaves it: the shared purse code with the issuer's key B.
    access, keys, v = purse.open_card(CardTag(card), issuer, purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, keys, v))
    plan = purse.plan_credit(view, BALANCE, purse.Policy(), cardtime.day_of_seconds(NOW), codec.TXN_LOAD)
    purse.commit(access, view, plan, NOW)
    return card


def make_reader(root, baud=None):
    """A provisioned, signed-in VirtualReader (HSU switched to `baud` if given) with an issued
    card in the field."""
    vr = VirtualReader(root, baud=baud)
    rig.provision(vr, TERMINAL, JOURNAL_MASTER, SECTOR_A, PURSE_MAC)
    rig.sign_in(vr, TERMINAL, JOURNAL_MASTER, NOW, blacklist=(1, [BLACKLISTED]), grace=30)
    card = _issued_card()
    vr.deck.add("card", card)
    card.enter_field()
    vr.deck.present("card")
    return vr


def debit_request(seq=200, amount=AMOUNT):
    """The DEBIT request frame as the host sends it over USB."""
    return link.encode_frame(codec.LINK_KIND_REQUEST, seq, codec.LINK_CMD_DEBIT,
                             codec.encode_debit_request(amount, 1, 300))


def serve(vr, frame):
    """What the firmware does with one request: parse the bytes, handle, encode the answer."""
    frames = link.FrameReader()
    frames.feed(frame)
    return vr.reader.handle(frames.next())


def debit_result(answer):
    """(card number, amount, balance after, ...) of a DEBIT answer; ValueError for an ERROR frame."""
    frames = link.FrameReader()
    frames.feed(answer)
    rsp = frames.next()
    if rsp.kind != codec.LINK_KIND_RESPONSE:
        raise ValueError("debit refused: %r" % (link.decode_error(rsp.payload),))
    return codec.decode_debit_result(rsp.payload)


# --- the simulator's own share of the heap -------------------------------------------------------
def record_link(vr):
    """Record every call the firmware's UART makes into the chip (the replay script)."""
    chip = vr.chip
    events = []
    write, read, pending = chip.write, chip.read, chip.pending

    def rec_write(data):
        events.append((0, bytearray(data)))
        write(data)

    def rec_read(n=-1):
        events.append((1, n))
        return read(n)

    def rec_pending():
        events.append((2, 0))
        return pending()

    chip.write, chip.read, chip.pending = rec_write, rec_read, rec_pending
    return events


def replay(vr, events):
    """Drive the chip exactly as the recorded firmware did, with no firmware: the simulator's work,
    including SimUart's copy of each write (what the HAL adapter allocates)."""
    chip = vr.chip
    for kind, arg in events:
        if kind == 0:
            chip.write(bytes(arg))
        elif kind == 1:
            chip.read(arg)
        else:
            chip.pending()


# --- MicroPython heap ---------------------------------------------------------------------------
_roots = [0]


def _root():
    try:
        os.mkdir("/tmp")
    except OSError:
        pass
    while True:
        _roots[0] += 1
        path = "/tmp/bench-%d" % _roots[0]
        try:
            os.mkdir(path)
            return path
        except OSError:
            continue


def _alloc(fn, *args):
    import mpytest  # tests/firmware/mpytest.py, on the path under run.mjs

    return mpytest.alloc_bytes(fn, *args)


def heap(warm):
    """Bytes allocated by one DEBIT (firmware + simulator), by the simulator alone, and the
    difference. `warm`: one debit already done since boot (the steady state)."""
    rigs = [make_reader(_root()) for _ in range(3)]  # identical: record, measure, replay
    seq = 200
    if warm:
        for vr in rigs:
            debit_result(serve(vr, debit_request(seq)))
        seq += 1
    frame = debit_request(seq)
    events = record_link(rigs[0])
    expected = debit_result(serve(rigs[0], frame))
    answer, total = _alloc(serve, rigs[1], frame)
    assert debit_result(answer) == expected
    _, sim = _alloc(replay, rigs[2], events)
    # The replay did the same simulated work: same commands, bytes and modelled time.
    assert rigs[2].vclock.counters == rigs[0].vclock.counters, (rigs[2].vclock.counters, rigs[0].vclock.counters)
    assert rigs[2].vclock.now_us == rigs[0].vclock.now_us
    return {"total": total, "simulator": sim, "firmware": total - sim}


def test_debit_heap():
    if sys.implementation.name != "micropython":
        return  # the figure means something only on MicroPython
    import json

    out = {"cold": heap(False), "warm": heap(True)}
    print("BENCH-HEAP " + json.dumps(out))
