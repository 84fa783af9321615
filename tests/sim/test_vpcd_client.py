"""The vpcd wire protocol of our client, against a stand-in for vpcd (a local listening socket):
2-byte big-endian length + payload; control codes 00/01/02/04, only 04 answered; removal = the
client closes its connection (docs/simulator.md, "The three ways in")."""
import select
import socket
import struct
import time

import pytest

from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pcsc import StorageCardPersona
from icpurse.hil.sim.vpcd import REMOVAL_GAP_S, VpcdClient

ATR_1K = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
WAIT_S = 5.0


class FakeVpcd:
    """The server side of one vpcd slot, driven step by step from the test."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.conn = None

    def accept(self):
        self.listener.settimeout(WAIT_S)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(WAIT_S)

    def send(self, raw):
        self.conn.sendall(raw)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.conn.recv(n - len(buf))
            if not chunk:
                raise EOFError("client closed after %r" % buf)
            buf += chunk
        return buf

    def recv_frame(self):
        (size,) = struct.unpack("!H", self.recv_exact(2))
        return self.recv_exact(size)

    def nothing_pending(self):
        return not select.select([self.conn], [], [], 0.05)[0]

    def close(self):
        for s in (self.conn, self.listener):
            if s is not None:
                s.close()


def pump(client):
    """Let the client handle whatever the fake vpcd sent (bounded wait for it to arrive)."""
    ready, _, _ = select.select([client.fileno()], [], [], WAIT_S)
    assert ready, "nothing arrived from the fake vpcd"
    client.on_readable()


@pytest.fixture
def rig():
    deck = Deck()
    deck.add("one", ClassicCard(bytes.fromhex("DEADBEEF"), "1k"))
    deck.add("two", ClassicCard(bytes.fromhex("01020304"), "4k"))
    deck.present("one")
    server = FakeVpcd()
    client = VpcdClient(StorageCardPersona(deck), host="127.0.0.1", port=server.port)
    client.tick()
    assert client.sock is not None
    server.accept()
    try:
        yield deck, server, client
    finally:
        client.close()
        server.close()


def test_get_atr_is_answered_length_prefixed(rig):
    deck, server, client = rig
    server.send(b"\x00\x01\x04")
    pump(client)
    assert server.recv_exact(2) == b"\x00\x14"
    assert server.recv_exact(20) == ATR_1K


def test_power_codes_get_no_answer_and_apdus_do(rig):
    deck, server, client = rig
    server.send(b"\x00\x01\x01" + b"\x00\x01\x02" + b"\x00\x01\x00" + b"\x00\x01\x01")
    pump(client)
    assert server.nothing_pending()
    server.send(b"\x00\x05" + bytes.fromhex("FFCA000000"))
    pump(client)
    assert server.recv_frame() == bytes.fromhex("DEADBEEF9000")


def test_messages_split_across_reads(rig):
    deck, server, client = rig
    apdu = b"\x00\x05" + bytes.fromhex("FFCA000000")
    server.send(apdu[:1])
    pump(client)
    server.send(apdu[1:4])
    pump(client)
    assert server.nothing_pending()
    server.send(apdu[4:] + b"\x00\x01\x04")
    pump(client)
    assert server.recv_frame() == bytes.fromhex("DEADBEEF9000")
    assert server.recv_frame() == ATR_1K


def test_removal_closes_the_connection_and_insertion_reconnects(rig):
    deck, server, client = rig
    deck.remove()
    client.tick()
    assert client.sock is None
    assert server.conn.recv(16) == b""  # vpcd sees EOF: card removed
    client.tick(time.monotonic() + 10 * REMOVAL_GAP_S)
    assert client.sock is None  # an empty field stays disconnected
    deck.present("two")
    client.tick(time.monotonic() + 10 * REMOVAL_GAP_S)
    assert client.sock is not None
    server.accept()
    server.send(b"\x00\x01\x04")
    pump(client)
    assert server.recv_frame()[13:15] == b"\x00\x02"  # the 4K card's ATR


def test_swap_waits_one_removal_gap_before_the_next_card(rig):
    deck, server, client = rig
    deck.swap("two")
    now = time.monotonic()
    client.tick(now)
    assert client.sock is None
    client.tick(now)  # pcscd must get a presence poll with the slot empty
    assert client.sock is None
    client.tick(now + 2 * REMOVAL_GAP_S)
    assert client.sock is not None


def test_vpcd_closing_is_survived(rig):
    deck, server, client = rig
    server.conn.close()
    server.conn = None
    pump(client)
    assert client.sock is None
    client.tick(time.monotonic() + 2 * REMOVAL_GAP_S)
    assert client.sock is not None


def test_no_vpcd_listening_is_not_an_error():
    deck = Deck()
    deck.add("one", ClassicCard(bytes.fromhex("DEADBEEF"), "1k"))
    deck.present("one")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    client = VpcdClient(StorageCardPersona(deck), host="127.0.0.1", port=port)
    client.tick()
    assert client.sock is None
