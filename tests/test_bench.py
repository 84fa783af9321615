"""`make bench` (hil/bench.py): the figures hang together and follow the timing model's rules.

Expected values come from the model as documented (docs/simulator.md "Timing model", docs/chip-facts.md
"Timings"), not from the bench's own output. Nothing here looks at wall time."""
import json
import shutil

import pytest

from icpurse.hil import bench, bench_mpy

# docs/chip-facts.md "Timings", typical times, µs (select: 4-byte UID)
DATASHEET_US = {"auth A": 2000, "read": 2500, "write": 5500, "decrement": 2500, "transfer": 4500}
SELECT_US = 2500
OVERHEAD_US = 500  # docs/simulator.md: per command frame


@pytest.fixture(scope="module")
def taps(tmp_path_factory):
    return {baud: bench.tap(baud, tmp_path_factory.mktemp("b%d" % baud)) for baud in (bench.FAST, bench.SLOW)}


def test_the_debit_went_through(taps):
    for t in taps.values():
        assert (t["amount"], t["balance_after"]) == (bench_mpy.AMOUNT, bench_mpy.BALANCE - bench_mpy.AMOUNT)
        assert t["card_timeouts"] == 0


def test_breakdown_sums_to_the_tap_time(taps):
    for t in taps.values():
        parts = t["tap_breakdown_us"]
        # the card is in the field from the start: no polling waits, all time is link, card, PN532
        assert parts["host_link"] + parts["card"] + parts["pn532_overhead"] == t["tap_us"]
        assert parts["other_waits"] == 0
        assert 0 < t["tap_us"] <= t["request_us"]


def test_fast_link_is_faster_and_only_the_link_changes(taps):
    fast, slow = taps[bench.FAST], taps[bench.SLOW]
    assert fast["tap_us"] < slow["tap_us"]
    assert fast["tap_breakdown_us"]["host_link"] * 8 <= slow["tap_breakdown_us"]["host_link"]
    for k in ("card", "pn532_overhead"):
        assert fast["tap_breakdown_us"][k] == slow["tap_breakdown_us"][k]
    for k in ("commands", "host_bytes_to_pn532", "host_bytes_from_pn532", "card_commands"):
        assert fast[k] == slow[k]


def test_commands_counted_by_the_clock_equal_the_driver_trace(taps):
    for t in taps.values():
        assert t["commands"] == t["commands_traced"]
        # one InListPassiveTarget, the rest InDataExchange with one card operation each
        assert t["commands"] == 1 + sum(t["card_commands"].values())
        assert t["card_ops"] == t["commands"]  # the select, then one per exchange


def test_figures_follow_the_timing_model(taps):
    for baud, t in taps.items():
        req = t["request_breakdown_us"]
        nbytes = t["host_bytes_to_pn532"] + t["host_bytes_from_pn532"]
        assert abs(req["host_link"] - nbytes * 10 * 1000000 / baud) <= 1
        assert req["pn532_overhead"] == OVERHEAD_US * t["commands"]
        card = SELECT_US + sum(DATASHEET_US[op] * n for op, n in t["card_commands"].items())
        assert req["card"] == card


def test_pending_journal_record_is_inside_the_tap(taps):
    for t in taps.values():
        assert (t["journal_writes_in_tap"], t["journal_writes_total"]) == (1, 2)


def test_report_and_json(taps, tmp_path, capsys):
    text = bench.report(taps, "skipped")
    assert "921,600 baud" in text and "115,200 baud" in text and "goal tap" in text
    out = tmp_path / "bench.json"
    assert bench.main(["--no-heap", "--no-office", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert set(figures["tap"]) == {"921600", "115200"}
    assert figures["tap"]["921600"]["tap_us"] == taps[bench.FAST]["tap_us"]  # deterministic


@pytest.mark.micropython
def test_heap_under_micropython():
    if shutil.which("node") is None or not bench.MP_PACKAGE.is_dir():
        pytest.skip("node or the MicroPython WebAssembly build not found — run `make setup`")
    mem = bench.heap()
    assert isinstance(mem, dict), mem
    for case in ("cold", "warm"):
        h = mem[case]
        assert h["firmware"] + h["simulator"] == h["total"]
        assert h["firmware"] > 0 and h["simulator"] > 0
