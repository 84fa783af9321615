"""The back-office bench building blocks (host/reconcile/bench.py) at toy size (the city day is
tested with hil/bench_office.py in tests/test_bench_office.py)."""
from icpurse.host.reconcile import bench


def test_ingest_and_cmac_rates_are_positive():
    ingest, verify = bench.ingest_rate(records=40, batch=16)
    assert ingest > 0 and verify > 0 and bench.cmac_rate(0.01) > 0
