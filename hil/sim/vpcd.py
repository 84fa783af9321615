"""Carry the PC/SC persona to pcscd: a client of vsmartcard's `vpcd` reader driver (written from the
protocol as docs/simulator.md "The three ways in" describes it, no vsmartcard code).

Wire protocol: every message is a 2-byte big-endian length + payload. A 1-byte payload is a control
code — 00 power off, 01 power on, 02 reset (no answer), 04 get ATR (answered with the ATR). Anything
longer is a C-APDU, answered with the R-APDU. vpcd listens on 35963 (reader "Virtual PCD 00 00") and
35964 ("Virtual PCD 00 01"); it treats an empty get-ATR answer or a closed socket as "card removed"
(and then closes its end), so this client stays disconnected while the field is empty and connects
when a card comes — that is how PC/SC sees insertion and removal.

`VpcdClient` is driven by an event loop (`fileno()`, `on_readable()`, `tick()`), so the simulator can
serve the pty, vpcd and the control socket from one thread without locks; `serve_forever()` runs it
alone.
"""
import selectors
import socket
import struct
import time

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
DEFAULT_PORT = 0x8C7B  # 35963, CHANNELID of /etc/reader.conf.d/vpcd
RETRY_S = 0.2  # reconnect pace while vpcd (pcscd) is not there yet
# After a removal the slot stays empty this long before the next card connects. pcscd polls card
# presence every 400 ms (PCSCLITE_STATUS_POLL_RATE); if the next card is back before one poll saw
# the slot empty, pcscd never reports the removal and keeps the reader marked "no card" (seen with
# pcscd 1.9.9 when a client disconnects in between). A real hand swap takes longer anyway.
REMOVAL_GAP_S = 1.0
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def reader_name(port=DEFAULT_PORT, friendly="Virtual PCD"):
    """PC/SC name pcscd gives the vpcd slot behind `port` (slot = port - CHANNELID) with the
    Debian /etc/reader.conf.d/vpcd; another port belongs to a reader.conf we do not know."""
    slot = port - DEFAULT_PORT
    if 0 <= slot <= 0xFF:
        return "%s 00 %02X" % (friendly, slot)
    return "vpcd port %d" % port


def frame(payload):
    return struct.pack("!H", len(payload)) + bytes(payload)


class VpcdClient:
    """One virtual card slot of vpcd, answered by a StorageCardPersona."""

    def __init__(self, persona, host="localhost", port=DEFAULT_PORT, on_activity=None, log=None):
        self.persona = persona
        self.host = host
        self.port = port
        self.on_activity = on_activity  # called after each APDU (the CLI saves dumps there)
        self.log = log
        self.sock = None
        self._buf = b""
        self._next_try = 0.0

    # ---- event-loop interface ---------------------------------------------------------------

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else None

    def tick(self, now=None):
        """Connect when a card is in the field; drop the connection when it left (= removal)."""
        now = time.monotonic() if now is None else now
        if self.sock is not None:
            if self.persona.card_changed():
                self._drop("card left the field")
            return
        if self.persona.deck.in_field is None or now < self._next_try:
            return
        self._next_try = now + RETRY_S
        try:
            sock = socket.create_connection((self.host, self.port), timeout=1.0)
        except OSError:
            return  # vpcd not listening (yet): pcscd starting or not installed
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.persona.attach()
        self._buf = b""
        self._say("connected to vpcd on port %d" % self.port)

    def on_readable(self):
        try:
            chunk = self.sock.recv(65536)
            # vpcd writes the length prefix and the APDU as two small segments without
            # TCP_NODELAY: with our delayed ACK, Nagle holds the second one ~40 ms per APDU.
            # Acknowledging at once keeps an APDU round trip in the sub-millisecond range.
            if _QUICKACK is not None:
                self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop("vpcd closed the connection")
            return
        self._buf += chunk
        while len(self._buf) >= 2:
            (size,) = struct.unpack("!H", self._buf[:2])
            if len(self._buf) < 2 + size:
                break
            payload, self._buf = self._buf[2:2 + size], self._buf[2 + size:]
            answer = self.handle(payload)
            if answer is not None:
                self._send(frame(answer))
            if self.sock is None:
                break

    def close(self):
        if self.sock is not None:
            self._drop("closing")

    # ---- protocol --------------------------------------------------------------------------

    def handle(self, payload):
        """One message from vpcd -> the answer payload, or None for control codes without answer."""
        if len(payload) == 1:
            code = payload[0]
            if code == CTRL_ATR:
                return self.persona.atr()
            if code == CTRL_ON:
                self.persona.power_on()
            elif code == CTRL_RESET:
                self.persona.reset()
            elif code == CTRL_OFF:
                self.persona.power_off()
            return None
        answer = self.persona.transmit(payload)
        if self.on_activity is not None:
            self.on_activity()
        return answer

    def _send(self, data):
        # Answers are a few hundred bytes at most; a blocking send on a local socket is immediate.
        try:
            self.sock.setblocking(True)
            self.sock.sendall(data)
            self.sock.setblocking(False)
        except OSError:
            self._drop("send failed")

    def _drop(self, why):
        self._say("disconnected: %s" % why)
        try:
            self.sock.close()
        except OSError:
            pass
        self.sock = None
        self._buf = b""
        self.persona.end_session()
        self._next_try = time.monotonic() + REMOVAL_GAP_S

    def _say(self, text):
        if self.log is not None:
            self.log("vpcd: " + text)

    def serve_forever(self, stop=lambda: False, poll_s=0.05):
        sel = selectors.DefaultSelector()
        try:
            while not stop():
                self.tick()
                fd = self.fileno()
                if fd is None:
                    time.sleep(poll_s)
                    continue
                sel.register(fd, selectors.EVENT_READ)
                try:
                    if sel.select(poll_s):
                        self.on_readable()
                finally:
                    sel.unregister(fd)
        finally:
            self.close()
            sel.close()
