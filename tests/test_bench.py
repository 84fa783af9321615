"""`make bench` (hil/bench.py): the figures hang together and follow the timing model's rules.

Expected values come from the model as documented (docs/simulator.md "Timing model", docs/chip-facts.md
"Timings", docs/reader.md "What a tap costs"), not from the bench's own output. Nothing here looks at
wall time: the MicroPython runs (heap, firmware CPU) are `make bench`'s, not the test's."""
import json

import pytest

from icpurse.hil import bench, bench_mpy
from icpurse.host import codec

# docs/chip-facts.md "Timings", typical times, µs (select: 4-byte UID)
DATASHEET_US = {"auth A": 2000, "read": 2500, "write": 5500, "decrement": 2500, "transfer": 4500}
SELECT_US = 2500
OVERHEAD_US = 500  # docs/simulator.md: per command frame


@pytest.fixture(scope="module")
def runs():
    return {(kind, layout, size): bench.run(kind, layout, size) for kind in ("same", "new")
            for layout, size in ((2, "1k"), (2, "4k"), (1, "1k"))}


def test_every_debit_went_through(runs):
    for (kind, layout, size), rows in runs.items():
        assert len(rows) == bench.RUNS >= 4
        for i, d in enumerate(rows):
            expect = bench_mpy.BALANCE - bench_mpy.AMOUNT * ((i + 1) if kind == "same" else 1)
            assert d["balance_after"] == expect, (kind, layout, size, i)


def test_a_v2_debit_is_one_authentication_two_reads_two_decrements_two_transfers(runs):
    for (kind, layout, size), rows in runs.items():
        if layout != 2:
            continue
        for d in rows:
            assert d["card_commands"] == {"auth A": 1, "read": 2, "decrement": 2, "transfer": 2}
            assert d["commands"] == d["commands_in_tap"] == 8  # with the InListPassiveTarget


def test_the_tap_time_is_link_card_pn532_and_one_wake_per_command(runs):
    for rows in runs.values():
        for d in rows:
            m = d["modelled"]
            card = SELECT_US + sum(DATASHEET_US[op] * n for op, n in d["card_commands"].items())
            assert m["card_us"] == card
            assert m["pn532_us"] == OVERHEAD_US * d["commands_in_tap"]
            assert sum(m.values()) == d["tap_us"]
            # the driver sleeps in blocking reads: each answer is seen one wake-up after its last byte
            assert m["polling_us"] == codec.T_RX_WAKE * d["commands_in_tap"]
            nbytes = sum(d["host_bytes"])
            assert abs(m["link_us"] - nbytes * 10 * 1000000 / bench.FAST) <= 2


def test_nothing_slow_before_the_signal(runs):
    for rows in runs.values():
        for d in rows:
            assert d["flash_programs_in_tap"] == 1 and d["flash_erases_in_tap"] == 0  # the write-ahead
            assert d["display_draws_in_tap"] == 0 and d["display_draws_after"] == 1


def test_assembled_figures_and_report(runs):
    named = {"v%d-%s-%s" % (layout, size, kind): rows for (kind, layout, size), rows in runs.items()}
    slow = bench.run("same", 2, "1k", bench.SLOW)
    cpu = {"pystone_us_per_pass": 20.0, "c_call_passes": 0.1, "clock": "process CPU time", "pairs": 3,
           "taps_per_pair": 16, "pystone_chunk": 40, "warm_up": "none",
           "runs": {name: [{"fw_passes": 10.0, "fw_us": 200.0, "median_passes": 9.0, "pairs": [8.0, 9.0, 10.0],
                            "cryptolib_calls": 3, "uart_calls": 20}] * bench.RUNS for name in named}}
    tap, heap = bench.assemble(named, slow, {"worst": 1000}, cpu)
    worst = max(d["tap_us"] for d in tap["debits"] if d["run"].startswith("v2-1k")) / 1000
    assert tap["modelled_ms"] == worst
    assert tap["pn532_commands"] == 8
    # 10 passes + 23 C calls x 0.1 passes at the published 1,014 pystones/s
    per_pass = 1000000 / bench.ESP32_PYSTONES
    d = tap["debits"][0]
    assert d["cpu_esp32_us"] == round(10 * per_pass) and d["c_calls_esp32_us"] == round(2.3 * per_pass)
    assert d["estimated_esp32_us"] == d["tap_us"] + d["cpu_esp32_us"] + d["c_calls_esp32_us"] + 400
    assert heap["per_debit_bytes_blacklist_10000"] == 1000
    text = bench.report(tap, heap)
    assert "estimated tap on an ESP32" in text and "tap.pn532_commands 8" in text


def test_json_keys_as_the_issue_names_them(tmp_path):
    out = tmp_path / "bench.json"
    assert bench.main(["--no-heap", "--no-office", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    for key in ("modelled_ms", "modelled_ms_4k", "estimated_esp32_ms", "pn532_commands"):
        assert key in figures["tap"]
    assert "per_debit_bytes_blacklist_10000" in figures["heap"]
