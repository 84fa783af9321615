"""The role-scoped key sets (keys/exports.py) against the reader's authenticated link: a reader
export provisions its own terminal only, the collector export signs in, collects and closes the day
of every terminal, a workstation export signs nothing for a reader. Real firmware on the simulator."""
import pytest

from icpurse.hil.rigclient import RigClient
from icpurse.hil.sim.rig import VirtualReader
from icpurse.host import codec
from icpurse.host.readers.serial import ReaderLinkError
from icpurse.host.terminals import journal_records as jv
from icpurse.host.terminals import keys as tkeys
from icpurse.host.terminals import service
from icpurse.keys import exports
from icpurse.protocol.crypto import kdf
from support import store as sw

A, B = "31000001", "31000002"


def _blank(world, number):
    return VirtualReader(str(world.tmp / ("blank-%s" % number)))


def test_a_reader_export_provisions_its_own_terminal_and_the_collector_runs_its_day(world):
    reader_a = exports.reader_keyset(sw.DOMAIN, int(A))
    collector = exports.collector_keyset(sw.DOMAIN)
    vr = _blank(world, A)
    vr.install_transport_key(service.transport_key(world.ledger, reader_a, A))  # the lab ceremony
    client = RigClient(vr)
    service.provision(world.ledger, client, reader_a, "admin", A, outlet="O", merchant="M")
    info = client.info()
    assert (info["terminal"], info["key_version"]) == (int(A), 1)
    world.readers[A] = (vr, client)

    # the back office's collector key set, on a fresh link client (nothing carried over)
    office = RigClient(vr)
    out = service.sign_in(world.ledger, office, "clerk", A, collector)
    assert out["terminal"] == A
    number, _ = world.issue()
    world.readers[A] = (vr, office)
    world.tap(A, number, 300)
    rep = service.collect(world.ledger, office, jv.journal_keys(collector, int(A)), A, domain=collector)
    assert rep.stored >= 1 and rep.acked == rep.last_number >= 1 and not rep.problems
    assert client.info()["journal_acked"] == rep.last_number  # the acknowledgement was taken


def test_a_reader_export_cannot_provision_or_sign_for_another_terminal(world):
    reader_a = exports.reader_keyset(sw.DOMAIN, int(A))
    with pytest.raises(tkeys.TerminalKeyError, match="terminal 31000001, not of 31000002"):
        service.transport_key(world.ledger, reader_a, B)
    vr = _blank(world, B)
    vr.install_transport_key(kdf.transport_key(sw.DOMAIN.version(1)["journal"].material, int(B), 1))
    before = RigClient(vr).info()
    with pytest.raises(tkeys.TerminalKeyError, match="reader key set of terminal 31000002"):
        service.provision(world.ledger, RigClient(vr), reader_a, "admin", B, outlet="O", merchant="M")
    assert RigClient(vr).info() == before  # nothing reached the reader
    assert B not in [t.number for t in world.ledger.store.terminals()]  # nor the ledger


def test_a_workstation_export_signs_nothing_for_a_reader(world):
    world.reader(A)
    workstation = exports.workstation_keyset(sw.DOMAIN)
    vr, _ = world.readers[A]
    client = RigClient(vr)
    before = client.info()
    with pytest.raises(tkeys.TerminalKeyError, match="collector key set"):
        service.sign_in(world.ledger, client, "clerk", A, workstation)
    with pytest.raises(exports.ExportError):
        jv.journal_keys(workstation, int(A))
    assert client.info() == before


def test_each_key_set_derives_the_same_terminal_keys(world):
    reader_a = exports.reader_keyset(sw.DOMAIN, int(A))
    collector = exports.collector_keyset(sw.DOMAIN)
    want = tkeys.terminal_keys(sw.DOMAIN, int(A), 1)
    assert tkeys.terminal_keys(reader_a, int(A), 1) == want == tkeys.terminal_keys(collector, int(A), 1)
    assert tkeys.terminal_keys(collector, int(B), 1)["link"] != want["link"]
    # an unauthenticated request signed under another terminal's link key is refused by the reader
    vr, _ = world.reader(A)
    client = RigClient(vr)
    before = client.info()
    client.authenticate(tkeys.terminal_keys(collector, int(B), 1)["link"])
    with pytest.raises(ReaderLinkError) as e:
        client.set_time(before["time"] + 60)
    assert e.value.code == codec.LINK_ERR_UNAUTHENTICATED
    assert client.info()["link_counter"] == before["link_counter"]
