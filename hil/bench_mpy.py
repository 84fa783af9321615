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
from icpurse.firmware.pn532_hsu import HSU
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


def issued_card(uid=UID, layout=2, size="1k"):
    """A card as the issuer leaves it: personalised, then topped up to BALANCE."""
    issuer = KeyRing([KeySet(1, SECTOR_A, PURSE_MAC, sector_b=SECTOR_B, load_mac=LOAD_MAC)])
    fields = factory.identity_fields(1, layout=layout)
    card = factory.issued_card(uid, issuer.for_card(uid, 1), fields, NOW - cardtime.DAY, size)
    # Balance as a top-up leaves it: the shared purse code with the issuer's key B.
    access, keys, v = purse.open_card(CardTag(card), issuer, purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, keys, v))
    plan = purse.plan_credit(view, BALANCE, purse.Policy(), cardtime.day_of_seconds(NOW), codec.TXN_LOAD)
    purse.commit(access, view, plan, NOW)
    return card


def blacklist_entries(n):
    """`n` sorted 6-byte BCD card numbers (none of them the bench cards')."""
    out = []
    for i in range(n):
        digits = "5039%08d" % (i * 7 + 3)
        out.append(bytes(int(digits[j:j + 2], 16) for j in range(0, 12, 2)))
    return out


def make_reader(root, baud=None, layout=2, size="1k", blacklist=0, card=True):
    """A provisioned, signed-in VirtualReader (HSU switched to `baud` if given) with an issued
    card in the field (`card` False: none yet). `blacklist`: that many entries besides one."""
    vr = VirtualReader(root, baud=baud)
    rig.provision(vr, TERMINAL, JOURNAL_MASTER, SECTOR_A, PURSE_MAC)
    rig.sign_in(vr, TERMINAL, JOURNAL_MASTER, NOW, blacklist=(1, [BLACKLISTED] + blacklist_entries(blacklist)),
                grace=30)
    if card:
        present(vr, issued_card(layout=layout, size=size))
    return vr


def present(vr, card, name="card"):
    """Put `card` in the reader's field (the one card there)."""
    if name not in vr.deck.names():
        vr.deck.add(name, card)
    card.enter_field()
    vr.deck.present(name)


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


# --- the simulator's own share (heap and time): replay the firmware's UART calls -----------------
class UartRecorder:
    """Records every call the firmware's PN532 driver makes on its UART (the HAL adapter onto the
    simulated chip), and the cards the run puts in the field: a script an identical rig can be
    driven by with no firmware at all (`replay`)."""

    def __init__(self, vr):
        self.events = []
        uart = vr.uart
        write, readinto, any_ = uart.write, uart.readinto, uart.any
        events = self.events

        def rec_write(buf):
            events.append((0, bytes(buf)))
            return write(buf)

        def rec_readinto(buf, wait_ms=0):
            events.append((1, (len(buf), wait_ms)))
            return readinto(buf, wait_ms)

        def rec_any():
            events.append((2, 0))
            return any_()

        uart.write, uart.readinto, uart.any = rec_write, rec_readinto, rec_any
        vr.driver._t = HSU(uart)  # the transport takes the UART's methods when it is made

    def present(self, vr, card, name):
        self.events.append((3, (card, name)))
        present(vr, card, name)


def replay(vr, events, start=0, end=None):
    """Drive `vr`'s chip through its UART exactly as the recorded firmware did, with no firmware:
    the simulator's own work (SimUart's copies and waits included)."""
    uart = vr.uart
    bufs = {}
    for kind, arg in events[start:end]:
        if kind == 0:
            uart.write(arg)
        elif kind == 1:
            n, wait = arg
            buf = bufs.get(n)
            if buf is None:
                buf = bufs[n] = bytearray(n)
            uart.readinto(buf, wait)
        elif kind == 2:
            uart.any()
        else:
            card, name = arg
            present(vr, card, name)


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


BLACKLIST_ENTRIES = 10000  # on the reader while the heap is measured (issue 11)


def heap(warm):
    """Bytes allocated by one DEBIT (firmware + simulator), by the simulator alone, and the
    difference, on a reader holding a 10,000-entry blacklist. `warm`: one debit already done
    since boot (the steady state)."""
    rigs = [make_reader(_root(), blacklist=BLACKLIST_ENTRIES) for _ in range(3)]  # identical: record, measure, replay
    seq = 200
    if warm:
        for vr in rigs:
            debit_result(serve(vr, debit_request(seq)))
        seq += 1
    frame = debit_request(seq)
    rec = UartRecorder(rigs[0])
    expected = debit_result(serve(rigs[0], frame))
    answer, total = _alloc(serve, rigs[1], frame)
    assert debit_result(answer) == expected
    _, sim = _alloc(replay, rigs[2], rec.events)
    # The replay did the same simulated work: same commands, bytes and modelled time.
    assert rigs[2].vclock.counters == rigs[0].vclock.counters, (rigs[2].vclock.counters, rigs[0].vclock.counters)
    assert rigs[2].vclock.now_us == rigs[0].vclock.now_us
    return {"total": total, "simulator": sim, "firmware": total - sim}


def test_debit_heap():
    if sys.implementation.name != "micropython":
        return  # the figure means something only on MicroPython
    import json

    out = {"cold": heap(False), "warm": heap(True), "blacklist_entries": BLACKLIST_ENTRIES}
    out["worst"] = max(out["cold"]["firmware"], out["warm"]["firmware"])
    print("BENCH-HEAP " + json.dumps(out))


# --- firmware CPU of a tap (MicroPython) ----------------------------------------------------------
RUNS = 4  # consecutive debits per run
PAIRS = 9  # measured (pystone, taps) pairs per kind of run, after the warm-up; the worst pair counts
CPU_TAPS = 16  # taps per pair, each right after its own pystone chunk
PYSTONE_CHUNK = 40  # pystone passes before each tap (about a tap's work: ~20-30 passes)
CALIBRATIONS = 9  # repeats of each calibration (stand-in, tape, C call), each paired with pystone
UIDS = tuple(bytes((0xC0, 0xFF, 0xEE, 0x10 + i)) for i in range(CPU_TAPS))


def _clock_us():
    """(clock, name): the clock every CPU figure is taken with. Under node, the CPU time of the
    interpreter's process (`process.cpuUsage()`, user + system, microseconds): time the operating
    system gives other processes on this shared machine is not in it, while both halves of a
    pair (pystone and tap) are timed alike. Else the JavaScript host's performance.now() (wall;
    the pyscript build's time.ticks_us ticks in milliseconds), else time.ticks_us."""
    try:
        import js

        cpu = js.eval("(() => { const c = process.cpuUsage; return () => { const u = c(); return u.user + u.system; }; })()")
        cpu()
        return cpu, "process CPU time (node process.cpuUsage)"
    except Exception:  # noqa: BLE001 (no node, no js module: the next clock)
        pass
    try:
        import js

        now = js.performance.now
        return (lambda: now() * 1000.0), "wall (performance.now)"
    except (ImportError, AttributeError):
        import time

        return time.ticks_us, "wall (time.ticks_us)"


def _count(rec):
    return rec.pos if isinstance(rec, TapeUart) else len(rec.events)


class Windows:
    """Where each tap starts and ends: the InListPassiveTarget that finds the card, the success
    signal; the UART event index and the time at both."""

    def __init__(self, vr, rec, now, stats=None, inside=None):
        """`rec`: what counts the UART calls (its `events` list, or a TapeUart's `pos`); `stats`:
        the cryptolib stand-in's counters, read at both ends of each tap (the calls made inside it);
        `inside(flag)`: called right before a tap's window opens (True) and right after it closes
        or does not open (False), outside the timed span."""
        self.now = now
        self._inside = inside or (lambda flag: None)
        # (event index at start, at end, us: less the simulated flash's own time, cryptolib calls
        # and blocks inside the tap, flash operations timed inside it)
        self.spans = []
        self._stats = stats if stats is not None else {"calls": 0, "blocks": 0}
        self._open = None
        self._flash_us = 0
        self._flash_ops = 0
        flash = vr.flash
        for name in ("write", "erase"):
            fn = getattr(flash, name)

            def timed(*args, _fn=fn):
                if self._open is None:
                    return _fn(*args)
                t = now()
                try:
                    return _fn(*args)
                finally:
                    self._flash_us += now() - t
                    self._flash_ops += 1

            setattr(flash, name, timed)

        # Only the InListPassiveTarget that finds the card is hooked (where the tap starts): a hook
        # on every PN532 command would put the harness's own time into each tap's measurement.
        find = vr.driver.list_passive_target

        def traced_find(*args, **kw):
            if self._open is not None:
                return find(*args, **kw)  # a re-selection inside the tap
            st = self._stats
            c, b = st["calls"], st["blocks"]
            self._inside(True)
            i, t = _count(rec), now()
            found = find(*args, **kw)
            if found is not None:
                self._open = (i, t, c, b)
                self._flash_us = 0
                self._flash_ops = 0
            else:
                self._inside(False)
            return found

        vr.driver.list_passive_target = traced_find
        success = vr.reader.ui.success

        def traced_success(*args):
            if self._open is not None:
                i, t, c, b = self._open
                us = now() - t - self._flash_us
                st = self._stats
                self.spans.append((i, _count(rec), us, st["calls"] - c, st["blocks"] - b, self._flash_ops))
                self._open = None
                self._inside(False)
            return success(*args)

        vr.reader.ui.success = traced_success


class TapeUart:
    """The UART as a recording plays it back: what the firmware wrote is compared with the tape,
    what it reads comes from the tape at once. The firmware then runs exactly as it did against
    the simulator, with no simulator working beside it: its own time is what a tap measures."""

    blocking = True

    def __init__(self, tape, vclock=None):
        self.tape = tape
        self.pos = 0
        self.baud = 921600
        self.vclock = vclock  # set to the time each call returned at in the recording

    def _next(self):
        kind, data, t = self.tape[self.pos]
        self.pos += 1
        if self.vclock is not None:
            self.vclock.now_us = t
        return kind, data

    def write(self, buf):
        kind, data = self._next()
        if kind != 0 or data != bytes(buf):
            raise AssertionError("the firmware left its recorded path at UART call %d" % self.pos)
        return len(buf)

    def readinto(self, buf, wait_ms=0):
        kind, data = self._next()
        if kind != 1:
            raise AssertionError("the firmware left its recorded path at UART call %d" % self.pos)
        if data is None:
            return None
        n = len(data)
        buf[:n] = data
        return n

    def any(self):
        kind, n = self._next()
        return n

    def set_baud(self, baud):
        self.baud = baud


def _record_tape(vr):
    """Record what each UART call of the firmware got from the simulator."""
    tape = []
    uart = vr.uart
    write, readinto, any_ = uart.write, uart.readinto, uart.any

    clock = vr.vclock

    def rec_write(buf):
        n = write(buf)
        tape.append((0, bytes(buf), clock.now_us))
        return n

    def rec_readinto(buf, wait_ms=0):
        n = readinto(buf, wait_ms)
        tape.append((1, bytes(buf[:n]) if n else None, clock.now_us))
        return n

    def rec_any():
        n = any_()
        tape.append((2, n, clock.now_us))
        return n

    uart.write, uart.readinto, uart.any = rec_write, rec_readinto, rec_any
    vr.driver._t = HSU(uart)  # the transport takes the UART's methods when it is made
    return tape


class Pystone:
    """pystone (hil/pystone.py) timed by the bench's clock: `passes(n)` is the CPU time of n
    passes in microseconds, taken as the benchmark takes it (its main loop less its empty loop),
    so the clock's own cost cancels out."""

    def __init__(self, now):
        from icpurse.hil import pystone

        self._p = pystone
        pystone.ticks_us = now
        pystone.ticks_diff = lambda a, b: a - b
        pystone.run(10)  # its globals as `run` sets them

    def passes(self, n):
        return self._p.proc0(n)

    def us_per_pass(self, n=PYSTONE_CHUNK):
        return self.passes(n) / n


def _record(kind, layout, size, taps):
    """`taps` consecutive debits (same card, or a new card each time) against the simulator,
    recorded; and an identical reader with the same cards, not yet used: (tape, reader)."""
    rigs = []
    for _ in range(2):
        vr = make_reader(_root(), layout=layout, size=size, card=False)
        cards = [issued_card(UIDS[0 if kind == "same" else i], layout, size) for i in range(taps)]
        rigs.append((vr, cards))
    live, cards = rigs[0]
    tape = _record_tape(live)
    for i in range(taps):
        present(live, cards[i], "c%d" % (i if kind == "new" else 0))
        debit_result(serve(live, debit_request(200 + i, 100)))
    return tape, rigs[1][0]


# The cryptolib stand-in's memories (`cpu_figures`): one for the calls inside taps, filled by the
# warm-up and then only read (the same cards, the same inputs), one for every other call (link
# and journal MACs, the recordings), which grows with new inputs and is emptied, between taps,
# when it holds _MEMO_KEPT results. One memory growing without bound filled the interpreter's
# heap until an allocation inside a timed tap set off a full garbage collection there (one pair
# in nine of a kind came out 50 % slower; another, negative, the collection having fallen into
# the simulated flash's write, whose time is taken out).
_MEMOS = [None, None]
_MEMO_KEPT = 2000


def _memo_inside(flag):
    import cryptolib

    if flag:
        cryptolib.memo = _MEMOS[0]
    else:
        if len(_MEMOS[1]) > _MEMO_KEPT:
            _MEMOS[1].clear()
        cryptolib.memo = _MEMOS[1]


def _run(kind, layout, size, now, taps=RUNS, ps=None):
    """One pair: `taps` consecutive debits recorded against the simulator (not timed), then the
    same debits by an identical reader against the recording (the firmware alone), each tap
    between two pystone chunks of PYSTONE_CHUNK passes (`ps`, a Pystone; none when None), with
    gc.collect() before each chunk and each tap. Returns (per tap: (us from its start to its
    signal less the simulated flash's own time, cryptolib calls, cryptolib blocks, UART calls,
    flash operations, pystone us per pass of the chunks before and after it), the recording)."""
    import cryptolib
    import gc

    tape, vr = _record(kind, layout, size, taps)
    uart = TapeUart(tape, vr.vclock)
    vr.driver._t = HSU(uart)
    # cryptolib calls are counted inside the tap only (the request's link MAC before it and the
    # answer's and the journal's MACs after it are not the tap's)
    win = Windows(vr, uart, now, cryptolib.stats, _memo_inside)
    chunks = []

    def chunk():
        if ps is not None:
            gc.collect()
            chunks.append(ps.passes(PYSTONE_CHUNK) / PYSTONE_CHUNK)

    for i in range(taps):
        chunk()
        gc.collect()  # between taps, as the reader's idle loop leaves the heap
        debit_result(serve(vr, debit_request(200 + i, 100)))
    chunk()
    out = []
    for i, (start, end, total, calls, blocks, flash_ops) in enumerate(win.spans):
        # the interpreter's speed at this tap: the pystone chunks right before and right after it
        speed = (chunks[i] + chunks[i + 1]) / 2 if chunks else None
        out.append((total, calls, blocks, end - start, flash_ops, speed))
    return out, tape


def _paired(ps, fn, worst):
    """fn()'s time in pystone passes, each of CALIBRATIONS repeats divided by a pystone chunk
    timed right before it; the greatest (`worst`: a cost charged) or the least (a cost taken out,
    so that less is taken out) over the repeats."""
    import gc

    out = []
    for _ in range(CALIBRATIONS):
        gc.collect()
        per = ps.us_per_pass()
        gc.collect()
        out.append(fn() / per)
    return max(out) if worst else min(out)


def tape_cost(ps, tape, now):
    """pystone passes one TapeUart call costs, with no firmware around it (a loop over a whole
    recording): taken out of each tap (its UART calls are the tape's, not the firmware's)."""
    buf = bytearray(300)

    def loop():
        t = TapeUart(tape)
        t0 = now()
        for kind_, data, _ in tape:
            if kind_ == 0:
                t.write(data)
            elif kind_ == 1:
                t.readinto(buf)
            else:
                t.any()
        return (now() - t0) / len(tape)

    return _paired(ps, loop, False)


def standin_cost(ps, now):
    """The cryptolib stand-in's own cost per call and per 16-byte block in this interpreter, in
    pystone passes, with its results remembered (as in the measured runs, after the first): taken
    out of the measured firmware time, since on the board the port's C cryptolib does that work."""
    import cryptolib

    key = bytes(range(16))
    for buf in (bytearray(16), bytearray(48)):
        cryptolib.aes(key, 2, bytes(16)).encrypt(buf, bytearray(len(buf)))  # remembered now
    out = bytearray(48)

    def calls(buf):
        def loop():
            t = now()
            for _ in range(100):
                cryptolib.aes(key, 2, bytes(16)).encrypt(buf, memoryview(out)[:len(buf)])
            return (now() - t) / 100
        return loop

    one = _paired(ps, calls(bytearray(16)), False)
    three = _paired(ps, calls(bytearray(48)), False)
    per_block = (three - one) / 2
    return one - per_block, per_block


def clock_cost(ps, now):
    """pystone passes one reading of the bench's clock costs (the least of the repeats: a cost
    taken out). A tap's window holds about one (the halves of the two at its ends) and one per
    flash operation timed inside it (Windows)."""

    def loop():
        t = now()
        for _ in range(100):
            now()
        return (now() - t) / 100

    return _paired(ps, loop, False)


def c_call_cost(ps, now):
    """What a cryptolib call costs in C, in pystone passes, by proxy: hashlib.sha256 over 48
    bytes (one object, one update, one digest: a C call of comparable work) timed in this
    interpreter; the greatest of the repeats (a cost charged)."""
    import hashlib

    buf = bytes(48)

    def loop():
        t = now()
        for _ in range(200):
            hashlib.sha256(buf).digest()
        return (now() - t) / 200

    return _paired(ps, loop, True)


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def cpu_figures():
    """Per tap of every kind of run: its firmware work in pystone passes, which an ESP32 figure in
    pystones per second turns into time (hil/bench.py).

    Measured in this interpreter with one clock (`_clock_us`: the process's CPU time under node):
    - warm-up, discarded: 3 x 2,000 pystone passes, then per kind of run one pair as below (it
      also fills the cryptolib stand-in's memory: every measured pair meets remembered results);
    - PAIRS pairs per kind of run (v2 1K, v2 4K, v1 1K; same card, new card): a pair records
      CPU_TAPS debits against the simulator (untimed), then replays them with the firmware alone,
      interleaved with pystone chunks of PYSTONE_CHUNK passes: pystone, tap, pystone, tap, ...,
      pystone. Each tap's time is divided by the pystone time per pass of the chunks right before
      and after it, less what is not the firmware's, each in passes (the tape's UART calls, the
      cryptolib stand-in, the bench's clock readings inside the window); the pair's ratio is the
      mean over its taps (a "same" run's first tap, a new card's, apart from the rest);
    - the figure is the WORST pair's ratio (`fw_passes`); the median pair's is beside it
      (`median_passes`) for information, and every pair's in `pairs`.
    A "same" run's first tap is a new card's: its ratio is taken apart from the rest."""
    import cryptolib

    _MEMOS[0], _MEMOS[1] = {}, {}
    _memo_inside(False)
    now, clock = _clock_us()
    ps = Pystone(now)
    for _ in range(3):
        ps.passes(2000)  # warm-up (discarded): the interpreter's JIT tiers
    pass_us = _median([ps.us_per_pass(2000) for _ in range(3)])
    call_p, block_p = standin_cost(ps, now)
    c_p = c_call_cost(ps, now)
    clock_p = clock_cost(ps, now)
    out = {"clock": clock, "pystone_us_per_pass": pass_us, "standin_passes_per_call": call_p,
           "standin_passes_per_block": block_p, "c_call_passes": c_p, "clock_passes_per_reading": clock_p,
           "pairs": PAIRS, "taps_per_pair": CPU_TAPS,
           "pystone_chunk": PYSTONE_CHUNK, "warm_up": "3 x 2000 pystone passes; one pair per kind of run",
           "runs": {}}
    tape_p = None
    for layout, size in ((2, "1k"), (2, "4k"), (1, "1k")):
        for kind in ("same", "new"):
            _run(kind, layout, size, now, CPU_TAPS, ps)  # warm-up (discarded); fills the stand-in's memory
            samples = []
            for _ in range(PAIRS):
                res, tape = _run(kind, layout, size, now, CPU_TAPS, ps)
                if tape_p is None:
                    tape_p = out["tape_passes_per_call"] = tape_cost(ps, tape, now)
                groups = (("first", res[:1]), ("rest", res[1:])) if kind == "same" else (("all", res),)
                sample = {}
                for name, rows in groups:
                    us = sum(r[0] for r in rows) / len(rows)
                    speed = sum(r[5] for r in rows) / len(rows)
                    # each tap over the interpreter's speed at it, less what is not the firmware's
                    passes = sum(r[0] / r[5] - r[1] * call_p - r[2] * block_p - r[3] * tape_p - (1 + r[4]) * clock_p
                                 for r in rows) / len(rows)
                    sample[name] = (passes, us, speed, rows[0][1], rows[0][2], rows[0][3])
                samples.append(sample)
            figures = {}
            for name in samples[0]:
                rows = sorted(s_[name] for s_ in samples)
                passes, us, ps_us, calls, blocks, uart_calls = rows[-1]  # the worst pair
                figures[name] = {"fw_passes": passes, "fw_us": us, "pystone_us": ps_us, "cryptolib_calls": calls,
                                 "cryptolib_blocks": blocks, "uart_calls": uart_calls,
                                 "median_passes": rows[len(rows) // 2][0],
                                 "pairs": [round(r[0], 2) for r in rows]}
            # per debit of a RUNS run, as hil/bench.py lists them
            if kind == "same":
                runs = [figures["first"]] + [figures["rest"]] * (RUNS - 1)
            else:
                runs = [figures["all"]] * RUNS
            out["runs"]["v%d-%s-%s" % (layout, size, kind)] = runs
    return out


def test_tap_cpu():
    if sys.implementation.name != "micropython":
        return
    import json

    print("BENCH-CPU " + json.dumps(cpu_figures()))
