"""The back-office bench (host/reconcile/bench.py) at toy size: its journals verify, and the city day
it reconciles balances to the fen it generated."""
from icpurse.host.reconcile import bench


def test_city_day_bench_reconciles_what_it_generated():
    seconds, totals = bench.city_day(readers=3, sales=10, cards=4)
    assert totals["findings"] == 0 and totals["journal_debits"] == 30
    assert totals["journal_debit_fen"] == totals["redeemed_fen"] == totals["expected_fen"]
    assert totals["outstanding_fen"] == 4 * 100000 - totals["expected_fen"]


def test_ingest_and_cmac_rates_are_positive():
    ingest, verify = bench.ingest_rate(records=40, batch=16)
    assert ingest > 0 and verify > 0 and bench.cmac_rate(0.01) > 0
