"""`make bench`: what one debit costs, from the virtual rig's modelled clock (never wall time).

Tap time = what the customer waits for: from the moment the reader starts sending the
InListPassiveTarget that finds the card to the moment it has the PN532's answer to the last card
write (WRITE or TRANSFER) of the debit. Modelled: host-link bytes (10 bit times each, ACKs
included), 0.5 ms PN532 overhead per command (an assumption until measured on hardware), card
operations at the MIFARE Classic datasheet's typical times. Not modelled: the reader's journal
writes to flash (counted separately) and MicroPython's own processing time (AES/CMAC included).

Heap: hil/bench_mpy.py under the real MicroPython (WebAssembly) interpreter.

Back office (hil/bench_office.py, wall-clock on this machine): raw AES-CMAC, journal verification and
ingest, concurrent uploads from many virtual readers (SQLite, PostgreSQL), reconciling a city day; then
the scale figures (`scale_figures`): verification / raw CMAC, ingest on SQLite and PostgreSQL (worst of
repeated runs) and personalising a blank card on the sim reader (virtual clock).

    python -m icpurse.hil.bench [--no-heap] [--no-office] [--city READERSxSALES] [--cards N] [--json PATH]
"""
import argparse
import json
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
TAP_GOAL_US = 60000
HEAP_GOAL = 24 * 1024
OFFICE_GOALS = {"verify_vs_cmac": 0.5, "ingest_records_per_s": 50000, "personalise_modelled_ms": 400}
CARD_WRITES = (codec.MF_WRITE, codec.MF_TRANSFER)
OP_NAMES = {codec.MF_AUTH_A: "auth A", codec.MF_AUTH_B: "auth B", codec.MF_READ: "read",
            codec.MF_WRITE: "write", codec.MF_DECREMENT: "decrement", codec.MF_INCREMENT: "increment",
            codec.MF_RESTORE: "restore", codec.MF_TRANSFER: "transfer"}
BREAKDOWN = ("link_us", "card_us", "overhead_us")


class Trace:
    """Every PN532 command and journal append of the firmware, stamped with the virtual clock and
    the clock's counters before and after."""

    def __init__(self, vr):
        self.vclock = vr.vclock
        self.calls = []  # (cmd, MIFARE op or None, t0, t1, counters0, counters1, answer)
        self.journal = []  # (number of PN532 commands before it, state)
        call, append = vr.driver.call, vr.reader.journal.append

        def traced_call(cmd, params=b"", data=None, **kw):
            t0, c0 = self.vclock.now_us, dict(self.vclock.counters)
            answer = call(cmd, params, data, **kw)
            self.calls.append((cmd, data[0] if data else None, t0, self.vclock.now_us, c0,
                               dict(self.vclock.counters), bytes(answer)))
            return answer

        def traced_append(kind, state, *args, **kw):
            self.journal.append((len(self.calls), state))
            return append(kind, state, *args, **kw)

        self.success_at = None  # number of PN532 commands sent when the reader signalled success
        success = vr.reader.ui.success

        def traced_success(*args):
            self.success_at = len(self.calls)
            return success(*args)

        vr.driver.call = traced_call  # the driver's own methods look it up on the instance
        vr.reader.journal.append = traced_append
        vr.reader.ui.success = traced_success


def _diff(after, before):
    return {k: after[k] - before[k] for k in after}


def tap(baud, state_dir=None):
    """One DEBIT on a freshly provisioned virtual reader with its HSU link at `baud`."""
    own = state_dir is None
    state_dir = state_dir or tempfile.mkdtemp(prefix="icpurse-bench-")
    try:
        vr = bench_mpy.make_reader(str(state_dir), baud=None if baud == SLOW else baud)
        assert vr.uart.baud == baud == vr.chip.baud
        trace = Trace(vr)
        t0, c0 = vr.vclock.now_us, dict(vr.vclock.counters)
        result = bench_mpy.debit_result(bench_mpy.serve(vr, bench_mpy.debit_request()))
        t1, c1 = vr.vclock.now_us, dict(vr.vclock.counters)
    finally:
        if own:
            shutil.rmtree(state_dir, ignore_errors=True)
    calls = trace.calls
    found = [i for i, c in enumerate(calls) if c[0] == codec.CMD_IN_LIST_PASSIVE_TARGET and c[6][:1] not in (b"", b"\x00")]
    writes = [i for i, c in enumerate(calls) if c[0] == codec.CMD_IN_DATA_EXCHANGE and c[1] in CARD_WRITES]
    # The tap ends when the reader tells the customer the sale is done (LED/buzzer): the commit
    # point and the balance are on the card. The log entry is written after it.
    last = trace.success_at - 1
    start, end = calls[found[0]], calls[last]
    window = _diff(end[5], start[4])
    after = calls[trace.success_at:]
    request = _diff(c1, c0)
    tap_us = end[3] - start[2]
    ops = {}
    for c in trace.calls:
        if c[0] == codec.CMD_IN_DATA_EXCHANGE:
            name = OP_NAMES.get(c[1], "0x%02x" % c[1])
            ops[name] = ops.get(name, 0) + 1
    return {
        "baud": baud,
        "amount": result[1],
        "balance_after": result[2],
        "tap_us": tap_us,
        "tap_breakdown_us": {
            "host_link": window["link_us"],
            "card": window["card_us"],
            "pn532_overhead": window["overhead_us"],
            "other_waits": tap_us - sum(window[k] for k in BREAKDOWN),
        },
        "after_success_us": (after[-1][3] - end[3]) if after else 0,
        "after_success_commands": len(after),
        "request_us": t1 - t0,
        "request_breakdown_us": {"host_link": request["link_us"], "card": request["card_us"],
                                 "pn532_overhead": request["overhead_us"]},
        "commands": request["commands"],
        "commands_traced": len(trace.calls),
        "commands_in_tap": window["commands"],
        "host_bytes_to_pn532": request["host_bytes_in"],
        "host_bytes_from_pn532": request["host_bytes_out"],
        "card_ops": request["card_ops"],
        "card_timeouts": request["card_timeouts"],
        "card_commands": ops,
        # appended after the card was found and before the last card write was sent
        "journal_writes_in_tap": sum(1 for before, _ in trace.journal if found[0] < before <= last),
        "journal_writes_total": len(trace.journal),
        "journal_record_bytes": codec.JOURNAL_RECORD_SIZE,
    }


def heap():
    """Run hil/bench_mpy.py under MicroPython; its BENCH-HEAP figures, or a reason string."""
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.is_dir():
        return "not measured: node or the MicroPython WebAssembly build is missing (make setup)"
    proc = subprocess.run([node, str(RUNNER), "--root", str(ROOT), str(Path(bench_mpy.__file__))],
                          capture_output=True, text=True, timeout=300)
    m = re.search(r"^BENCH-HEAP (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or m is None:
        return "not measured: the MicroPython run failed:\n" + proc.stdout + proc.stderr
    return json.loads(m.group(1))


def _ms(us):
    return "%.1f ms" % (us / 1000)


def _verdict(ok):
    return "met" if ok else "NOT met"


def report(taps, mem):
    fast, slow = taps[FAST], taps[SLOW]
    rows = [("", "921,600 baud", "115,200 baud")]
    rows.append(("tap time (modelled)", _ms(fast["tap_us"]), _ms(slow["tap_us"])))
    for k in ("host_link", "card", "pn532_overhead", "other_waits"):
        rows.append(("  " + k.replace("_", " "), _ms(fast["tap_breakdown_us"][k]), _ms(slow["tap_breakdown_us"][k])))
    rows.append(("whole DEBIT request", _ms(fast["request_us"]), _ms(slow["request_us"])))
    for k, label in (("commands", "PN532 commands"), ("host_bytes_to_pn532", "host-link bytes to PN532 *"),
                     ("host_bytes_from_pn532", "host-link bytes from PN532 *"), ("card_ops", "card operations")):
        rows.append((label, str(fast[k]), str(slow[k])))
    rows.append(("log entry after the success signal", "%s (%d cmds)" % (_ms(fast["after_success_us"]), fast["after_success_commands"]),
                 "%s (%d cmds)" % (_ms(slow["after_success_us"]), slow["after_success_commands"])))
    rows.append(("journal writes in the tap / total", "%d / %d" % (fast["journal_writes_in_tap"], fast["journal_writes_total"]),
                 "%d / %d" % (slow["journal_writes_in_tap"], slow["journal_writes_total"])))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["Debit of %d fen, one MIFARE Classic 1K card (virtual clock)" % fast["amount"]]
    lines += ["  ".join(r[i].ljust(width[i]) for i in range(3)).rstrip() for r in rows]
    lines.append("* every byte on the UART, ACK frames and wake-up bytes included")
    lines.append("journal: %d-byte records; the one written inside the tap (PENDING, before the card write)"
                 " costs flash time that is not modelled and adds to the real tap" % fast["journal_record_bytes"])
    lines.append("card commands: " + ", ".join("%s %d" % kv for kv in sorted(fast["card_commands"].items())))
    lines.append("goal tap <= %s at 921,600: %s (card operations alone: %s)" % (
        _ms(TAP_GOAL_US), _verdict(fast["tap_us"] <= TAP_GOAL_US), _ms(fast["tap_breakdown_us"]["card"])))
    if isinstance(mem, str):
        lines.append("MicroPython heap: " + mem)
    else:
        lines.append("MicroPython heap allocated by one DEBIT, GC paused (upper bound of the peak):")
        for case in ("cold", "warm"):
            h = mem[case]
            lines.append("  %-4s firmware %6d B  (total %d B - simulator %d B)" % (case, h["firmware"], h["total"], h["simulator"]))
        worst = max(mem[c]["firmware"] for c in ("cold", "warm"))
        lines.append("goal heap <= %d B (24 KB): %s (firmware share, %d B)" % (HEAP_GOAL, _verdict(worst <= HEAP_GOAL), worst))
    return "\n".join(lines)


def office_figures(city=(100, 500), cards=None, readers=16, debits=150, progress=print):
    """The back-office figures (wall clock), printed as they come."""
    from icpurse.hil import bench_office as bo

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
    c = out["city_day"] = bo.city_day(r, s, cards or max(200, r * s // 25))
    t = c["totals"]
    progress("city day %d readers x %d sales (%d cards, %d journal records): reconciled in %.1f s "
             "(generated in %.1f s); %d debits, %d fen, %d findings, %d unbalanced entries" % (
                 r, s, c["cards"], c["records"], c["reconcile_seconds"], c["generate_seconds"],
                 t["journal_debits"], t["journal_debit_fen"], t["findings"], t["unbalanced_entries"]))
    return out


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
    out["ingest_records_per_s"], out["ingest_runs"] = i["worst"], i["runs"]
    progress("verification + ingest, SQLite, batches of 500: worst of %d runs %d records/s (runs %s); goal >= %d: %s"
             % (len(i["runs"]), i["worst"], i["runs"], OFFICE_GOALS["ingest_records_per_s"],
                _verdict(i["worst"] >= OFFICE_GOALS["ingest_records_per_s"])))
    pg = bo.ingest_postgresql()
    if isinstance(pg, str):
        out["ingest_records_per_s_pg"] = pg
        progress("verification + ingest, PostgreSQL: %s" % pg)
    else:
        out["ingest_records_per_s_pg"], out["ingest_pg_runs"] = pg["worst"], pg["runs"]
        progress("verification + ingest, PostgreSQL (COPY; fsync on), batches of 500: worst of %d "
                 "runs %d records/s (runs %s)" % (len(pg["runs"]), pg["worst"], pg["runs"]))
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
    ap.add_argument("--no-heap", action="store_true", help="skip the MicroPython heap run")
    ap.add_argument("--no-office", action="store_true", help="skip the back-office figures")
    ap.add_argument("--city", default="100x500", type=bench_office.parse_city,
                    help="city day size READERSxSALES (default 100x500; the README figure is 1000x500)")
    ap.add_argument("--cards", type=int, default=None, help="cards in the city day (default: 25 sales per card)")
    ap.add_argument("--json", default=str(ROOT / "build" / "bench.json"), help="where to write the figures")
    args = ap.parse_args(argv)
    taps = {baud: tap(baud) for baud in (FAST, SLOW)}
    mem = "skipped (--no-heap)" if args.no_heap else heap()
    print(report(taps, mem))
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
    figures = {
        "clock": "virtual (hil/sim/clock.py); PN532 overhead %d us/command is an assumption" % codec.T_PN532_OVERHEAD,
        "goals": dict({"tap_us_at_921600": TAP_GOAL_US, "heap_bytes": HEAP_GOAL},
                      **{"office." + k: v for k, v in OFFICE_GOALS.items()}),
        "tap": {str(b): t for b, t in taps.items()},
        "heap": mem,
        "office": office,
    }
    out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print("figures: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
