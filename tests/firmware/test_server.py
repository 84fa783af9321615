"""The reader's main loop over a byte-stream port: framing, garbage, fixed-price standalone mode.

Dual-run: CPython and MicroPython."""
import purse_fixtures as fx
import reader_fixtures as rf

from icpurse.firmware import link
from icpurse.host import codec
from icpurse.firmware.server import LinkServer


class Port:
    """The USB link as the firmware sees it: bytes in (queued by the 'host'), bytes out."""

    def __init__(self):
        self.inbox = bytearray()
        self.sent = bytearray()

    def readinto(self, buf):
        n = min(len(buf), len(self.inbox), 7)  # arrives in small pieces
        if not n:
            return None
        buf[:n] = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return n

    def write(self, data):
        self.sent.extend(data)
        return len(data)


def responses(port):
    parser = link.FrameReader()
    parser.feed(port.sent)
    out = []
    while True:
        f = parser.next()
        if f is None:
            return out
        out.append(f)


def test_requests_in_pieces_with_garbage_get_one_answer_each():
    vr = rf.reader()
    port = Port()
    server = LinkServer(port, vr.reader, vr.clock)
    port.inbox.extend(b"\x00\xff\xa5garbage")
    port.inbox.extend(link.encode_frame(codec.LINK_KIND_REQUEST, 1, codec.LINK_CMD_INFO))
    port.inbox.extend(link.encode_frame(codec.LINK_KIND_REQUEST, 2, 0x7E))
    for _ in range(20):
        server.poll()
    got = responses(port)
    assert [(f.seq, f.kind) for f in got] == [(1, codec.LINK_KIND_RESPONSE), (2, codec.LINK_KIND_ERROR)]
    assert codec.decode_reader_info(got[0].payload)[codec.READER_INFO_TERMINAL] == rf.TERMINAL
    assert link.decode_error(got[1].payload)[0] == codec.LINK_ERR_UNKNOWN_COMMAND


def test_fixed_price_mode_debits_every_card_presented_until_reboot():
    vr = rf.reader()
    vr.request(codec.LINK_CMD_CONFIGURE, codec.encode_configure(codec.MODE_FIXED_PRICE, 650, 0, 0, 0, 1, 0))
    card = fx.new_card(2000)
    rf.present(vr, card)
    port = Port()
    server = LinkServer(port, vr.reader, vr.clock)
    loops = []

    def stop():
        loops.append(1)
        if len(loops) == 5:  # the host asks for a reboot on the fifth pass
            port.inbox.extend(link.encode_frame(codec.LINK_KIND_REQUEST, 9, codec.LINK_CMD_REBOOT))
        return len(loops) > 50

    server.serve(stop)
    assert vr.reader.reboot_requested
    # each pass with the card in the field is a sale: 2000 -> 1350 -> 700 -> 50, then refused
    assert fx.balance_block(card) == 50
    assert vr.ui.events[-1] == (4, codec.R_INSUFFICIENT)  # REFUSED, with the reason code
    assert [e for e in vr.ui.events if e[0] == 3] == [(3, (650, 1350)), (3, (650, 700)), (3, (650, 50))]


class WaitingPort(Port):
    """A port that can block on the link: `wait(ms)` returns at once when bytes are there, else after
    `ms` (of the reader's clock), delivering the host's next request when its time has come."""

    def __init__(self, clock):
        Port.__init__(self)
        self.clock = clock
        self.waits = []
        self.later = []  # (reader time in ms, bytes) the host sends then

    def wait(self, ms):
        self.waits.append(ms)
        now = self.clock.ticks_ms()
        if self.inbox:
            return True
        if self.later and self.later[0][0] <= now + ms:
            at, data = self.later.pop(0)
            self.clock.sleep_ms(max(0, at - now))
            self.inbox.extend(data)
            return True
        self.clock.sleep_ms(ms)
        return False


def test_idle_server_blocks_on_the_link_and_answers_as_soon_as_a_request_arrives():
    vr = rf.reader()
    port = WaitingPort(vr.clock)
    server = LinkServer(port, vr.reader, vr.clock)
    start = vr.clock.ticks_ms()
    port.later.append((start + 123, link.encode_frame(codec.LINK_KIND_REQUEST, 1, codec.LINK_CMD_INFO)))
    port.later.append((start + 124, link.encode_frame(codec.LINK_KIND_REQUEST, 2, codec.LINK_CMD_REBOOT)))
    server.serve()
    assert [f.seq for f in responses(port)] == [1, 2] and vr.reader.reboot_requested
    # it waited on the link (never a blind sleep) and was woken by the request, not by a tick
    assert port.waits and all(0 < ms <= 100 for ms in port.waits)
    assert vr.clock.ticks_ms() - start < 130


def test_a_port_that_cannot_wait_gets_short_sleeps():
    vr = rf.reader()
    port = Port()
    server = LinkServer(port, vr.reader, vr.clock)
    start = vr.clock.ticks_ms()
    passes = []
    server.serve(lambda: passes.append(1) or len(passes) > 10)
    assert 0 < vr.clock.ticks_ms() - start <= 10 * 10  # ten idle passes of a few ms each
