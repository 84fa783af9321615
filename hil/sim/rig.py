# micropython: yes
"""The virtual store reader: the real firmware (driver, purse, journal, reader) on the simulated
PN532 and card deck, with a simulated NVS and the filesystem given by the caller.

Used by the firmware tests (both interpreters), the benchmarks and `icpurse sim reader`.
`request()` goes through the USB link framing exactly as bytes from a host would.
"""
import os

from icpurse.firmware import link
from icpurse.host import codec
from icpurse.firmware.hal.sim import SimClock, SimFlash, SimNvs, SimUart
from icpurse.firmware.pn532 import PN532
from icpurse.firmware.pn532_hsu import HSU
from icpurse.firmware.reader import Reader
from icpurse.firmware.store import Store
from icpurse.firmware.ui import Indicator
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.pn532 import PN532 as SimPN532


FAST_BAUD = 921600  # the PN532 HSU rate the reader firmware switches to after start-up (firmware/main.py)


class LinkRefused(Exception):
    """An ERROR frame from the reader: code, detail (purse refusal or PN532 status), message."""

    def __init__(self, code, detail, message):
        super().__init__("link error 0x%02x (detail %d): %s" % (code, detail, message))
        self.code = code
        self.detail = detail
        self.message = message


class VirtualReader:
    def __init__(self, root, fs=os, open_fn=open, nvs=None, deck=None, vclock=None, baud=None, flash=None):
        self.root = root
        self.fs = fs
        self.open_fn = open_fn
        self.vclock = vclock or VirtualClock()
        self.faults = Faults()
        self.deck = deck or Deck()
        self.nvs = nvs or SimNvs()
        self.flash = flash or SimFlash(vclock=self.vclock)  # the state ring's partition; survives reboots
        self.chip = SimPN532(self.deck, self.vclock, self.faults)
        self.chip.timeline = True  # answers arrive when they would: the firmware's way of waiting counts
        self.uart = SimUart(self.chip)
        self.clock = SimClock(self.vclock)
        self.baud = baud
        self._seq = 0
        self.boot()

    def boot(self):
        """Power-up of the reader (also after a simulated power loss): state comes from NVS + files."""
        self.chip.power = "lowvbat"  # the PN532 loses power with the reader
        self.driver = PN532(HSU(self.uart), self.clock)
        self.driver.begin()
        if self.baud:
            self.driver.set_baud(self.baud)
        self.ui = Indicator()
        self.store = Store(self.nvs, self.root, self.fs, self.open_fn)
        self.reader = Reader(self.driver, self.clock, self.store, self.ui, self.root + "/journal", self.fs,
                             self.open_fn, flash=self.flash)

    def request(self, command, payload=b""):
        """Send one request through the link framing; the response payload, or LinkRefused."""
        self._seq = (self._seq + 1) & 0xFF
        frame = link.encode_frame(codec.LINK_KIND_REQUEST, self._seq, command, payload)
        parser = link.FrameReader()
        parser.feed(frame)
        answer = self.reader.handle(parser.next())
        parser.feed(answer)
        rsp = parser.next()
        assert rsp.seq == self._seq and rsp.command == command
        if rsp.kind == codec.LINK_KIND_ERROR:
            code, detail, message = link.decode_error(rsp.payload)
            raise LinkRefused(code, detail, message)
        return rsp.payload
