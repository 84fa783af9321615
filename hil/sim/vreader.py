"""The virtual store reader behind a pseudo-terminal: `icpurse sim reader --pty`.

Host tools that take `--reader serial:/dev/ttyUSB0` talk to the real firmware (hil/sim/rig.py) on
the simulated PN532 exactly as to an ESP32 on USB. CPython only.
"""
import json
import os
import threading

from icpurse.firmware import link
from icpurse.firmware.hal.sim import SimNvs
from icpurse.hil.sim.pty import PtyLink
from icpurse.hil.sim.rig import FAST_BAUD, VirtualReader


class FileNvs(SimNvs):
    """The reader's NVS kept in a JSON file (hex blobs), so provisioning survives restarts."""

    def __init__(self, path):
        self.path = path
        store = {}
        if os.path.exists(path):
            with open(path) as f:
                store = {k: bytes.fromhex(v) for k, v in json.load(f).items()}
        SimNvs.__init__(self, store)
        self._store = store

    def _save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({k: bytes(v).hex() for k, v in self._store.items()}, f)
        os.replace(tmp, self.path)

    def set_blob(self, key, data):
        SimNvs.set_blob(self, key, data)
        self._save()

    def erase(self, key):
        SimNvs.erase(self, key)
        self._save()


class ReaderEndpoint:
    """Bytes from the host -> link frames -> the firmware's Reader.handle -> bytes back.

    Looks like a chip to PtyLink (write / read / pending)."""

    def __init__(self, vreader):
        self.vreader = vreader
        self.frames = link.FrameReader()
        self.out = bytearray()
        self.lock = threading.Lock()  # the control socket may change the deck meanwhile

    def write(self, data):
        self.frames.feed(data)
        while True:
            frame = self.frames.next()
            if frame is None:
                return
            with self.lock:
                self.out.extend(self.vreader.reader.handle(frame))

    def read(self, n=-1):
        out = bytes(self.out)
        self.out.clear()
        return out

    def pending(self):
        return len(self.out)


def start_reader_pty(state_dir, deck=None, vclock=None, link_path=None):
    """A VirtualReader with its state in `state_dir`, served on a new pty by a daemon thread; its
    PN532 link at 921,600 baud as firmware/main.py sets it. Returns (vreader, pty, stop_event)."""
    vr = VirtualReader(str(state_dir), deck=deck, vclock=vclock, baud=FAST_BAUD)
    endpoint = ReaderEndpoint(vr)
    pty = PtyLink(endpoint, link=link_path)
    stop = threading.Event()
    thread = threading.Thread(target=pty.serve_forever, kwargs={"stop": stop.is_set, "poll_s": 0.02}, daemon=True)
    thread.start()
    vr.endpoint = endpoint
    return vr, pty, stop
