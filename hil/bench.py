"""`make bench`: what a debit costs at the store reader, and what the back office can take.

Tap (docs/reader.md, "What a tap costs"): the real firmware on the simulated PN532 and card, timed
by the simulator's virtual clock, never wall time. A tap runs from the moment the reader starts
sending the InListPassiveTarget that finds the card to the reader's success signal (LED and beep).
Each debit of a run counts: runs of RUNS consecutive debits, on the same card and on a new card
each time, on 1K and 4K v2 cards (and a v1 card for comparison); the figures are the maximum.

Components of a tap, each from its own model:
- host-link bytes (10 bit times each, ACKs included), card operations (MIFARE Classic datasheet
  typical times), PN532 processing (0.5 ms per command, an assumption), polling (the driver
  waits in blocking UART reads: each answer is seen T_RX_WAKE after its last byte);
  together `tap.modelled_ms` / `tap.modelled_ms_4k`;
- firmware CPU: the same debits run under the real MicroPython (WebAssembly) on this machine
  (hil/bench_mpy.py `cpu_figures`), the simulator's own work taken out by replaying the
  firmware's recorded UART traffic from a tape (its per-call cost subtracted), scaled to an ESP32
  at 240 MHz by pystone (hil/pystone.py) run in the same interpreter against a published ESP32
  figure (ESP32_PYSTONES below). Both are timed on one clock, the node process's CPU time, and
  INTERLEAVED: after a discarded warm-up (3 x 2,000 pystone passes, one pair per kind of run),
  each of 9 pairs per kind of run replays 16 taps between pystone chunks of 40 passes (pystone,
  tap, pystone, tap, ..., pystone); each tap is divided by the pystone time per pass of the
  chunks around it, so a tap is in pystone passes of the same moment. The figure is the WORST
  pair (`cpu_pystone_passes`; the median pair `cpu_pystone_passes_median` and every pair
  `cpu_pystone_passes_pairs` beside it). Taken out, each in passes: the tape's calls, the
  `cryptolib` stand-in's own work, the bench clock's readings inside the window (least of 9
  calibrations: less is taken out). `cryptolib` and UART calls are charged as a C call of
  comparable work (hashlib.sha256 over 48 bytes; the greatest of 9 calibrations);
- flash: the write-ahead record of the state ring (firmware/ring.py) is one page program into
  erased NOR flash (W25Q32JV datasheet: tPP 0.4 ms typical, 3 ms maximum); erases (tSE 45 ms
  typical, 400 ms maximum) happen after the signal;
- display: an SSD1306 redraw (1,024 bytes over I2C at 400 kHz) happens after the signal.
`tap.estimated_esp32_ms` adds them all.

Heap: hil/bench_mpy.py under the real MicroPython, with a 10,000-entry blacklist on the reader.

Back office (hil/bench_office.py, wall-clock on this machine): raw AES-CMAC, journal verification and
ingest, concurrent uploads from many virtual readers (SQLite, PostgreSQL), reconciling a city day, a
second day on top of it and once more with nothing new (SQLite and PostgreSQL, worst of 2 runs; size
--city or $BENCH_CITY, default 100x500; keys office.city_day_seconds[_pg],
office.city_day_second_day_growth[_pg] (time per debit of day 2 / of day 1),
office.city_day_rerun_seconds[_pg]); the growth with the city's size, office.city_day_growth[_pg]:
time per debit reconciling a 200x500 day / a 50x500 day (day 1 of each on its own ledger, worst of 2
paired runs; whatever --city is); then
the scale figures (`scale_figures`): verification / raw CMAC, ingest on SQLite and PostgreSQL (worst of
repeated runs) and personalising a blank card on the sim reader (virtual clock).

    python -m icpurse.hil.bench [--no-heap] [--no-cpu] [--no-office] [--city READERSxSALES] [--cards N] [--json PATH]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from icpurse.host import codec
from icpurse.hil import bench_mpy

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "micropython" / "run.mjs"
MP_PACKAGE = ROOT / "tests" / "micropython" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
FAST, SLOW = 921600, 115200
RUNS = bench_mpy.RUNS
GOALS = {"modelled_ms": 35.0, "modelled_ms_4k": 35.0, "estimated_esp32_ms": 60.0, "pn532_commands": 12,
         "per_debit_bytes_blacklist_10000": 24 * 1024}
INFO_BATCH = 500  # the ingest's batch before it was aligned with the product's collection (bench_office.product_batch)
OFFICE_GOALS = {"verify_vs_cmac": 0.5, "ingest_records_per_s": 50000, "personalise_modelled_ms": 400,
                "city_day_seconds": 15, "city_day_seconds_pg": 20, "city_day_growth": 1.2}
OP_NAMES = {codec.MF_AUTH_A: "auth A", codec.MF_AUTH_B: "auth B", codec.MF_READ: "read",
            codec.MF_WRITE: "write", codec.MF_DECREMENT: "decrement", codec.MF_INCREMENT: "increment",
            codec.MF_RESTORE: "restore", codec.MF_TRANSFER: "transfer"}

# Published pystone figures of MicroPython on an ESP32 at 240 MHz (pystone_lowmem, 500 passes):
# 1,602 pystones/s with the v1.12 release and 1,014 with a v1.13 development build, both reported in
# https://github.com/micropython/micropython/issues/6565 (also 1,661 with v1.12 in issue 5673).
# The estimate uses the slower, so it errs on the long side; the faster is shown beside it.
ESP32_PYSTONES = 1014
ESP32_PYSTONES_FAST = 1602
ESP32_PYSTONE_SOURCE = "https://github.com/micropython/micropython/issues/6565"
# Winbond W25Q32JV (the ESP32-WROOM's 4 MB SPI flash family), AC characteristics: page program tPP
# 0.4 ms typical / 3 ms maximum, 4 KB sector erase tSE 45 ms typical / 400 ms maximum.
FLASH_PROGRAM_US = (400, 3000)
FLASH_ERASE_US = (45000, 400000)
# SSD1306 128x64 redraw: 1,024 bytes of frame buffer plus the address and control bytes, 9 bit
# times each (8 data + ACK) at 400 kHz, plus the six window commands.
DISPLAY_US = (1024 + 2 + 6 * 3) * 9 * 1000000 // 400000


def _diff(after, before):
    return {k: after[k] - before[k] for k in after}


class Trace:
    """What the firmware does in each debit: PN532 commands with the clock and its counters before
    and after, the success signal, flash operations, display redraws."""

    def __init__(self, vr):
        self.vr = vr
        self.calls = []  # (cmd, MIFARE op or None, t0, t1, counters0, counters1, answer)
        self.success = []  # (index of the next call, now_us, display draws)
        call = vr.driver.call
        clock = vr.vclock

        def traced_call(cmd, params=b"", data=None, *args, **kw):
            t0, c0 = clock.now_us, dict(clock.counters)
            answer = call(cmd, params, data, *args, **kw)
            self.calls.append((cmd, data[0] if data else None, t0, clock.now_us, c0, dict(clock.counters),
                               bytes(answer)))
            return answer

        vr.driver.call = traced_call
        ui = vr.reader.ui
        success = ui.success

        def traced_success(*args):
            self.success.append((len(self.calls), clock.now_us, ui.draws, len(vr.flash.log)))
            return success(*args)

        ui.success = traced_success


def _debit(vr, trace, seq, amount):
    """One DEBIT request; the tap's components from the trace."""
    clock = vr.vclock
    first_call, flash0, draws0 = len(trace.calls), len(vr.flash.log), vr.ui.draws
    t0, c0 = clock.now_us, dict(clock.counters)
    result = bench_mpy.debit_result(bench_mpy.serve(vr, bench_mpy.debit_request(seq, amount)))
    t1, c1 = clock.now_us, dict(clock.counters)
    calls = trace.calls[first_call:]
    found = next(i for i, c in enumerate(calls)
                 if c[0] == codec.CMD_IN_LIST_PASSIVE_TARGET and c[6][:1] not in (b"", b"\x00"))
    at, t_success, draws_at_success, flash_at_success = trace.success[-1]
    last = at - first_call - 1
    start, end = calls[found], calls[last]
    window = _diff(end[5], start[4])
    tap_us = t_success - start[2]
    ops = {}  # card commands inside the tap
    for c in calls[found:last + 1]:
        if c[0] == codec.CMD_IN_DATA_EXCHANGE:
            name = OP_NAMES.get(c[1], "0x%02x" % c[1])
            ops[name] = ops.get(name, 0) + 1
    in_tap = [f for f in vr.flash.log[flash0:flash_at_success] if f[3] >= start[2]]
    after = vr.flash.log[flash_at_success:]
    parts = {"link_us": window["link_us"], "card_us": window["card_us"], "pn532_us": window["overhead_us"]}
    parts["polling_us"] = tap_us - sum(parts.values())
    return {
        "balance_after": result[2],
        "tap_us": tap_us,
        "modelled": parts,
        "rx_wakes": window["rx_wakes"],
        "flash_programs_in_tap": sum(1 for f in in_tap if f[0] == "program"),
        "flash_erases_in_tap": sum(1 for f in in_tap if f[0] == "erase"),
        "flash_programs_after": sum(1 for f in after if f[0] == "program"),
        "flash_erases_after": sum(1 for f in after if f[0] == "erase"),
        "display_draws_in_tap": draws_at_success - draws0,
        "display_draws_after": vr.ui.draws - draws_at_success,
        "commands": c1["commands"] - c0["commands"],
        "commands_in_tap": window["commands"],
        "card_commands": ops,
        "after_signal_us": t1 - t_success,
        "request_us": t1 - t0,
        "host_bytes": [window["host_bytes_in"], window["host_bytes_out"]],
    }


def run(kind, layout=2, size="1k", baud=FAST, state_dir=None):
    """RUNS consecutive debits on a fresh reader: on one card ("same") or a new card each time."""
    own = state_dir is None
    state_dir = state_dir or tempfile.mkdtemp(prefix="icpurse-bench-")
    try:
        vr = bench_mpy.make_reader(str(state_dir), baud=None if baud == SLOW else baud, card=False)
        assert vr.uart.baud == baud == vr.chip.baud
        trace = Trace(vr)
        out = []
        cards = [bench_mpy.issued_card(bench_mpy.UIDS[0 if kind == "same" else i], layout, size) for i in range(RUNS)]
        for i in range(RUNS):
            bench_mpy.present(vr, cards[i], "c%d" % (i if kind == "new" else 0))
            out.append(_debit(vr, trace, 200 + i, bench_mpy.AMOUNT))
        return out
    finally:
        if own:
            shutil.rmtree(state_dir, ignore_errors=True)


def _node_run():
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.is_dir():
        return "not measured: node or the MicroPython WebAssembly build is missing (make setup)"
    return subprocess.run([node, str(RUNNER), "--root", str(ROOT), str(Path(bench_mpy.__file__))],
                          capture_output=True, text=True, timeout=1800)


def micropython_figures():
    """Run hil/bench_mpy.py under MicroPython: its BENCH-HEAP and BENCH-CPU figures, or a reason."""
    proc = _node_run()
    if isinstance(proc, str):
        return proc, proc
    out = []
    for tag in ("BENCH-HEAP", "BENCH-CPU"):
        m = re.search(r"^%s (\{.*\})$" % tag, proc.stdout, re.M)
        if proc.returncode != 0 or m is None:
            out.append("not measured: the MicroPython run failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
        else:
            out.append(json.loads(m.group(1)))
    return out[0], out[1]


def _ms(us):
    return "%.1f ms" % (us / 1000)


def _verdict(ok):
    return "met" if ok else "NOT met"


def assemble(runs, slow, mem, cpu):
    """bench.json's `tap` and `heap`: every debit's components, the maxima, the goals."""
    cpu_ok = isinstance(cpu, dict)
    esp32_pass_us = 1000000 / ESP32_PYSTONES  # one pystone pass on the ESP32 (published figure)
    esp32_pass_us_fast = 1000000 / ESP32_PYSTONES_FAST
    debits = []
    for name, rows in runs.items():
        measured = cpu["runs"].get(name) if cpu_ok else None
        for i, d in enumerate(rows):
            d = dict(d, run=name, index=i)
            flash_us = d["flash_programs_in_tap"] * FLASH_PROGRAM_US[0] + d["flash_erases_in_tap"] * FLASH_ERASE_US[0]
            display_us = d["display_draws_in_tap"] * DISPLAY_US
            d["flash_in_tap_us"] = flash_us
            d["display_in_tap_us"] = display_us
            if measured:
                m = measured[i]
                # C calls: cryptolib, and the UART driver's (each charged as a C call of comparable work)
                c_calls = m["cryptolib_calls"] + m["uart_calls"]
                d["cpu_pystone_passes"] = round(m["fw_passes"], 2)
                d["cpu_pystone_passes_median"] = round(m["median_passes"], 2)
                d["cpu_pystone_passes_pairs"] = m["pairs"]
                d["cpu_micropython_here_us"] = round(m["fw_us"])
                d["cpu_esp32_us"] = round(m["fw_passes"] * esp32_pass_us)
                d["cryptolib_calls"] = m["cryptolib_calls"]
                d["uart_calls"] = m["uart_calls"]
                d["c_calls_esp32_us"] = round(c_calls * cpu["c_call_passes"] * esp32_pass_us)
                d["estimated_esp32_us"] = (d["tap_us"] + d["cpu_esp32_us"] + d["c_calls_esp32_us"] + flash_us
                                           + display_us)
                d["estimated_esp32_us_fast_figure"] = (
                    d["tap_us"] + round((m["fw_passes"] + c_calls * cpu["c_call_passes"]) * esp32_pass_us_fast)
                    + flash_us + display_us)
            debits.append(d)
    v2_1k = [d for d in debits if d["run"].startswith("v2-1k")]
    v2_4k = [d for d in debits if d["run"].startswith("v2-4k")]
    v2 = v2_1k + v2_4k
    tap = {
        "modelled_ms": max(d["tap_us"] for d in v2_1k) / 1000,
        "modelled_ms_4k": max(d["tap_us"] for d in v2_4k) / 1000,
        "pn532_commands": max(d["commands"] for d in v2),
        "goals": GOALS,
        "debits": debits,
        "at_115200": {"modelled_ms": max(d["tap_us"] for d in slow) / 1000},
        "model": {"clock": "virtual (hil/sim/clock.py)", "pn532_us_per_command": codec.T_PN532_OVERHEAD,
                  "rx_wake_us": codec.T_RX_WAKE, "flash_program_us": FLASH_PROGRAM_US,
                  "flash_erase_us": FLASH_ERASE_US, "display_redraw_us": DISPLAY_US,
                  "esp32_pystones": ESP32_PYSTONES, "esp32_pystones_fast": ESP32_PYSTONES_FAST,
                  "esp32_pystone_source": ESP32_PYSTONE_SOURCE},
    }
    if cpu_ok:
        tap["estimated_esp32_ms"] = max(d["estimated_esp32_us"] for d in v2) / 1000
        tap["estimated_esp32_ms_fast_figure"] = max(d["estimated_esp32_us_fast_figure"] for d in v2) / 1000
        tap["model"].update(cpu_clock=cpu["clock"], cpu_pairs=cpu["pairs"], cpu_taps_per_pair=cpu["taps_per_pair"],
                            cpu_pystone_chunk=cpu["pystone_chunk"], cpu_warm_up=cpu["warm_up"],
                            micropython_pystone_us_per_pass=cpu["pystone_us_per_pass"],
                            esp32_us_per_pystone_pass=esp32_pass_us, cryptolib_call_pystone_passes=cpu["c_call_passes"])
    else:
        tap["estimated_esp32_ms"] = cpu
    heap = {"per_debit_bytes_blacklist_10000": mem["worst"] if isinstance(mem, dict) else mem, "detail": mem}
    return tap, heap


def report(tap, heap):
    g = GOALS
    lines = ["Debit of %s, layout v2 cards, %d consecutive debits per run (same card / new card), max of all"
             % ("12.50 yuan", RUNS)]
    worst = max((d for d in tap["debits"] if d["run"].startswith("v2")),
                key=lambda d: d.get("estimated_esp32_us", d["tap_us"]))
    m = worst["modelled"]
    rows = [("component (worst v2 debit: %s #%d)" % (worst["run"], worst["index"] + 1), "time")]
    for k, label in (("link_us", "host-link bytes (921,600 baud)"), ("card_us", "card operations"),
                     ("pn532_us", "PN532 processing (assumed)"), ("polling_us", "polling (blocking UART reads)")):
        rows.append(("  " + label, _ms(m[k])))
    rows.append(("modelled tap", _ms(worst["tap_us"])))
    if "cpu_esp32_us" in worst:
        rows.append(("  firmware CPU, ESP32 240 MHz (scaled)", _ms(worst["cpu_esp32_us"])))
        rows.append(("  C calls: cryptolib %d, UART %d" % (worst["cryptolib_calls"], worst["uart_calls"]),
                     _ms(worst["c_calls_esp32_us"])))
    rows.append(("  flash in the tap (%d page program)" % worst["flash_programs_in_tap"], _ms(worst["flash_in_tap_us"])))
    rows.append(("  display in the tap (%d redraws)" % worst["display_draws_in_tap"], _ms(worst["display_in_tap_us"])))
    if "estimated_esp32_us" in worst:
        rows.append(("estimated tap on an ESP32", _ms(worst["estimated_esp32_us"])))
    width = max(len(r[0]) for r in rows)
    lines += ["  %s  %s" % (r[0].ljust(width), r[1]) for r in rows]
    lines.append("card commands: " + ", ".join("%s %d" % kv for kv in sorted(worst["card_commands"].items())))
    lines.append("goals: tap.modelled_ms %.1f (1K) / %.1f (4K) <= %.0f: %s / %s; tap.pn532_commands %d <= %d: %s" % (
        tap["modelled_ms"], tap["modelled_ms_4k"], g["modelled_ms"], _verdict(tap["modelled_ms"] <= g["modelled_ms"]),
        _verdict(tap["modelled_ms_4k"] <= g["modelled_ms_4k"]), tap["pn532_commands"], g["pn532_commands"],
        _verdict(tap["pn532_commands"] <= g["pn532_commands"])))
    est = tap["estimated_esp32_ms"]
    if isinstance(est, str):
        lines.append("tap.estimated_esp32_ms: " + est)
    else:
        lines.append("tap.estimated_esp32_ms %.1f <= %.0f: %s (with the faster published ESP32 figure: %.1f)" % (
            est, g["estimated_esp32_ms"], _verdict(est <= g["estimated_esp32_ms"]),
            tap["estimated_esp32_ms_fast_figure"]))
    h = heap["per_debit_bytes_blacklist_10000"]
    if isinstance(h, str):
        lines.append("heap: " + h)
    else:
        lines.append("heap.per_debit_bytes_blacklist_10000 %d B <= %d: %s" % (
            h, g["per_debit_bytes_blacklist_10000"], _verdict(h <= g["per_debit_bytes_blacklist_10000"])))
    lines.append("at 115,200 baud: %.1f ms modelled" % tap["at_115200"]["modelled_ms"])
    return "\n".join(lines)


def office_figures(city=(100, 500), cards=None, readers=16, debits=150, progress=print,
                   growth=None):
    """The back-office figures (wall clock), printed as they come. `growth`: the two city sizes
    (readers, sales) whose time per debit `office.city_day_growth` compares (the issue's 50x500 and
    200x500, the default)."""
    from icpurse.hil import bench_office as bo

    growth = growth or bo.GROWTH_SIZES
    out = bo.cmac_and_ingest()
    progress("AES-CMAC (cryptography), 54-byte records: %d MACs/s" % out["cmac_per_s"])
    progress("journal verification (MAC + chain): %d records/s; verification + ingest into SQLite: %d records/s"
             % (out["journal_verify_per_s"], out["journal_ingest_per_s"]))
    for name, fn in (("sqlite", bo.upload_sqlite), ("postgresql", bo.upload_postgresql)):
        up = out["upload_" + name] = fn(readers, debits)
        if isinstance(up, str):
            progress("concurrent uploads, %s: %s" % (name, up))
        else:
            progress("concurrent uploads, %s: %d readers (+1 twice, 2 cut and retried), %d records in %.2f s = "
                     "%d records/s, none lost or duplicated" % (name, up["readers"], up["records"], up["seconds"],
                                                                up["records_per_s"]))
    r, s = city
    n_cards = cards or bo.cards_for(r, s)
    for suffix, fn in (("", bo.city_day), ("_pg", bo.city_day_postgresql)):
        c = out["city_day" + suffix] = fn(r, s, n_cards)
        where = "PostgreSQL" if suffix else "SQLite"
        if isinstance(c, str):
            progress("city day, %s: %s" % (where, c))
            continue
        out["city_day_seconds" + suffix] = c["reconcile_seconds"]
        out["city_day_second_day_growth" + suffix] = c["second_day_growth"]
        out["city_day_rerun_seconds" + suffix] = c["rerun_seconds"]
        t = c["totals"]
        goal = OFFICE_GOALS["city_day_seconds" + suffix]
        progress("city day %d readers x %d sales (%d cards, %d journal records a day), %s, worst of %d runs: "
                 "day 1 %.2f s, day 2 on top %.2f s (time per debit of day 2 / of day 1: %.2f), again with "
                 "nothing new %.2f s; %d debits, %d fen, to the fen: %s, %d findings, %d unbalanced entries "
                 "(generated in %.1f s)%s" % (
                     r, s, c["cards"], c["records_per_day"], where, len(c["runs"]), c["reconcile_seconds"],
                     c["day2_seconds"], c["second_day_growth"], c["rerun_seconds"], t["journal_debits"],
                     t["journal_debit_fen"], c["to_the_fen"], t["findings"], t["unbalanced_entries"],
                     c["generate_seconds"], "; goal <= %d s at 1000x500: %s" % (
                         goal, _verdict(c["reconcile_seconds"] <= goal) if (r, s) == (1000, 500) else "not this size")))
    (r1, s1), (r2, s2) = growth
    for suffix, fn in (("", bo.city_day_growth), ("_pg", bo.city_day_growth_postgresql)):
        g = out["city_day_growth_detail" + suffix] = fn(growth[0], growth[1])
        where = "PostgreSQL" if suffix else "SQLite"
        if isinstance(g, str):
            out["city_day_growth" + suffix] = g
            progress("city day growth, %s: %s" % (where, g))
            continue
        out["city_day_growth" + suffix] = g["growth"]
        goal = OFFICE_GOALS["city_day_growth"]
        progress("city day growth, %s: time per debit reconciling %dx%d / at %dx%d (day 1 of each, 25 sales a "
                 "card), worst of %d paired runs: %.2f (ratios %s; %s us vs %s us per debit; to the fen: %s)%s" % (
                     where, r2, s2, r1, s1, len(g["ratios"]), g["growth"], g["ratios"], g["large"]["us_per_debit"],
                     g["small"]["us_per_debit"], g["to_the_fen"],
                     "" if suffix else "; goal <= %.1f: %s" % (goal, _verdict(g["growth"] <= goal))))
    return out


def tap_runs():
    """Every run the figures come from: {name: [debit, ...]} at 921,600 baud, and the 1K v2
    runs at 115,200."""
    runs = {}
    for layout, size in ((2, "1k"), (2, "4k"), (1, "1k")):
        for kind in ("same", "new"):
            runs["v%d-%s-%s" % (layout, size, kind)] = run(kind, layout, size)
    slow = run("same", 2, "1k", SLOW) + run("new", 2, "1k", SLOW)
    return runs, slow


def scale_figures(progress=print):
    """The back-office scale figures (issue 15), printed as they come: verification against the
    raw MAC rate, ingest on SQLite and PostgreSQL (the worst of repeated runs), personalisation in
    modelled time. Keys as in build/bench.json's "office"."""
    import gc

    from icpurse.hil import bench_office as bo

    # What the process holds already (the benches before) is set aside from the garbage collector:
    # a workstation collecting journals does not carry a city day's objects through its collections.
    gc.collect()
    gc.freeze()
    try:
        return _scale_figures(bo, progress)
    finally:
        gc.unfreeze()


def _scale_figures(bo, progress):
    out = {}
    v = bo.verify_vs_cmac()
    out["verify_vs_cmac"], out["verify_vs_cmac_detail"] = v["worst"], v
    progress("journal verification / raw AES-CMAC, %d alternating rounds: worst %.2f (median %.2f; %d vs %d per s "
             "in the worst round); goal >= %.1f: %s" % (len(v["rounds"]), v["worst"], v["median"], v["verify_per_s"],
                                                     v["cmac_per_s"], OFFICE_GOALS["verify_vs_cmac"],
                                                     _verdict(v["worst"] >= OFFICE_GOALS["verify_vs_cmac"])))
    i = bo.ingest()
    out["ingest_records_per_s"], out["ingest_runs"], out["ingest_batch"] = i["worst"], i["runs"], i["batch"]
    progress("verification + ingest, SQLite, as `terminal collect` does it (batches of %d: each fetch of %d "
             "verified by verify_records, one transaction and audit entry a batch): worst of %d runs %d records/s "
             "(runs %s); goal >= %d: %s"
             % (i["batch"], bo.product_fetch(), len(i["runs"]), i["worst"], i["runs"],
                OFFICE_GOALS["ingest_records_per_s"],
                _verdict(i["worst"] >= OFFICE_GOALS["ingest_records_per_s"])))
    big = bo.ingest(batch=INFO_BATCH)
    out["ingest_records_per_s_batch%d" % INFO_BATCH] = big["worst"]
    progress("the same in batches of %d (for information: not the product's batch): worst of %d runs %d records/s "
             "(runs %s)" % (INFO_BATCH, len(big["runs"]), big["worst"], big["runs"]))
    pg = bo.ingest_postgresql()
    if isinstance(pg, str):
        out["ingest_records_per_s_pg"] = pg
        progress("verification + ingest, PostgreSQL: %s" % pg)
    else:
        out["ingest_records_per_s_pg"], out["ingest_pg_runs"] = pg["worst"], pg["runs"]
        progress("verification + ingest, PostgreSQL (COPY; fsync on), batches of %d: worst of %d "
                 "runs %d records/s (runs %s)" % (pg["batch"], len(pg["runs"]), pg["worst"], pg["runs"]))
    p = bo.personalise_modelled()
    out["personalise_modelled_ms"], out["personalise"] = p["personalise_ms"], p
    progress("personalising a blank 1K card on the sim reader (%d baud, virtual clock): %.1f ms, %d PN532 commands "
             "(the workstation step with its journal and read-back: %.1f ms); goal <= %d ms: %s" % (
                 p["baud"], p["personalise_ms"], p["personalise"]["commands"], p["workstation_ms"],
                 OFFICE_GOALS["personalise_modelled_ms"],
                 _verdict(p["personalise_ms"] <= OFFICE_GOALS["personalise_modelled_ms"])))
    return out


def main(argv=None):
    from icpurse.hil import bench_office

    ap = argparse.ArgumentParser(prog="python -m icpurse.hil.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--no-heap", action="store_true", help="skip the MicroPython runs (heap and firmware CPU)")
    ap.add_argument("--no-office", action="store_true", help="skip the back-office figures")
    ap.add_argument("--city", default=os.environ.get("BENCH_CITY") or "100x500", type=bench_office.parse_city,
                    help="city day size READERSxSALES (default $BENCH_CITY, else 100x500; the goals are for 1000x500)")
    ap.add_argument("--cards", type=int, default=None, help="cards in the city day (default: 25 sales per card)")
    ap.add_argument("--json", default=str(ROOT / "build" / "bench.json"), help="where to write the figures")
    args = ap.parse_args(argv)
    runs, slow = tap_runs()
    if args.no_heap:
        mem = cpu = "skipped (--no-heap)"
    else:
        mem, cpu = micropython_figures()
    tap, heap = assemble(runs, slow, mem, cpu)
    print(report(tap, heap))
    if args.no_office:
        office = "skipped (--no-office)"
    else:
        print("Back office (wall clock, this machine):")
        def say(line):
            print("  " + line, flush=True)

        scale = scale_figures(progress=say)  # first: a process without the city day in it
        office = office_figures(args.city, args.cards, progress=say)
        office.update(scale)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = {"tap": tap, "heap": heap, "office": office,
               "goals": dict({"tap." + k: v for k, v in GOALS.items()}, **{"office." + k: v for k, v in OFFICE_GOALS.items()})}
    out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print("figures: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
