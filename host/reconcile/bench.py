"""Back-office throughput (for `make bench`): raw AES-CMAC of `cryptography`, journal verification +
ingest (records/s), and reconciling a simulated city day on SQLite.

    python -m icpurse.host.reconcile.bench [--records N] [--readers R --sales S --cards C] [--json PATH]

Journals are made by the firmware's own Journal class (real MACs and chains); only the verification,
storage and reconciliation are timed. Wall-clock figures on this machine.
"""
import argparse
import datetime as dt
import json
import logging
import os
import random
import tempfile
import time


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


def _ledger(path):
    from icpurse.host.ledger import open_ledger
    from icpurse.host.programmes import load_programmes
    from icpurse.host.programmes.examples import __file__ as examples

    led = open_ledger("sqlite:///%s" % path, data_key=bytes(32), clock=_Clock())
    led.add_operator("admin", "bench bench bench", "issuer-admin")
    for name, role in (("seller", "seller"), ("finance", "finance")):
        led.add_operator(name, "bench bench bench", role, by="admin")
    (prog,) = load_programmes(os.path.join(os.path.dirname(examples), "mofcom-compliant.toml"))
    led.register_programme("admin", prog)
    led.add_sales_point("admin", "P1", "Bench")
    return led


def _journal(root, terminal, domain):
    from icpurse.firmware.journal import Journal
    from icpurse.host.terminals import journal as jv

    keys = jv.journal_keys(domain, terminal)
    j = Journal(os.path.join(root, "j%08d" % terminal), keys[domain.current], terminal, domain.current,
                segment_records=1024)
    j.open()
    return j, keys


def _demo_domain_quietly(demo):
    """The demo keys without their (deserved) warning in a benchmark's output; the logger's level
    is restored so the warning still shows everywhere else."""
    log = logging.getLogger("icpurse.keys.demo")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return demo.demo_domain(1)
    finally:
        log.setLevel(level)


def ingest_rate(records=2000, batch=500):
    """(records/s verified + stored, records/s verified only) for one terminal's journal."""
    from icpurse.firmware import codec
    from icpurse.host.terminals import journal as jv
    from icpurse.keys import demo

    domain = _demo_domain_quietly(demo)
    with tempfile.TemporaryDirectory() as tmp:
        terminal = 40000001
        j, keys = _journal(tmp, terminal, domain)
        uid = bytes.fromhex("04A0B0C0")
        for i in range(records // 2):
            p = j.begin(codec.TXN_DEBIT, uid, i + 3, 1, 10 ** 6 - i, 825_000_000 + i)
            j.commit(p, 825_000_000 + i)
        raws = [bytes(r) for r in j.records(raw=True)]
        start = time.perf_counter()
        jv.verify_sequence(raws, terminal, keys)
        verify_s = time.perf_counter() - start
        led = _ledger(os.path.join(tmp, "l.db"))
        led.add_terminal("admin", "%08d" % terminal, "Bench", "Bench")
        start = time.perf_counter()
        prev, mac = 0, jv.ZERO_MAC
        for i in range(0, len(raws), batch):
            good, problems = jv.verify_sequence(raws[i:i + batch], terminal, keys, prev, mac)
            assert not problems and len(good) == len(raws[i:i + batch])
            led.store_journal_records("%08d" % terminal, good)
            prev, mac = good[-1].number, good[-1].mac
        total_s = time.perf_counter() - start
        led.close()
    return len(raws) / total_s, len(raws) / verify_s


def city_day(readers=20, sales=100, cards=200, seed=1):
    """Reconcile `readers` x `sales` debits over `cards` cards on SQLite: (seconds, totals)."""
    from icpurse.firmware import codec
    from icpurse.host.reconcile import engine
    from icpurse.host.terminals import journal as jv
    from icpurse.keys import demo

    domain = _demo_domain_quietly(demo)
    rng = random.Random(seed)
    face = 100000
    with tempfile.TemporaryDirectory() as tmp:
        led = _ledger(os.path.join(tmp, "l.db"))
        uids = ["04%06X" % i for i in range(1, cards + 1)]
        led.receive_stock("finance", "BENCH", uids)
        led.issue_to_point("finance", uids, "P1")
        state = {}
        for i, uid in enumerate(uids):
            number = "5031%08d" % (i + 1)
            led.register_card("finance", uid, number, "mofcom-compliant", "anonymous", face)
            led.record_sale("seller", number)
            led.confirm_payment("finance", number)
            led.activate(number, "finance")
            state[uid] = [2, face]  # seq, balance after the issuer's load
        journals = {}
        for r in range(readers):
            t = 41000001 + r
            led.add_terminal("admin", "%08d" % t, "Outlet %d" % r, "Bench")
            journals[t] = _journal(tmp, t, domain)
        now = 825_000_000
        sold = 0
        for s in range(sales):
            for t, (j, _) in journals.items():
                uid = rng.choice(uids)
                amount = rng.randint(1, max(1, face // (2 * sales * readers // cards + 1)))
                st = state[uid]
                if st[1] < amount:
                    continue
                st[0] += 1
                st[1] -= amount
                now += 1
                p = j.begin(codec.TXN_DEBIT, bytes.fromhex(uid), st[0], amount, st[1], now)
                j.commit(p, now)
                sold += amount
        for t, (j, keys) in journals.items():
            raws = [bytes(x) for x in j.records(raw=True)]
            good, problems = jv.verify_sequence(raws, t, keys)
            assert not problems
            for i in range(0, len(good), 1000):
                led.store_journal_records("%08d" % t, good[i:i + 1000])
        start = time.perf_counter()
        report = engine.run(led, None)
        seconds = time.perf_counter() - start
        totals = dict(report.totals, findings=len(report.findings), expected_fen=sold)
        led.close()
    return seconds, totals


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=4000)
    ap.add_argument("--readers", type=int, default=20)
    ap.add_argument("--sales", type=int, default=100)
    ap.add_argument("--cards", type=int, default=200)
    ap.add_argument("--json", dest="json_path")
    a = ap.parse_args(argv)
    out = {"cmac_per_s": round(cmac_rate())}
    ingest, verify = ingest_rate(a.records)
    out.update(journal_ingest_per_s=round(ingest), journal_verify_per_s=round(verify))
    seconds, totals = city_day(a.readers, a.sales, a.cards)
    out.update(city_day={"readers": a.readers, "sales_per_reader": a.sales, "cards": a.cards,
                         "seconds": round(seconds, 2), "totals": totals})
    print("AES-CMAC (cryptography): %d/s" % out["cmac_per_s"])
    print("journal verification: %d records/s; verification + ledger ingest (SQLite): %d records/s" % (
        out["journal_verify_per_s"], out["journal_ingest_per_s"]))
    print("city day %d readers x %d sales (%d cards): reconciled in %.2f s, %d debits, %d fen, %d findings" % (
        a.readers, a.sales, a.cards, seconds, totals["journal_debits"], totals["journal_debit_fen"],
        totals["findings"]))
    if a.json_path:
        with open(a.json_path, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
