"""`make bench`, back office: wall-clock figures on this machine (not the virtual clock), except the
personalisation, which is modelled time.

- raw AES-CMAC of the `cryptography` package (MACs/s over 54-byte records): the ceiling;
- journal verification (MAC + chain, records/s) and verification + ingest into SQLite (records/s),
  on a journal written by the firmware's own Journal class (real MACs and chain): only the
  verification and the storage are timed; `verify_vs_cmac` puts the verification rate over the raw
  CMAC rate measured in alternation in the same process (worst of several rounds); `ingest` and
  `ingest_postgresql` repeat the ingest into fresh ledgers (worst of the runs), verifying and storing
  as the product's collection does (`verify_records` and one store per fetch of `product_batch()`
  records);
- concurrent journal uploads from many virtual readers into one ledger (hil/load.py), SQLite and
  PostgreSQL ($ICPURSE_BENCH_PG=URL of a server whose databases we may create, else a throwaway
  cluster when the server binaries are installed, else skipped with the reason);
- reconciling a simulated city day (readers x debits each), then a second day on top of it, then
  once more with nothing new, on SQLite and PostgreSQL (worst of repeated runs on copies of the same
  ledger): only `engine.run` is timed; the days are generated cheaply (journal records encoded and MACed with the host kdf, stored with the
  ledger's `store_journal_records`, one transaction per reader;
  cards registered, sold, paid and activated by the bulk issue, which writes the rows the ledger
  API would: host/ledger/bulk_issue.py) and its time reported separately;
- personalising a blank 1K card on the sim reader, in the rig's modelled time (`personalise_modelled`).
"""
import contextlib
import datetime as dt
import os
import random
import tempfile
import time

CITY_FACE = 100000  # fen: the MOFCOM profile's cap for an anonymous card


def cmac_and_ingest(records=4000):
    """{cmac_per_s, journal_verify_per_s, journal_ingest_per_s}: one run each (the figures kept from
    before the repeated `verify_vs_cmac` / `ingest` below)."""
    ingest, verify = ingest_rate(records)
    return {"cmac_per_s": round(cmac_rate()), "journal_verify_per_s": round(verify),
            "journal_ingest_per_s": round(ingest)}


def _journal_raws(root, records, terminal=40000001):
    """(raws, keys) of one terminal's journal of `records` records written by the firmware's Journal."""
    from icpurse.firmware import codec
    from icpurse.hil.load import demo_domain

    j, keys = _journal(root, terminal, demo_domain())
    uid = bytes.fromhex("04A0B0C0")
    for i in range(records // 2):
        p = j.begin(codec.TXN_DEBIT, uid, i + 3, 1, 10 ** 6 - i, 825_000_000 + i)
        j.commit(p, 825_000_000 + i)
    return [bytes(r) for r in j.records(raw=True)], keys


def verify_vs_cmac(records=2000, rounds=7, seconds=0.3):
    """Journal verification rate / raw AES-CMAC rate of `cryptography` (`cmac_rate`'s loop), in the
    same process and under the same load: within each round the two alternate every few
    milliseconds (one verification of a `records`-record journal, then as many CMACs), so whatever
    else the machine does slows both alike. {"worst", "median", "rounds": [ratio...], "cmac_per_s",
    "verify_per_s"} (the rates of the worst round)."""
    from cryptography.hazmat.primitives import cmac
    from cryptography.hazmat.primitives.ciphers import algorithms

    from icpurse.host.terminals import journal_records as jv

    terminal = 40000001
    with tempfile.TemporaryDirectory() as tmp:
        raws, keys = _journal_raws(tmp, records, terminal)
    good, problems = jv.verify_sequence(raws, terminal, keys)
    assert not problems and len(good) == len(raws)
    key, msg = os.urandom(16), os.urandom(54)
    clock = time.perf_counter
    pairs = []
    for _ in range(rounds):
        verify_s = cmac_s = 0.0
        verified = macs = 0
        while verify_s + cmac_s < seconds:
            t0 = clock()
            jv.verify_sequence(raws, terminal, keys)
            t1 = clock()
            for _ in range(len(raws)):
                c = cmac.CMAC(algorithms.AES(key))
                c.update(msg)
                c.finalize()
            t2 = clock()
            verify_s, cmac_s = verify_s + (t1 - t0), cmac_s + (t2 - t1)
            verified, macs = verified + len(raws), macs + len(raws)
        pairs.append(((verified / verify_s) / (macs / cmac_s), macs / cmac_s, verified / verify_s))
    ratios = sorted(p[0] for p in pairs)
    worst = min(pairs)
    return {"worst": round(worst[0], 3), "median": round(ratios[len(ratios) // 2], 3),
            "rounds": [round(p[0], 3) for p in pairs], "cmac_per_s": round(worst[1]), "verify_per_s": round(worst[2])}


def product_batch():
    """Records per store in the product's collection (`icpurse terminal collect`,
    host/terminals/service.py `collect`): one fetch from the reader, verified (`verify_records`),
    stored in one transaction with one audit entry, then acknowledged."""
    from icpurse.host.terminals import service

    return service.FETCH_BATCH


def ingest(url=None, records=10000, batch=None, repeats=3):
    """Verification + ingest (records/s) into a fresh ledger per run: SQLite in a temp folder, or the
    database at `url`; `batch` records per store (default: the product's, `product_batch`).
    {"worst", "runs": [...], "batch"}."""
    batch = batch or product_batch()
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(ingest_rate(records, batch, url or os.path.join(tmp, "l.db"))[0])
    return {"worst": round(min(runs)), "runs": [round(r) for r in runs], "batch": batch}


def ingest_postgresql(records=10000, batch=None, repeats=3):
    """`ingest` on PostgreSQL ($ICPURSE_BENCH_PG or a throwaway cluster, fsync on), a fresh database
    per run; or a string saying why it was not measured."""
    from icpurse.hil import pgcluster

    batch = batch or product_batch()
    try:
        with pgcluster.server(os.environ.get("ICPURSE_BENCH_PG")) as server:
            runs = []
            for _ in range(repeats):
                with pgcluster.database(server) as url:
                    runs.append(ingest(url, records, batch, repeats=1)["worst"])
    except pgcluster.Unavailable as exc:
        return "skipped: %s" % exc
    return {"worst": min(runs), "runs": runs, "batch": batch}


def cmac_rate(seconds=0.5):
    """AES-CMAC computations per second of a 54-byte message (cryptography, one object per MAC)."""
    from cryptography.hazmat.primitives import cmac
    from cryptography.hazmat.primitives.ciphers import algorithms

    key, msg = os.urandom(16), os.urandom(54)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        c = cmac.CMAC(algorithms.AES(key))
        c.update(msg)
        c.finalize()
        n += 1
    return n / (time.perf_counter() - start)


class _Clock:
    def __init__(self):
        self.t = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)

    def __call__(self):
        return self.t


def _ledger(path_or_url):
    from icpurse.host.ledger import open_ledger
    from icpurse.host.programmes import load_programmes
    from icpurse.host.programmes.examples import __file__ as examples

    url = path_or_url if "://" in path_or_url else "sqlite:///%s" % path_or_url
    led = open_ledger(url, data_key=bytes(32), audit_key=bytes(32), clock=_Clock())
    led.people.add_operator("admin", "bench bench bench", "issuer-admin")
    led.people.add_operator("admin2", "bench bench bench", "issuer-admin", by="admin")  # the bootstrap's second admin
    for name, role in (("seller", "seller"), ("finance", "finance")):
        led.people.add_operator(name, "bench bench bench", role, by="admin")
        led.people.approve_operator("admin2", name)  # four eyes
    (prog,) = load_programmes(os.path.join(os.path.dirname(examples), "mofcom-compliant.toml"))
    led.programmes.register_programme("admin", prog)
    led.stock.add_sales_point("admin", "P1", "Bench")
    return led


def _ledger_at(path_or_url):
    """The bench ledger already set up at `path_or_url` (a copy of one `_ledger` made)."""
    from icpurse.host.ledger import open_ledger

    url = path_or_url if "://" in path_or_url else "sqlite:///%s" % path_or_url
    return open_ledger(url, data_key=bytes(32), audit_key=bytes(32), clock=_Clock())


def _journal(root, terminal, domain):
    from icpurse.firmware.journal import Journal
    from icpurse.host.terminals import journal_records as jv

    keys = jv.journal_keys(domain, terminal)
    j = Journal(os.path.join(root, "j%08d" % terminal), keys[domain.current], terminal, domain.current,
                segment_records=1024)
    j.open()
    return j, keys


def ingest_rate(records=2000, batch=None, where=None):
    """(records/s verified + stored, records/s verified only) for one terminal's journal; stored into
    a new ledger at `where` (a SQLite path or a database URL; default: SQLite in a temp folder).
    Verified and stored as the product's collection does it (host/terminals/service.py `collect`):
    `batch` records at a time (default: the product's), each batch verified by `verify_records` and
    stored by `store_journal_records` (one transaction, one audit entry). The verification-only
    figure is `verify_sequence` (MAC and chain) over the whole journal at once."""
    from icpurse.host.terminals import journal_records as jv

    batch = batch or product_batch()
    with tempfile.TemporaryDirectory() as tmp:
        terminal = 40000001
        raws, keys = _journal_raws(tmp, records, terminal)
        start = time.perf_counter()
        jv.verify_sequence(raws, terminal, keys)
        verify_s = time.perf_counter() - start
        led = _ledger(where or os.path.join(tmp, "l.db"))
        led.store.add_terminal("admin", "%08d" % terminal, "Bench", "Bench")
        start = time.perf_counter()
        for i in range(0, len(raws), batch):
            good, problems = jv.verify_records(raws[i:i + batch], terminal, keys)
            assert not problems and len(good) == len(raws[i:i + batch])
            led.store.store_journal_records("%08d" % terminal, good)
        total_s = time.perf_counter() - start
        assert led.store.journal_record_count() == len(raws)
        led.close()
    return len(raws) / total_s, len(raws) / verify_s


def upload_sqlite(readers=16, debits=150):
    from icpurse.hil import load

    with tempfile.TemporaryDirectory(prefix="icpurse-load-") as tmp:
        return load.throughput("sqlite:///%s" % os.path.join(tmp, "ledger.db"), tmp, readers, debits)


def upload_postgresql(readers=16, debits=150):
    """The figures, or a string saying why PostgreSQL was not measured."""
    from icpurse.hil import load, pgcluster

    server = os.environ.get("ICPURSE_BENCH_PG")
    with tempfile.TemporaryDirectory(prefix="icpurse-load-") as tmp:
        try:
            with pgcluster.server(server) as url:
                with pgcluster.database(url) as db:
                    return load.throughput(db, tmp, readers, debits)
        except pgcluster.Unavailable as exc:
            return "skipped: %s" % exc


def _register_cards(led, cards, api=False):
    """`cards` cards received, issued to the sales point, registered, sold, paid and activated.
    `api`: card by card through the ledger API (4 audited transactions a card, ~30-100 ms a card
    here); else the bulk issue (host/ledger/bulk_issue.py), which writes the same rows (a test
    compares every table of the two). Returns their UIDs."""
    from icpurse.host.ledger.bulk_issue import sell_cards

    uids = ["04%06X" % i for i in range(1, cards + 1)]
    numbers = ["5031%08d" % (i + 1) for i in range(cards)]
    led.stock.receive_stock("finance", "CITY", uids)
    led.stock.issue_to_point("finance", uids, "P1")
    if not api:
        sell_cards(led, list(zip(uids, numbers)), "mofcom-compliant", CITY_FACE, finance="finance",
                   seller="seller", activator="finance")
        return uids
    for uid, number in zip(uids, numbers):
        led.cards.register_card("finance", uid, number, "mofcom-compliant", "anonymous", CITY_FACE)
        led.sales.record_sale("seller", number)
        led.sales.confirm_payment("finance", number)
        led.sales.activate(number, "finance")
    return uids


class CityJournals:
    """The journals of a city, day after day: per terminal, a PENDING and a COMMITTED record per debit,
    MAC-chained with the terminal's journal key (host kdf); the cards' states, the terminals' numbers
    and chains carry over from one day to the next."""

    def __init__(self, uids, seed=1):
        from icpurse.hil.load import demo_domain

        self.uids = uids
        self.domain = demo_domain()
        self.rng = random.Random(seed)
        self.state = {u: [2, CITY_FACE] for u in uids}
        self.keys, self.chains = {}, {}
        self.now = 825_000_000

    def day(self, readers, sales):
        """{terminal: [record dicts]}, fen sold. A day spends about a quarter of a card's face value."""
        from icpurse.host import codec
        from icpurse.host.terminals import journal_records as jv
        from icpurse.protocol.crypto import kdf

        kv, rng, uids = self.domain.current, self.rng, self.uids
        per_card = max(1, readers * sales // len(uids))
        top = max(1, CITY_FACE // (8 * per_card))  # a quarter of the face value a day on average
        body = codec.JOURNAL_RECORD_SIZE - codec.MAC_SIZE
        zero = bytes(codec.MAC_SIZE)
        sold, out = 0, {}
        self.now += 86400 - self.now % 86400 + 3600  # the next day
        for _ in range(sales):
            for r in range(readers):
                t = 60000001 + r
                if t not in self.keys:
                    self.keys[t] = jv.journal_keys(self.domain, t)[kv]
                    self.chains[t] = [1, zero]
                recs = out.setdefault(t, [])
                uid = rng.choice(uids)
                st = self.state[uid]
                amount = rng.randint(1, top)
                if st[1] < amount:
                    continue
                st[0] += 1
                st[1] -= amount
                self.now += 1
                sold += amount
                ub = bytes.fromhex(uid)
                tid = t.to_bytes(4, "big")
                number, prev = self.chains[t]
                txn = number
                for state_code in (codec.JR_PENDING, codec.JR_COMMITTED):
                    raw = bytearray(codec.encode_journal_record(
                        number, codec.TXN_DEBIT, state_code, kv, len(ub), ub + bytes(codec.UID_FIELD_SIZE - len(ub)),
                        st[0], amount, st[1], t, txn, self.now, prev, zero))
                    mac = kdf.record_mac(self.keys[t], codec.REC_JOURNAL, tid, kv, bytes(raw[:body]))
                    raw[body:] = mac
                    recs.append({"number": number, "kind": codec.TXN_DEBIT, "state": state_code, "key_version": kv,
                                 "uid": uid, "card_seq": st[0], "amount": amount, "balance_after": st[1],
                                 "txn": txn, "reader_time": self.now, "raw": bytes(raw)})
                    number, prev = number + 1, mac
                self.chains[t] = [number, prev]
        return out, sold


def city_records(readers, sales, uids, seed=1):
    """One city day's journals ({terminal: [record dicts]}, fen sold)."""
    return CityJournals(uids, seed).day(readers, sales)


def _store_day(led, journals, add_terminals):
    from types import SimpleNamespace

    n = 0
    for t, recs in journals.items():  # stored as collected (not timed: the ingest figure is its own)
        if add_terminals:
            led.store.add_terminal("admin", "%08d" % t, "Outlet %d" % t, "City")
        led.store.store_journal_records("%08d" % t, [SimpleNamespace(**rec) for rec in recs])
        n += len(recs)
    return n


def _timed_run(led):
    import gc

    from icpurse.host.reconcile import engine

    gc.collect()
    start = time.perf_counter()
    report = engine.run(led, None)
    return time.perf_counter() - start, report


class _City:
    """A city's bench ledger with the cards registered and sold, the reconciliation of its earlier
    days done, and day 1 collected (not reconciled), built once on SQLite (a file) or PostgreSQL
    (`server`: a server URL; a database), plus day 2's journals; `copy()` gives a fresh copy of it
    for each timed run (SQLite: the file; PostgreSQL: CREATE DATABASE ... TEMPLATE)."""

    def __init__(self, tmp, readers, sales, cards, seed=1, server=None, tag="base"):
        from icpurse.hil import pgcluster

        self.tmp, self.server, self.tag, self._base_cm = tmp, server, tag, None
        self.readers, self.sales, self.cards = readers, sales, cards
        t0 = time.perf_counter()
        if server is None:
            self.base = os.path.join(tmp, "%s.db" % tag)
        else:
            self._base_cm = pgcluster.database(server)
            self.base = self._base_cm.__enter__()
        try:
            t1, t2, t3 = self._build(seed)
        except BaseException:
            self.close()
            raise
        self.timing = {"generate_seconds": round(t3 - t0, 1), "cards_seconds": round(t1 - t0, 1),
                       "journals_seconds": round(t2 - t1, 1), "insert_seconds": round(t3 - t2, 1)}

    def _build(self, seed):
        readers, sales, cards = self.readers, self.sales, self.cards
        led = _ledger(self.base)
        uids = _register_cards(led, cards)
        _timed_run(led)  # the city's earlier days are reconciled: the day's run starts from that checkpoint
        t1 = time.perf_counter()
        city = CityJournals(uids, seed)
        day1, self.sold1 = city.day(readers, sales)
        self.day2, self.sold2 = city.day(readers, sales)
        t2 = time.perf_counter()
        self.records_per_day = _store_day(led, day1, True)
        del day1
        led.close()
        return t1, t2, time.perf_counter()

    @contextlib.contextmanager
    def copy(self, i):
        """A fresh copy of the base ledger (path or URL) for run `i` (a PostgreSQL copy is dropped after)."""
        import shutil

        from icpurse.hil import pgcluster

        if self.server is None:
            where = os.path.join(self.tmp, "%s-run%d.db" % (self.tag, i))
            shutil.copyfile(self.base, where)
            yield where
            return
        with pgcluster.database(self.server, template=self.base) as where:
            yield where

    def day1(self, i):
        """Reconcile day 1 on a fresh copy: (seconds, debits booked, to the fen)."""
        with self.copy(i) as where:
            led = _ledger_at(where)
            try:
                seconds, rep = _timed_run(led)
            finally:
                led.close()
        ok = rep.totals["all_journal_debit_fen"] == self.sold1 == rep.totals["redeemed_fen"] and not rep.findings
        return seconds, rep.booked["redemptions"], ok

    def close(self):
        if self._base_cm is not None:
            self._base_cm, cm = None, self._base_cm
            cm.__exit__(None, None, None)


def city_day(readers=100, sales=500, cards=2000, seed=1, server=None, repeats=2):
    """Reconcile simulated city days: day 1, then day 2 (the same size, on top of day 1), then once
    more with nothing new; on SQLite, or on PostgreSQL when `server` is a server URL. The ledger with
    day 1 collected is built once and copied for each of `repeats` runs (SQLite: the file;
    PostgreSQL: CREATE DATABASE ... TEMPLATE); only `engine.run` is timed. Figures: the worst of
    the runs, and `second_day_growth` = time per debit of day 2 / of day 1 (the worst run's ratio;
    for information: `city_day_growth` compares two city sizes, `growth` below)."""
    with tempfile.TemporaryDirectory(prefix="icpurse-city-") as tmp:
        city = _City(tmp, readers, sales, cards, seed, server)
        try:
            runs = []
            for i in range(repeats):
                with city.copy(i) as where:
                    led = _ledger_at(where)
                    first, rep1 = _timed_run(led)
                    _store_day(led, city.day2, False)
                    second, rep2 = _timed_run(led)
                    again, rep3 = _timed_run(led)
                    sold1, sold2 = city.sold1, city.sold2
                    ok = (rep1.totals["all_journal_debit_fen"] == sold1 and rep1.totals["redeemed_fen"] == sold1
                          and rep2.totals["redeemed_fen"] == sold1 + sold2 and rep3.booked["redemptions"] == 0
                          and not rep2.findings and rep2.totals["audit_log"] == "verifies")
                    runs.append({"day1_seconds": round(first, 2), "day2_seconds": round(second, 2),
                                 "rerun_seconds": round(again, 2), "to_the_fen": ok,
                                 "debits": [rep1.booked["redemptions"], rep2.booked["redemptions"]]})
                    totals = dict(rep2.totals, findings=len(rep2.findings), expected_fen=sold1 + sold2)
                    led.close()
        finally:
            city.close()
    worst = {k: max(r[k] for r in runs) for k in ("day1_seconds", "day2_seconds", "rerun_seconds")}
    d1, d2 = runs[0]["debits"]
    second_day = max((r["day2_seconds"] / d2) / (r["day1_seconds"] / d1) for r in runs)
    return dict({"readers": readers, "sales_per_reader": sales, "cards": cards, "records_per_day": city.records_per_day},
                **city.timing, reconcile_seconds=worst["day1_seconds"], day2_seconds=worst["day2_seconds"],
                rerun_seconds=worst["rerun_seconds"], second_day_growth=round(second_day, 3),
                to_the_fen=all(r["to_the_fen"] for r in runs), runs=runs, totals=totals)


GROWTH_SIZES = ((50, 500), (200, 500))


def cards_for(readers, sales):
    """The city day's cards: 25 sales per card (at least 200)."""
    return max(200, readers * sales // 25)


def city_day_growth(small=GROWTH_SIZES[0], large=GROWTH_SIZES[1], seed=1, server=None, repeats=2):
    """`office.city_day_growth` as the issue defines it: time per debit reconciling a city day of
    `large` (readers x sales) / time per debit reconciling one of `small`, each day 1 on its own
    ledger (cards registered and earlier days reconciled; 25 sales per card at both sizes), only
    `engine.run` timed. Each of `repeats` rounds reconciles a fresh copy of both, one right after
    the other (so a pair sees the same machine state); the figure is the round whose ratio is worst.
    {"growth", "ratios", "small": {...}, "large": {...}} with each size's per-run seconds."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="icpurse-growth-") as tmp:
        cities = {}
        try:
            for name, (r, s) in (("small", small), ("large", large)):
                cities[name] = _City(tmp, r, s, cards_for(r, s), seed, server, tag=name)
            runs = {name: [] for name in cities}
            for i in range(repeats):
                for name, city in cities.items():
                    runs[name].append(city.day1(i))
        finally:
            for city in cities.values():
                city.close()
    per_debit = {name: [sec / debits for sec, debits, _ in rs] for name, rs in runs.items()}
    ratios = [large_ / small_ for small_, large_ in zip(per_debit["small"], per_debit["large"])]
    for name, (r, s) in (("small", small), ("large", large)):
        out[name] = {"readers": r, "sales_per_reader": s, "cards": cities[name].cards,
                     "seconds": [round(sec, 3) for sec, _, _ in runs[name]], "debits": runs[name][0][1],
                     "us_per_debit": [round(x * 1e6, 1) for x in per_debit[name]]}
    out["ratios"] = [round(x, 3) for x in ratios]
    out["growth"] = round(max(ratios), 3)
    out["to_the_fen"] = all(ok for rs in runs.values() for _, _, ok in rs)
    return out


def city_day_growth_postgresql(small=GROWTH_SIZES[0], large=GROWTH_SIZES[1], seed=1, repeats=2):
    """`city_day_growth` on PostgreSQL ($ICPURSE_BENCH_PG or a throwaway cluster, fsync on), or a
    string saying why it was not measured."""
    from icpurse.hil import pgcluster

    try:
        with pgcluster.server(os.environ.get("ICPURSE_BENCH_PG")) as server:
            return city_day_growth(small, large, seed, server=server, repeats=repeats)
    except pgcluster.Unavailable as exc:
        return "skipped: %s" % exc


def city_day_postgresql(readers=100, sales=500, cards=2000, seed=1, repeats=2):
    """`city_day` on PostgreSQL ($ICPURSE_BENCH_PG or a throwaway cluster, fsync on), or a string
    saying why it was not measured."""
    from icpurse.hil import pgcluster

    try:
        with pgcluster.server(os.environ.get("ICPURSE_BENCH_PG")) as server:
            return city_day(readers, sales, cards, seed, server=server, repeats=repeats)
    except pgcluster.Unavailable as exc:
        return "skipped: %s" % exc


def parse_city(text):
    """'1000x500' -> (1000, 500)."""
    r, _, s = text.lower().partition("x")
    return int(r), int(s)


def personalise_modelled(size="1k"):
    """Personalising one blank card on the sim reader (`--reader sim`: the firmware's PN532 driver on
    the simulated PN532, at the baud the reader runs), in modelled time (virtual clock): the
    personalisation itself (host/issuance/personalise.py: probe, write, read back with key B) and
    the whole workstation step (`Workstation.personalise_card`: the journal, the same, and the
    read-back as a store reader sees the card). {"personalise_ms", "workstation_ms", breakdowns}."""
    from icpurse.hil.sim import factory
    from icpurse.hil.simreader import SimReader
    from icpurse.host.issuance.personalise import personalise
    from icpurse.host.issuance.service import IssueOrder, Workstation
    from icpurse.keys import demo, exports

    domain = demo.demo_domain()
    keysets = exports.workstation_keyset(domain).to_keysets()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        reader = SimReader(os.path.join(tmp, "cards"), blank_uid=b"\x5e\x11\x00\x01")
        tag = reader.wait_for_card(1)
        from icpurse.firmware.keyring import KeyRing

        keys = KeyRing(keysets).for_card(bytes(tag.uid), domain.current)
        clock = reader.vclock
        t0, c0 = clock.now_us, dict(clock.counters)
        personalise(tag, keys, factory.identity_fields(1, layout=2), now=5)  # layout v2, as the workstation
        out["personalise_ms"] = round((clock.now_us - t0) / 1000, 1)
        out["personalise"] = {k: clock.counters[k] - c0[k] for k in c0}
        out["baud"] = reader.baud

        led = _ledger(os.path.join(tmp, "l.db"))
        reader = SimReader(os.path.join(tmp, "cards2"), blank_uid=b"\x5e\x11\x00\x02")
        tag = reader.wait_for_card(1)
        led.stock.receive_stock("finance", "BENCH", [bytes(tag.uid).hex().upper()])
        station = Workstation(led, keysets, domain.issuer, "finance")
        clock = reader.vclock
        t0, c0 = clock.now_us, dict(clock.counters)
        result = station.personalise_card(tag, IssueOrder("mofcom-compliant", "anonymous", CITY_FACE))
        assert result.ok, result
        out["workstation_ms"] = round((clock.now_us - t0) / 1000, 1)
        out["workstation"] = {k: clock.counters[k] - c0[k] for k in c0}
        led.close()
    return out
