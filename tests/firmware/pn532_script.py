"""Scripted fakes for PN532 driver tests (nfcpy style): the test states every frame on the wire.

A script is a list of steps, in wire order:
    ("host", bytes)   the driver must write exactly these bytes, in one write call
    ("chip", bytes)   the chip sends these bytes; they become readable once every earlier
                      "host" step has happened
Runs under CPython and MicroPython (dual-run tests import it).
"""
import binascii


def h(text):
    """Bytes from spaced hex, e.g. h("00 00 FF 00 FF 00")."""
    return binascii.unhexlify(text.replace(" ", "").replace("\n", ""))


def hexs(data):
    return binascii.hexlify(bytes(data)).decode()


ACK = h("00 00 FF 00 FF 00")
NACK = h("00 00 FF FF 00 00")


class FakeClock:
    """Milliseconds that pass only when the code under test sleeps."""

    def __init__(self):
        self.now = 0
        self.slept = 0

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        self.now += ms
        self.slept += ms


class FakePin:
    def __init__(self, on_change=None):
        self.history = []
        self._on_change = on_change

    def value(self, v):
        self.history.append(v)
        if self._on_change is not None:
            self._on_change(v)


class _Script:
    def __init__(self, script):
        self.script = list(script)
        self.pos = 0
        self.writes = []

    def _expect_write(self, data):
        self.writes.append(data)
        if self.pos >= len(self.script):
            raise AssertionError("unexpected write %s after the end of the script" % hexs(data))
        kind, expected = self.script[self.pos]
        if kind != "host":
            raise AssertionError("step %d: driver wrote %s while the chip was to send %s"
                                 % (self.pos, hexs(data), hexs(expected)))
        if data != expected:
            raise AssertionError("step %d: driver wrote\n  %s\nexpected\n  %s"
                                 % (self.pos, hexs(data), hexs(expected)))
        self.pos += 1
        self._release()

    def _release(self):
        while self.pos < len(self.script) and self.script[self.pos][0] == "chip":
            self._chip_sends(self.script[self.pos][1])
            self.pos += 1

    def done(self):
        """Every scripted step happened."""
        assert self.pos == len(self.script), "script stopped at step %d of %d: %r" % (
            self.pos, len(self.script), self.script[self.pos])


class ScriptedUart(_Script):
    """HAL Uart whose far end follows a script.  `chunk` limits the bytes per readinto, to
    exercise frames arriving in pieces."""

    def __init__(self, script, chunk=None, baud=115200):
        self.rx = b""
        self.chunk = chunk
        self.baud = baud
        self.bauds = []
        _Script.__init__(self, script)
        self._release()

    def _chip_sends(self, data):
        self.rx += data

    def write(self, buf):
        self._expect_write(bytes(buf))
        return len(buf)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        if self.chunk is not None:
            n = min(n, self.chunk)
        if not n:
            return None
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def any(self):
        return len(self.rx)

    def set_baud(self, baud):
        self.baud = baud
        self.bauds.append(baud)


class ScriptedI2C(_Script):
    """HAL I2CBus with a scripted PN532 at 0x24: each "chip" step is one frame, handed out whole
    by one read transaction after the status byte 0x01; `busy_polls` status reads answer 0x00
    (busy) before each frame."""

    def __init__(self, script, busy_polls=0, address=0x24):
        self.frames = []
        self.busy_polls = busy_polls
        self._busy = 0
        self.address = address
        self.reads = []  # lengths of the read transactions
        _Script.__init__(self, script)
        self._release()

    def _chip_sends(self, data):
        if not self.frames:
            self._busy = self.busy_polls
        self.frames.append(data)

    def writeto(self, addr, buf):
        if addr != self.address:
            raise OSError(19)
        self._expect_write(bytes(buf))

    def readfrom_into(self, addr, buf):
        if addr != self.address:
            raise OSError(19)
        self.reads.append(len(buf))
        for i in range(len(buf)):
            buf[i] = 0
        if not self.frames or self._busy:
            if self._busy:
                self._busy -= 1
            return
        frame = self.frames.pop(0)
        if self.frames:
            self._busy = self.busy_polls
        buf[0] = 0x01
        n = min(len(frame), len(buf) - 1)
        buf[1:1 + n] = frame[:n]
