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
REPEATS = 9  # each run on fresh rigs; per debit the median (this machine is shared: noise both ways)
CPU_TAPS = 16  # taps per CPU run: the measured time is their average (noise on a shared machine)
UIDS = tuple(bytes((0xC0, 0xFF, 0xEE, 0x10 + i)) for i in range(CPU_TAPS))


def _clock_us():
    """A microsecond clock: the pyscript build's time.ticks_us ticks in milliseconds, so the
    JavaScript host's performance.now() is used where it exists (two calls per measured tap)."""
    try:
        import js

        now = js.performance.now
        return lambda: now() * 1000.0
    except (ImportError, AttributeError):
        import time

        return time.ticks_us


def _count(rec):
    return rec.pos if isinstance(rec, TapeUart) else len(rec.events)


class Windows:
    """Where each tap starts and ends: the InListPassiveTarget that finds the card, the success
    signal; the UART event index and the time at both."""

    def __init__(self, vr, rec, now, stats=None):
        """`rec`: what counts the UART calls (its `events` list, or a TapeUart's `pos`); `stats`:
        the cryptolib stand-in's counters, read at both ends of each tap (the calls made inside it)."""
        self.now = now
        # (event index at start, at end, us: less the simulated flash's own time, cryptolib calls
        # and blocks inside the tap)
        self.spans = []
        self._stats = stats if stats is not None else {"calls": 0, "blocks": 0}
        self._open = None
        self._flash_us = 0
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

            setattr(flash, name, timed)

        # Only the InListPassiveTarget that finds the card is hooked (where the tap starts): a hook
        # on every PN532 command would put the harness's own time into each tap's measurement.
        find = vr.driver.list_passive_target

        def traced_find(*args, **kw):
            if self._open is not None:
                return find(*args, **kw)  # a re-selection inside the tap
            st = self._stats
            c, b = st["calls"], st["blocks"]
            i, t = _count(rec), now()
            found = find(*args, **kw)
            if found is not None:
                self._open = (i, t, c, b)
                self._flash_us = 0
            return found

        vr.driver.list_passive_target = traced_find
        success = vr.reader.ui.success

        def traced_success(*args):
            if self._open is not None:
                i, t, c, b = self._open
                us = now() - t - self._flash_us
                st = self._stats
                self.spans.append((i, _count(rec), us, st["calls"] - c, st["blocks"] - b))
                self._open = None
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


def _run(kind, layout, size, now, taps=RUNS):
    """One run of `taps` consecutive debits (on the same card, or a new card each time) against
    the simulator, recorded; then the same debits by an identical reader against the recording.
    Per tap of the second: (firmware us, cryptolib calls, cryptolib blocks, UART calls)."""
    import cryptolib
    import gc

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
    vr, cards = rigs[1]
    uart = TapeUart(tape, vr.vclock)
    vr.driver._t = HSU(uart)
    # cryptolib calls are counted inside the tap only (the request's link MAC before it and the
    # answer's and the journal's MACs after it are not the tap's)
    win = Windows(vr, uart, now, cryptolib.stats)
    for i in range(taps):
        gc.collect()  # between taps, as the reader's idle loop leaves the heap
        debit_result(serve(vr, debit_request(200 + i, 100)))
    # the tape's own cost: its calls, at what one costs with no firmware around it (_tape_cost)
    out = []
    per_call = _tape_cost(tape, now)
    for start, end, total, calls, blocks in win.spans:
        out.append((total - (end - start) * per_call, calls, blocks, end - start))
    return out


_TAPE_COST = []


def _tape_cost(tape, now):
    """Microseconds one TapeUart call costs (the least of REPEATS loops over a whole tape)."""
    if not _TAPE_COST:
        import gc

        buf = bytearray(300)
        best = None
        for _ in range(REPEATS):
            t = TapeUart(tape)
            gc.collect()
            t0 = now()
            for kind_, data, _ in tape:
                if kind_ == 0:
                    t.write(data)
                elif kind_ == 1:
                    t.readinto(buf)
                else:
                    t.any()
            per = (now() - t0) / len(tape)
            best = per if best is None or per < best else best
        _TAPE_COST.append(best)
    return _TAPE_COST[0]


def standin_cost(now):
    """The cryptolib stand-in's own time per call and per 16-byte block in this interpreter, with
    its results remembered (as in the measured runs, after the first): taken out of the measured
    firmware time, since on the board the port's C cryptolib does that work."""
    import cryptolib

    key = bytes(range(16))
    for buf in (bytearray(16), bytearray(48)):
        cryptolib.aes(key, 2, bytes(16)).encrypt(buf, bytearray(len(buf)))  # remembered now
    one, three = bytearray(16), bytearray(48)
    out = bytearray(48)
    best = [None, None]
    for _ in range(REPEATS):
        for j, buf in ((0, one), (1, three)):
            t = now()
            for _ in range(100):
                cryptolib.aes(key, 2, bytes(16)).encrypt(buf, memoryview(out)[:len(buf)])
            per = (now() - t) / 100
            best[j] = per if best[j] is None or per < best[j] else best[j]
    per_block = (best[1] - best[0]) / 2
    return best[0] - per_block, per_block


def c_call_cost(now):
    """What a cryptolib call costs in C, by proxy: hashlib.sha256 over 48 bytes (one object, one
    update, one digest: a C call of comparable work) timed in this interpreter."""
    import hashlib

    buf = bytes(48)
    best = None
    for _ in range(REPEATS):
        t = now()
        for _ in range(200):
            hashlib.sha256(buf).digest()
        per = (now() - t) / 200
        best = per if best is None or per < best else best
    return best


def _pystone_us(now, passes=300):
    """Microseconds per pystone pass, measured now (next to each run: load on this shared machine
    drifts, so each tap is compared with the interpreter's speed of the same moment)."""
    from icpurse.hil import pystone

    t = now()
    pystone.proc0(passes)
    return (now() - t) / passes


def cpu_figures():
    """Per tap of every run: its firmware work in pystone passes (firmware us / pystone us per pass,
    both measured in this interpreter at the same time; the median of REPEATS), which an ESP32
    figure in pystones per second turns into time (hil/bench.py)."""
    import cryptolib

    cryptolib.memo = {}
    now = _clock_us()
    for _ in range(3):
        _pystone_us(now, 2000)  # warm up the interpreter's JIT
    call_us, block_us = standin_cost(now)
    c_us = c_call_cost(now)
    ps = min(_pystone_us(now, 2000) for _ in range(REPEATS))
    out = {"pystone_us_per_pass": ps, "standin_us_per_call": call_us, "standin_us_per_block": block_us,
           "c_call_passes": c_us / ps, "c_call_us": c_us, "runs": {}}
    for layout, size in ((2, "1k"), (2, "4k"), (1, "1k")):
        for kind in ("same", "new"):
            _run(kind, layout, size, now)  # once to fill the stand-in's memory
            samples, speeds = [], []
            for _ in range(REPEATS):
                speeds.append(_pystone_us(now))
                res = _run(kind, layout, size, now, CPU_TAPS)
                speeds.append(_pystone_us(now))
                # a "same" run's first tap is a new card's: averaged apart
                groups = (("first", res[:1]), ("rest", res[1:])) if kind == "same" else (("all", res),)
                sample = {}
                for name, rows in groups:
                    fw = sum(r[0] - (r[1] * call_us + r[2] * block_us) for r in rows) / len(rows)
                    sample[name] = (fw, rows[0][1], rows[0][2], rows[0][3])
                samples.append(sample)
            # This machine is shared: preemption only ever adds time, to a tap or to a pystone run.
            # The least time of each over the repeats stands for the unloaded machine, and their
            # ratio is a tap's work in pystone passes. (The ratio of medians is kept beside it: on a
            # busy machine the two differ, and the spread says how much to trust either.)
            speeds.sort()
            ps = speeds[0]
            figures = {}
            for name in samples[0]:
                rows = sorted(s_[name] for s_ in samples)
                fw, calls, blocks, uart_calls = rows[0]
                figures[name] = {"fw_passes": fw / ps, "fw_us": fw, "pystone_us": ps, "cryptolib_calls": calls,
                                 "cryptolib_blocks": blocks, "uart_calls": uart_calls,
                                 "median_passes": rows[len(rows) // 2][0] / speeds[len(speeds) // 2],
                                 "spread_us": [rows[0][0], rows[-1][0]]}
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
