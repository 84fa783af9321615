"""Load: many virtual store readers upload their journals into ONE ledger at the same time.

Shared by the load test (tests/load/) and `make bench`. Each reader is the real firmware on the virtual
rig (hil/sim/rig.VirtualReader), provisioned through the terminal service; its journal is filled with
debit transactions (PENDING + COMMITTED records, MAC-chained) written by the firmware's own Journal
with the reader's journal key — no card taps, so thousands of records take seconds. Uploads run in
threads, each thread with its own `open_ledger` on the same database (one workstation each), through
`service.collect` (fetch -> verify MAC/chain -> store -> ack), as in a store's back office.
"""
import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from icpurse.host import codec
from icpurse.protocol import cardtime

DATA_KEY = bytes(range(32))
FIRST_TERMINAL = 52000001
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


class Clock:
    """A fixed ledger clock (the figures do not depend on it)."""

    def __init__(self, start=START):
        self.t = start

    def __call__(self):
        return self.t


def demo_domain():
    """The demo key domain without its (deserved) warning in a benchmark's output."""
    from icpurse.keys import demo

    log = logging.getLogger("icpurse.keys.demo")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return demo.demo_domain(1)
    finally:
        log.setLevel(level)


class LinkDropped(Exception):
    """The USB cable pulled in the middle of an upload (raised by DroppingClient)."""


def _client_class():
    from icpurse.hil.rigclient import RigClient

    class SharedClient(RigClient):
        """RigClient whose requests are serialised: two uploads of one reader share its link, as two
        programs on one serial port would (one request at a time)."""

        def __init__(self, vreader, lock, drop_at=None):
            super().__init__(vreader)
            self.lock = lock
            self.drop_at = drop_at  # (command, n): the n-th such request never gets an answer
            self.seen = {}

        def request(self, command, payload=b"", timeout=None):
            n = self.seen[command] = self.seen.get(command, 0) + 1
            if self.drop_at == (command, n):
                raise LinkDropped("link dropped at request %d of command 0x%02x" % (n, command))
            with self.lock:
                return super().request(command, payload, timeout)

    return SharedClient


@dataclass
class Fleet:
    url: str
    domain: object
    readers: dict = field(default_factory=dict)  # terminal number (str) -> VirtualReader
    locks: dict = field(default_factory=dict)
    written: dict = field(default_factory=dict)  # terminal number -> its journal's raw records as written

    def keys(self, number):
        from icpurse.host.terminals import journal_records as jv

        return jv.journal_keys(self.domain, int(number))

    def client(self, number, drop_at=None):
        return _client_class()(self.readers[number], self.locks[number], drop_at)

    def record_count(self):
        return sum(vr.reader.journal.next_number - 1 for vr in self.readers.values())


def open_ledger(url):
    from icpurse.host.ledger import open_ledger as _open

    from icpurse.keys import backoffice

    return _open(url, data_key=DATA_KEY, audit_key=backoffice.audit_key(demo_domain()).material, clock=Clock())


def build_fleet(url, root, readers=16, debits=150, seed=1):
    """`readers` provisioned virtual readers under `root`, each with `debits` debit transactions
    (2 records each) in its journal, registered as terminals in the (new) ledger at `url`."""
    from icpurse.hil.sim.rig import VirtualReader
    from icpurse.host.terminals import service

    domain = demo_domain()
    fleet = Fleet(url, domain)
    led = open_ledger(url)
    try:
        led.people.add_operator("admin", "load load load", "issuer-admin")
        Client = _client_class()
        for r in range(readers):
            number = "%08d" % (FIRST_TERMINAL + r)
            path = os.path.join(root, "reader-%s" % number)
            os.makedirs(path, exist_ok=True)
            vr = VirtualReader(path)
            vr.install_transport_key(service.transport_key(led, domain, number))  # the lab ceremony
            lock = threading.RLock()  # re-entered: a signed request reads INFO first
            service.provision(led, Client(vr, lock), domain, "admin", number, outlet="Outlet %d" % r,
                              merchant="Load")
            fleet.readers[number], fleet.locks[number] = vr, lock
            _fill(vr.reader.journal, r, debits, seed)
            # kept now: once acknowledged, the reader frees its records
            fleet.written[number] = [bytes(x) for x in vr.reader.journal.records(raw=True)]
    finally:
        led.close()
    return fleet


def _fill(journal, r, debits, seed):
    """Debits of 40 cards with consistent counters and balances (per reader)."""
    state = {}
    now = 825_000_000 + cardtime.DAY * r  # card seconds (2026-02-21 14:40 UTC), a day later per reader
    for i in range(debits):
        uid = bytes([0x04, 0xB0 + (r & 0x0F), (seed + i) % 40, r & 0xFF])
        seq, balance = state.get(uid, (2, 100000))
        amount = 1 + (i * 37 + r) % 500
        state[uid] = (seq + 1, balance - amount)
        now += 7
        p = journal.begin(codec.TXN_DEBIT, uid, seq + 1, amount, balance - amount, now)
        journal.commit(p, now + 1)


@dataclass
class Job:
    """One upload: reader `number`; `drop_at` = (link command, n) where the link is cut on the first
    attempt (the upload is then retried, as an operator would)."""

    number: str
    drop_at: tuple = None


@dataclass
class Outcome:
    seconds: float = 0.0
    stored: int = 0  # by completed uploads (an upload cut mid-way loses its report, not its records)
    duplicates: int = 0
    retries: int = 0
    problems: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # exceptions that escaped an upload (must stay empty)


def upload(fleet, jobs, max_attempts=3):
    """Run every job in its own thread at once, each with its own ledger; an Outcome."""
    from icpurse.host.terminals import service

    out = Outcome()
    lock = threading.Lock()
    go = threading.Barrier(len(jobs))

    def work(job):
        led = None
        try:
            led = open_ledger(fleet.url)
            keys = fleet.keys(job.number)
            go.wait()
            for attempt in range(max_attempts):
                client = fleet.client(job.number, job.drop_at if attempt == 0 else None)
                try:
                    rep = service.collect(led, client, keys, job.number, domain=fleet.domain)
                except LinkDropped:
                    with lock:
                        out.retries += 1
                    continue
                with lock:
                    out.stored += rep.stored
                    out.duplicates += rep.duplicates
                    out.problems += rep.problems
                return
            raise RuntimeError("upload of %s not done after %d attempts" % (job.number, max_attempts))
        except Exception as exc:  # collected and reported: nothing may escape unseen
            with lock:
                out.errors.append((job.number, repr(exc)))
        finally:
            if led is not None:
                led.close()

    threads = [threading.Thread(target=work, args=(j,), name="upload-%s" % j.number) for j in jobs]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.seconds = time.perf_counter() - start
    return out


def standard_jobs(fleet):
    """Every reader once; the first reader a second time at the same moment (two workstations
    collecting one reader); the second reader's link cut at its 3rd fetch (inside its first stored
    batch: nothing of it stored), the third reader's at its 1st acknowledgement (a stored batch
    committed, its ACK lost) — both retried."""
    numbers = sorted(fleet.readers)
    jobs = [Job(n) for n in numbers]
    jobs.append(Job(numbers[0]))
    if len(numbers) > 1:
        jobs[1].drop_at = (codec.LINK_CMD_FETCH_JOURNAL, 3)
    if len(numbers) > 2:
        jobs[2].drop_at = (codec.LINK_CMD_ACK_JOURNAL, 1)
    return jobs


def throughput(url, root, readers=16, debits=150):
    """Concurrent upload figures for `make bench`: build a fleet at `url`, upload it all at once."""
    t0 = time.perf_counter()
    fleet = build_fleet(url, root, readers, debits)
    setup = time.perf_counter() - t0
    out = upload(fleet, standard_jobs(fleet))
    records = fleet.record_count()
    stored = stored_count(url)
    if out.errors or out.problems or stored != records:
        raise RuntimeError("concurrent upload lost or broke records: %d of %d stored, %r" % (stored, records, out))
    return {"readers": readers, "records": records, "seconds": round(out.seconds, 3),
            "records_per_s": round(records / out.seconds), "setup_seconds": round(setup, 2),
            "retries": out.retries, "duplicates_skipped": out.duplicates}


def stored_count(url):
    """Journal records in the ledger, counted by the database."""
    led = open_ledger(url)
    try:
        return led.store.journal_record_count()
    finally:
        led.close()
