"""`make bench`, back office (hil/bench_office.py, hil/load.py): at toy sizes the figures hang together —
the generated city day is a valid set of journals that reconciles to the fen it was generated with, the
concurrent upload stores every record once, an unreachable PostgreSQL is skipped with its reason.
Nothing here looks at wall time beyond "positive"."""
from icpurse.firmware import codec
from icpurse.hil import bench, bench_office, load
from icpurse.host.terminals import journal_records as jv

FACE = 100000  # fen: the MOFCOM anonymous-card cap the city day loads on each card


def test_city_journals_verify_and_keep_every_card_consistent():
    uids = ["04%06X" % i for i in range(1, 7)]
    journals, sold = bench_office.city_records(4, 30, uids, seed=3)
    assert sorted(journals) == [60000001, 60000002, 60000003, 60000004]
    domain = load.demo_domain()
    debits = 0
    cards = {}
    for t, recs in journals.items():
        good, problems = jv.verify_sequence([r["raw"] for r in recs], t, jv.journal_keys(domain, t))
        assert problems == [] and len(good) == len(recs)  # real MACs and an unbroken chain from record 1
        assert [g.state for g in good] == [codec.JR_PENDING, codec.JR_COMMITTED] * (len(good) // 2)
        for g in good:
            assert (g.amount, g.uid, g.card_seq) == (recs[g.number - 1]["amount"], recs[g.number - 1]["uid"],
                                                     recs[g.number - 1]["card_seq"])
            if g.state == codec.JR_COMMITTED:
                debits += 1
                cards.setdefault(g.uid, []).append((g.reader_time, g.card_seq, g.amount, g.balance_after))
    assert debits == 4 * 30  # every card keeps enough balance at these sizes
    total = 0
    for uid, seen in cards.items():
        seen.sort()
        seq, balance = 2, FACE  # as the issuer loaded it
        for _, card_seq, amount, after in seen:
            assert (card_seq, after) == (seq + 1, balance - amount), uid
            seq, balance = card_seq, after
            total += amount
    assert total == sold


def test_city_day_reconciles_to_the_fen_it_generated():
    c = bench_office.city_day(readers=3, sales=20, cards=6)
    t = c["totals"]  # after day 2 (two days of 60 debits)
    assert (c["records_per_day"], t["journal_debits"]) == (2 * 60, 120) and c["to_the_fen"]
    assert t["findings"] == 0 and t["unbalanced_entries"] == 0 and t["discrepancy_fen"] == 0
    assert t["journal_debit_fen"] == t["redeemed_fen"] == t["expected_fen"] > 0
    assert t["outstanding_fen"] == 6 * FACE - t["expected_fen"]
    assert c["reconcile_seconds"] > 0 and c["generate_seconds"] > 0 and c["second_day_growth"] > 0
    assert [r["debits"] for r in c["runs"]] == [[60, 60]] * 2


def test_city_day_growth_compares_two_sizes_per_debit_worst_pair():
    g = bench_office.city_day_growth((2, 10), (4, 10), repeats=2)
    assert (g["small"]["debits"], g["large"]["debits"]) == (20, 40) and g["to_the_fen"]
    assert (g["small"]["readers"], g["large"]["readers"], g["small"]["cards"]) == (2, 4, 200)
    # each round's ratio: the large day's seconds per debit over the small day's, from the seconds reported
    ratios = [(big / 40) / (small / 20) for small, big in zip(g["small"]["seconds"], g["large"]["seconds"])]
    assert len(g["ratios"]) == 2 and all(abs(a - b) <= 0.02 * b for a, b in zip(g["ratios"], ratios))
    assert g["growth"] == max(g["ratios"])


def test_concurrent_upload_figures_count_every_record_once(tmp_path):
    up = load.throughput("sqlite:///%s" % (tmp_path / "l.db"), str(tmp_path), readers=4, debits=40)  # 80 records: 3 fetches, 3 ACKs
    assert (up["readers"], up["records"], up["retries"]) == (4, 320, 2)
    assert load.stored_count("sqlite:///%s" % (tmp_path / "l.db")) == 320
    assert up["records_per_s"] > 0


def test_unreachable_postgresql_is_skipped_with_its_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("ICPURSE_BENCH_PG", "postgresql://nobody@/postgres?host=%s" % tmp_path)
    got = bench_office.upload_postgresql(readers=2, debits=2)
    assert isinstance(got, str) and got.startswith("skipped: cannot create a database")


def test_office_figures_and_city_size(monkeypatch, tmp_path):
    monkeypatch.setenv("ICPURSE_BENCH_PG", "postgresql://nobody@/postgres?host=%s" % tmp_path)
    lines = []
    out = bench.office_figures((2, 10), 4, readers=2, debits=5, progress=lines.append, growth=((2, 10), (3, 10)))
    assert out["cmac_per_s"] > 0 and out["journal_verify_per_s"] > 0 and out["journal_ingest_per_s"] > 0
    assert out["upload_sqlite"]["records"] == 20 and out["upload_postgresql"].startswith("skipped")
    assert out["city_day"]["totals"]["journal_debits"] == 40 and out["city_day_seconds"] > 0
    assert out["city_day_pg"].startswith("skipped")
    assert out["city_day_second_day_growth"] > 0 and "city_day_second_day_growth_pg" not in out
    assert out["city_day_growth"] == out["city_day_growth_detail"]["growth"] > 0
    assert out["city_day_growth_detail"]["large"]["debits"] == 30 and out["city_day_growth_pg"].startswith("skipped")
    assert len(lines) == 8 and lines[-4].startswith("city day 2 readers x 10 sales (4 cards")
    assert lines[-2].startswith("city day growth, SQLite: time per debit reconciling 3x10 / at 2x10")
    assert bench_office.parse_city("1000x500") == (1000, 500)


def test_ingest_and_cmac_rates_are_positive():
    ingest, verify = bench_office.ingest_rate(records=40, batch=16)  # batches that do not divide evenly
    assert ingest > 0 and verify > 0 and bench_office.cmac_rate(0.01) > 0


def test_verification_ratio_and_ingest_figures_hang_together():
    v = bench_office.verify_vs_cmac(records=40, rounds=2, seconds=0.02)
    assert len(v["rounds"]) == 2 and v["worst"] == min(v["rounds"]) > 0 and v["median"] in v["rounds"]
    assert v["cmac_per_s"] > 0 and v["verify_per_s"] > 0
    i = bench_office.ingest(records=40, batch=16, repeats=2)  # ingest_rate checks every record got stored
    assert len(i["runs"]) == 2 and i["worst"] == min(i["runs"]) > 0 and i["batch"] == 16


def test_ingest_measures_the_batch_the_product_collects_in():
    from icpurse.host.terminals import service

    assert bench_office.product_batch() == service.FETCH_BATCH == service.collect.__defaults__[0]
    assert bench_office.ingest(records=70, repeats=1)["batch"] == service.FETCH_BATCH


def test_personalisation_is_measured_on_the_virtual_clock_at_921600_baud():
    first, again = bench_office.personalise_modelled(), bench_office.personalise_modelled()
    assert first == again  # modelled time: the same on every run and machine
    assert first["baud"] == 921600
    assert 0 < first["personalise_ms"] < first["workstation_ms"]
    assert first["personalise"]["card_timeouts"] == 0


def test_scale_figures_carry_the_keys_of_bench_json(monkeypatch, tmp_path):
    monkeypatch.setenv("ICPURSE_BENCH_PG", "postgresql://nobody@/postgres?host=%s" % tmp_path)
    # the timed figures stubbed (their own test above); the personalisation is modelled time, run as is
    monkeypatch.setattr(bench_office, "verify_vs_cmac", lambda: {"worst": 0.6, "median": 0.7, "rounds": [0.6, 0.7, 0.8],
                                                                 "cmac_per_s": 5, "verify_per_s": 3})
    monkeypatch.setattr(bench_office, "ingest", lambda batch=None: {"worst": 40000 if batch is None else 70000,
                                                                    "runs": [40000, 60000], "batch": batch or 32})
    lines = []
    out = bench.scale_figures(progress=lines.append)
    assert out["verify_vs_cmac"] == 0.6 and out["ingest_records_per_s"] == 40000 and out["ingest_batch"] == 32
    assert out["ingest_records_per_s_batch500"] == 70000
    assert out["ingest_records_per_s_pg"].startswith("skipped")
    assert out["personalise_modelled_ms"] == out["personalise"]["personalise_ms"] > 0
    assert "goal >= 0.5: met" in lines[0] and "goal >= 50000: NOT met" in lines[1] and len(lines) == 5
    assert "batches of 32" in lines[1] and "batches of 500 (for information" in lines[2]
