"""Terminals: provisioning, sign-in with the versioned blacklist, journal collection (verified,
idempotent, resumable; gaps, number reuse and tampering reported) and day close."""
import os

import pytest

from icpurse.firmware import codec, kdf
from icpurse.firmware.journal import Journal
from icpurse.hil.rigclient import RigClient
from icpurse.host.readers.serial import LinkTimeout, ReaderLinkError
from icpurse.host.terminals import journal_records as jv
from icpurse.host.terminals import service
from icpurse.protocol import cardtime
from support import store as sw

A, B = "31000001", "31000002"


def test_provision_binds_terminal_keys_clock_and_store_settings(world):
    vr, client = world.reader(A, outlet="Shop 1", merchant="Acme", fixed_price=350)
    info = client.info()
    assert info["terminal"] == 31000001 and info["key_version"] == 1
    assert info["mode"] == codec.MODE_FIXED_PRICE and info["fixed_price"] == 350
    assert info["time"] == cardtime.seconds(sw.START)
    assert vr.reader.config["transparent"] == 0 and vr.reader.config["issuer"] == sw.DOMAIN.issuer
    t = world.ledger.store.terminal(A)
    assert (t.outlet, t.merchant, t.status, t.fixed_price) == ("Shop 1", "Acme", "enabled", 350)
    # the journal key the reader holds is the terminal's own: its records verify with the host's key
    assert vr.reader.journal_keys[1] == kdf.journal_key(sw.DOMAIN.version(1)["journal"].material, 31000001, 1)
    entry = world.ledger.audit.audit_entries(action="terminal.provision")[-1]
    assert entry.terminal_number == A and "kcvs" in entry.details and vr.reader.journal_keys[1].hex() not in entry.details


def test_provision_needs_outlet_for_a_new_terminal(world):
    vr = sw.VirtualReader(str(world.tmp / "r"))
    with pytest.raises(service.TerminalError):
        service.provision(world.ledger, RigClient(vr), sw.DOMAIN, "admin", A)


def test_sign_in_downloads_the_current_blacklist_version(world):
    n, _ = world.issue()
    world.reader(A)
    out = world.sign_in(A)
    assert out["blacklist_version"] == 0 and out["batch"] == 1
    assert world.tap(A, n, 100)["balance"] == 49900
    world.ledger.blacklist.blacklist_add("auditor", n, "reported stolen")
    # not yet at the reader: it still sells until its next sign-in
    assert world.tap(A, n, 100)["balance"] == 49800
    out = world.sign_in(A)
    assert out["blacklist_version"] == 1 and out["batch"] == 2
    with pytest.raises(ReaderLinkError) as e:
        world.tap(A, n, 100)
    assert e.value.refusal == codec.R_BLACKLISTED
    signs = world.ledger.store.sign_ins(A)
    assert [s.blacklist_version for s in signs] == [0, 1]
    assert signs[1].first_number == 5  # two debits = four records before the second day opened


def test_a_disabled_terminal_may_not_sign_in(world):
    world.reader(A)
    world.ledger.store.set_terminal_status("admin", A, "disabled")
    with pytest.raises(service.TerminalError):
        world.sign_in(A)


def test_sign_in_refuses_a_reader_bound_to_another_terminal(world):
    world.reader(A)
    world.reader(B)
    with pytest.raises(service.TerminalError):
        service.sign_in(world.ledger, world.readers[B][1], "clerk", A, sw.DOMAIN)


def _day(world, taps=3, amount=100):
    n, _ = world.issue()
    world.reader(A)
    world.sign_in(A)
    for _ in range(taps):
        world.tap(A, n, amount)
    return n


def test_host_verification_matches_the_firmware_journal(world):
    _day(world, taps=2)
    vr, client = world.readers[A]
    raws = client.fetch_journal(1)
    assert len(raws) == 4
    keys = world.keys(A)
    assert all(jv.mac_ok(r, 31000001, keys) for r in raws)
    assert not jv.mac_ok(raws[0], 31000002, keys)  # bound to the terminal number
    # the reader's own Journal class accepts exactly these bytes after a reboot
    j = Journal(vr.root + "/journal", keys[1], 31000001, 1)
    j.open()
    assert [bytes(r) for r in j.records(raw=True)] == [bytes(r) for r in raws]
    good, problems = jv.verify_sequence(raws, 31000001, keys)
    assert [r.number for r in good] == [1, 2, 3, 4] and problems == []
    assert [(r.state, r.amount) for r in good] == [(codec.JR_PENDING, 100), (codec.JR_COMMITTED, 100)] * 2


def test_verify_sequence_reports_gap_chain_and_reuse(world):
    _day(world, taps=3)
    raws = world.readers[A][1].fetch_journal(1)
    keys = world.keys(A)
    good, problems = jv.verify_sequence(raws[:2] + raws[3:], 31000001, keys)
    assert [p.kind for p in problems] == ["gap"] and problems[0].number == 3
    assert [r.number for r in good] == [1, 2, 4, 5, 6]
    good, problems = jv.verify_sequence(raws[3:], 31000001, keys, prev_number=3, prev_mac=bytes(8))
    assert [p.kind for p in problems] == ["chain"] and good == []
    good, problems = jv.verify_sequence(raws[:3] + raws[1:2], 31000001, keys)
    assert [p.kind for p in problems] == ["number"] and len(good) == 3


def test_collect_is_idempotent(world):
    _day(world)
    first = world.collect(A)
    assert (first.stored, first.acked, first.problems) == (6, 6, [])
    again = world.collect(A)
    assert (again.stored, again.duplicates, again.problems) == (0, 0, [])
    recs = world.ledger.store.journal_records(A)
    assert [r.number for r in recs] == [1, 2, 3, 4, 5, 6]
    # offering the same records again stores nothing; a different one under a stored number is refused
    same = [jv.decode(r.raw) for r in recs]
    res = world.ledger.store.store_journal_records(A, same)
    assert (res.stored, res.duplicates, res.conflicts) == (0, 6, ())
    other = same[2]
    forged = other._replace(raw=other.raw[:-1] + bytes([other.raw[-1] ^ 1]))
    res = world.ledger.store.store_journal_records(A, [forged])
    assert res.stored == 0 and [c[0] for c in res.conflicts] == [3]
    assert world.ledger.store.journal_records(A)[2].raw == other.raw


class DroppingClient(RigClient):
    """The USB link drops once, at the chosen call."""

    def __init__(self, vreader, fail_at):
        RigClient.__init__(self, vreader)
        self.fail_at = dict(fail_at)  # command name -> call number that fails

    def _maybe_fail(self, name):
        left = self.fail_at.get(name)
        if left is not None:
            if left <= 1:
                del self.fail_at[name]
                raise LinkTimeout("link dropped (%s)" % name)
            self.fail_at[name] = left - 1

    def fetch_journal(self, first=1, maximum=0):
        self._maybe_fail("fetch")
        return RigClient.fetch_journal(self, first, maximum)

    def ack_journal(self, up_to):
        self._maybe_fail("ack")
        return RigClient.ack_journal(self, up_to)


@pytest.mark.parametrize("fail_at", [{"ack": 1}, {"ack": 2}, {"fetch": 2}, {"fetch": 3}])
def test_collection_survives_a_dropped_link_without_loss_or_duplicates(world, fail_at):
    _day(world, taps=5)  # 10 records, fetched 4 at a time
    vr, _ = world.readers[A]
    flaky = DroppingClient(vr, fail_at)
    with pytest.raises(LinkTimeout):
        service.collect(world.ledger, flaky, world.keys(A), A, batch=4, domain=sw.DOMAIN)
    partial = [r.number for r in world.ledger.store.journal_records(A)]
    assert partial == list(range(1, len(partial) + 1))
    rep = service.collect(world.ledger, flaky, world.keys(A), A, batch=4, domain=sw.DOMAIN)
    assert rep.problems == [] and rep.last_number == 10
    assert [r.number for r in world.ledger.store.journal_records(A)] == list(range(1, 11))
    assert flaky.info()["journal_acked"] == 10
    assert rep.stored + len(partial) == 10


def test_a_record_edited_in_the_readers_flash_is_detected_and_not_acknowledged(world):
    _day(world, taps=3)
    vr, _ = world.readers[A]
    seg = os.path.join(vr.root, "journal", "0000000001.jr")
    data = bytearray(open(seg, "rb").read())
    size = codec.JOURNAL_RECORD_SIZE
    data[3 * size + size // 2] ^= 0x01  # one bit of record 4
    open(seg, "wb").write(bytes(data))
    rep = world.collect(A)
    assert [(p.kind, p.number) for p in rep.problems] == [("mac", 4)]
    assert [r.number for r in world.ledger.store.journal_records(A)] == [1, 2, 3]
    assert world.readers[A][1].info()["journal_acked"] == 3
    (exc,) = world.ledger.store.exceptions(kind="journal_tampered")
    assert exc.terminal == A and exc.evidence["number"] == 4 and exc.evidence["raw"] == bytes(data[3 * size:4 * size]).hex()


def test_a_reset_reader_journal_is_number_reuse(world):
    n = _day(world, taps=2)
    world.collect(A)
    # the reader is wiped and re-provisioned: its journal starts again at 1 with other transactions
    world.reader(A, vr=sw.VirtualReader(str(world.tmp / "wiped")))  # the lab ceremony again, then provisioning
    world.sign_in(A)
    world.tap(A, n, 300)
    rep = world.collect(A)
    # the reader reported record 4 at the last collection: fewer now is truncation, and the new
    # records under old numbers are number reuse
    assert rep.problems and {p.kind for p in rep.problems} == {"number", "truncated"}
    assert world.ledger.store.exceptions(kind="journal_number_reuse")
    assert world.ledger.store.exceptions(kind="journal_truncated")[0].terminal == A
    assert len(world.ledger.store.journal_records(A)) == 4  # nothing overwritten


def test_day_close_totals_match_the_collected_journal(world):
    _day(world, taps=4, amount=125)
    batch, rep = service.day_close(world.ledger, world.readers[A][1], world.keys(A), "clerk", A)
    assert (batch.reader_count, batch.reader_sum) == (4, 500)
    assert (batch.journal_count, batch.journal_sum) == (4, 500)
    assert (batch.first_number, batch.last_number) == (1, 8)
    assert batch.balanced and rep.problems == []
    assert world.ledger.store.exceptions() == []
    assert world.readers[A][1].info()["day_open"] == 0


def test_day_close_difference_goes_on_the_exception_list(world):
    _day(world, taps=2, amount=100)
    vr, _ = world.readers[A]

    class Misreporting(RigClient):
        def day_close(self):
            out = RigClient.day_close(self)
            out["debit_sum"] += 1  # one fen the journal does not hold
            return out

    batch, _ = service.day_close(world.ledger, Misreporting(vr), world.keys(A), "clerk", A, domain=sw.DOMAIN)
    assert not batch.balanced
    (exc,) = world.ledger.store.exceptions(kind="day_close_difference")
    assert exc.amount == 1 and exc.terminal == A
