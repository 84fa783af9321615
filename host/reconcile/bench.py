"""Back-office throughput building blocks for `make bench` (hil/bench_office.py): raw AES-CMAC of
`cryptography`, journal verification and verification + ingest (records/s).

Journals are made by the firmware's own Journal class (real MACs and chains); only the verification
and storage are timed. Wall-clock figures on this machine. The city day lives in hil/bench_office.py.
"""
import datetime as dt
import logging
import os
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
    from icpurse.host import codec
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
