"""The reader's main loop: USB link requests in, responses out; between requests, the standalone
fixed-price mode (canteen, vending) debits any card presented."""
from icpurse.firmware import link

from icpurse.protocol.mpy import const


_IDLE_MS = const(5)
_LINK_WAIT_MS = const(50)  # idle: wait this long for the host at most (returns when bytes arrive)
_FIXED_PRICE_POLL_MS = const(150)


class LinkServer:
    def __init__(self, port, reader, clock):
        """`port`: the USB link (write(buf), readinto(buf) -> n | None, never blocking; optionally
        wait(ms) -> bool: block until bytes arrive or `ms` pass, True if bytes are there)."""
        self.port = port
        self.reader = reader
        self.clock = clock
        self.frames = link.FrameReader()
        self._buf = bytearray(256)
        self._mv = memoryview(self._buf)
        self._wait = getattr(port, "wait", None)

    def poll(self):
        """Handle every complete request that has arrived; True if there was one."""
        n = self.port.readinto(self._buf)
        if n:
            self.frames.feed(self._mv[:n])
        handled = False
        while True:
            frame = self.frames.next()
            if frame is None:
                return handled
            self.port.write(self.reader.handle(frame))
            handled = True

    def idle(self):
        """Nothing to do: block on the link until the host sends (at most _LINK_WAIT_MS), so a
        request is served as soon as it arrives; a port that cannot wait gets a short sleep."""
        if self._wait is not None:
            self._wait(_LINK_WAIT_MS)
        else:
            self.clock.sleep_ms(_IDLE_MS)

    def serve(self, stop=None):
        """Run until the host asks for a reboot (or `stop()` says so)."""
        reader = self.reader
        while not reader.reboot_requested and not (stop and stop()):
            if self.poll():
                continue
            if reader.poll_fixed_price(_FIXED_PRICE_POLL_MS) is None:
                self.idle()
