"""The serial face of the virtual rig: a PN532 model behind a pseudo-terminal.

A host stack (libnfc's `pn532_uart`, pyserial, our own driver) opens the slave path as if it were a
USB-UART wired to a PN532's HSU. Baud settings on a pty are accepted and ignored: bytes move at once,
and the model's virtual clock — not the wall clock — accounts for the time they would take.

`PtyLink` is driven by an event loop (`fileno()`, `on_readable()`, `tick()`); `serve_forever()` runs
it alone. CPython only.
"""
import errno
import os
import selectors
import tty


class PtyLink:
    """Forward host bytes to `chip.write()` and the chip's answers (`chip.read()`) back."""

    def __init__(self, chip, link=None, on_activity=None, log=None):
        self.chip = chip
        self.on_activity = on_activity
        self.log = log
        self.master, self._slave = os.openpty()
        # Raw: no echo, no CR/LF mangling, no line buffering — a UART passes bytes as they are.
        tty.setraw(self._slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.link = None
        if link:
            # An optional stable name (e.g. /tmp/pn532) for tools configured with a fixed device.
            if os.path.islink(link):
                os.unlink(link)
            os.symlink(self.path, link)
            self.link = link
        # We keep our own slave descriptor open: without it the master reads EIO whenever the host
        # closes the port (libnfc opens and closes it per tool run), and the pty would be torn down.
        self.bytes_in = 0
        self.bytes_out = 0

    def fileno(self):
        return self.master  # None once closed

    def tick(self, now=None):
        # The chip only speaks when spoken to, but a fault or a pending frame may still be queued.
        pending = getattr(self.chip, "pending", None)
        if pending is not None and pending():
            self.flush()

    def on_readable(self):
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # no slave open at the moment
                return
            raise
        if not data:
            return
        self.bytes_in += len(data)
        self.chip.write(data)
        self.flush()
        if self.on_activity is not None:
            self.on_activity()

    def flush(self):
        """Send whatever the chip produced to the host."""
        out = self.chip.read()
        while out:
            try:
                n = os.write(self.master, out)
            except BlockingIOError:
                # The host is not reading; the pty buffer (several kB) only fills if it never will.
                sel = selectors.DefaultSelector()
                sel.register(self.master, selectors.EVENT_WRITE)
                ready = sel.select(1.0)
                sel.close()
                if not ready:
                    self._say("host not reading; dropped %d bytes" % len(out))
                    return
                continue
            self.bytes_out += n
            out = out[n:]

    def close(self):
        for fd in (self.master, self._slave):
            if fd is None:
                continue
            try:
                os.close(fd)
            except OSError:
                pass
        self.master = self._slave = None
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)

    def _say(self, text):
        if self.log is not None:
            self.log("pty: " + text)

    def serve_forever(self, stop=lambda: False, poll_s=0.05):
        sel = selectors.DefaultSelector()
        sel.register(self.master, selectors.EVENT_READ)
        try:
            while not stop():
                if sel.select(poll_s):
                    self.on_readable()
        finally:
            sel.close()
            self.close()
