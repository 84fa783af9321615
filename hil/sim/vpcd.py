"""Carry the PC/SC persona to pcscd: a client of vsmartcard's `vpcd` reader driver (written from the
protocol as docs/simulator.md "The three ways in" describes it, no vsmartcard code).

Wire protocol: every message is a 2-byte big-endian length + payload. A 1-byte payload is a control
code — 00 power off, 01 power on, 02 reset (no answer), 04 get ATR (answered with the ATR). Anything
longer is a C-APDU, answered with the R-APDU. vpcd listens, for each reader declared in pcscd's
/etc/reader.conf.d, on the port of its DEVICENAME (slot 0, "<FRIENDLYNAME> 00 00") and the next one
(slot 1, "... 00 01"): Debian's entry gives 35963 "Virtual PCD 00 00" and 35964 "Virtual PCD 00 01";
`make setup` adds 35965 "ACS ACR122U PICC Interface 00 00" for the ACR122U persona
(tools/ensure-vpcd-acr122u). It treats an empty get-ATR answer or a closed socket as "card removed"
(and then closes its end), so this client stays disconnected while the field is empty and connects
when a card comes — that is how PC/SC sees insertion and removal.

`VpcdClient` is driven by an event loop (`fileno()`, `on_readable()`, `tick()`), so the simulator can
serve the pty, vpcd and the control socket from one thread without locks; `serve_forever()` runs it
alone.
"""
import os
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


READER_CONF_DIR = "/etc/reader.conf.d"  # pcscd reads its non-USB readers here when it starts
DEBIAN_NAME = "Virtual PCD"  # FRIENDLYNAME of Debian's /etc/reader.conf.d/vpcd
VPCD_SLOTS = 2  # vpcd gives every reader entry two slots: DEVICENAME's port and the next one
# libnfc's acr122_pcsc scan takes a PC/SC reader whose name begins with this (or a Touchatag name);
# a real ACR122U is "ACS ACR122U PICC Interface 00 00" through the CCID driver.
ACR122U_NAME_PREFIX = "ACS ACR122"


def vpcd_readers(confdir=READER_CONF_DIR):
    """[(FRIENDLYNAME, port of slot 0)] of the vpcd readers pcscd is told about in `confdir` (entries
    whose LIBPATH is a vpcd driver and which listen, DEVICENAME `/dev/null:PORT`), files in name
    order. Debian's entry alone when the folder cannot be read."""
    try:
        files = sorted(os.listdir(confdir))
    except OSError:
        return [(DEBIAN_NAME, DEFAULT_PORT)]
    out = []
    for name in files:
        try:
            with open(os.path.join(confdir, name), encoding="utf-8", errors="replace") as f:
                out += _vpcd_entries(f.read())
        except OSError:  # a folder, or not readable: pcscd skips it too
            continue
    return out


def _vpcd_entries(text):
    entries = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(None, 1)
        if len(words) != 2:
            continue
        key, value = words[0].upper(), words[1].strip().strip('"')
        if key == "FRIENDLYNAME":
            entries.append({"FRIENDLYNAME": value})
        elif entries:
            entries[-1][key] = value
    out = []
    for entry in entries:
        if not os.path.basename(entry.get("LIBPATH", "")).startswith("libifdvpcd"):
            continue
        host, colon, port = entry.get("DEVICENAME", "").partition(":")
        if colon and host != "/dev/null":
            continue  # vpcd connects out to a listening card there: not a port this client can serve
        try:
            out.append((entry["FRIENDLYNAME"], int(port, 0) if colon else DEFAULT_PORT))
        except ValueError:
            continue
    return out


def reader_name(port=DEFAULT_PORT, confdir=READER_CONF_DIR):
    """PC/SC name pcscd gives the vpcd slot behind `port`, from the reader entries in `confdir`
    ("vpcd port N" for a port no entry declares)."""
    for name, first in vpcd_readers(confdir):
        if first <= port < first + VPCD_SLOTS:
            return "%s 00 %02X" % (name, port - first)
    return "vpcd port %d" % port


def acr122u_port(confdir=READER_CONF_DIR):
    """Slot-0 port of the vpcd reader named as an ACR122U (tools/ensure-vpcd-acr122u), or None."""
    for name, first in vpcd_readers(confdir):
        if name.startswith(ACR122U_NAME_PREFIX):
            return first
    return None


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
