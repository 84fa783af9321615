"""Control interface of a running simulator: a UNIX stream socket taking one command per line and
answering one JSON object per line.

    list               -> {"ok": true, "cards": [{"name", "uid", "size", "magic", "in_field"}, ...]}
    present NAME       -> {"ok": true, "in_field": NAME}      (puts the card into the field)
    remove             -> {"ok": true, "in_field": null}      (empties the field)
    swap NAME          -> remove, then present NAME
    status             -> {"ok": true, "in_field", "clock_us", "counters", "pn532", "pcsc_connected"}
    dump [NAME]        -> {"ok": true, "name", "mfd": "<hex of the raw .mfd dump>"}
    fault KIND [ARGS]  -> {"ok": true, "fault": KIND}  (remove_after N, tear_next_write old|new|mix SEED,
                          rf_timeout_next N, bad_checksum_next, drop_ack_next, garbage_before_next HEX,
                          truncate_next N)
Errors answer {"ok": false, "error": "..."}. `control_command(path, line)` is the client side.

CPython only; served by the rig's event loop (hil/sim/server.py).
"""
import json
import os
import socket

MAX_LINE = 4096


class _Connection:
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.buf = b""

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else None

    def tick(self, now=None):
        pass

    def on_readable(self):
        try:
            chunk = self.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            answer = self.server.handler(line.decode("utf-8", "replace").strip())
            try:
                self.sock.setblocking(True)
                self.sock.sendall(json.dumps(answer).encode() + b"\n")
                self.sock.setblocking(False)
            except OSError:
                self.close()
                return
        if len(self.buf) > MAX_LINE:
            self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self in self.server.connections:
            self.server.connections.remove(self)


class ControlServer:
    def __init__(self, path, handler):
        self.path = os.path.abspath(path)
        self.handler = handler
        if os.path.exists(self.path):
            os.unlink(self.path)  # a stale socket from a killed run
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.connections = []

    def parts(self):
        return [self] + list(self.connections)

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else None

    def tick(self, now=None):
        pass

    def on_readable(self):
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self.connections.append(_Connection(self, conn))

    def close(self):
        for conn in list(self.connections):
            conn.close()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            try:
                os.unlink(self.path)
            except OSError:
                pass


def control_command(path, line, timeout=5.0):
    """Send one command to a running simulator and return its decoded JSON answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf.decode())
