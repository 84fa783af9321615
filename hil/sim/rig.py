# micropython: yes
"""The virtual store reader: the real firmware (driver, purse, journal, reader) on the simulated
PN532 and card deck, with a simulated NVS and the filesystem given by the caller.

Used by the firmware tests (both interpreters), the benchmarks and `icpurse sim reader`.
`request()` goes through the USB link framing exactly as bytes from a host would.
"""
import os

from icpurse.firmware import dayconfig, kdf, link, linkauth
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


FAST_BAUD = 921600  # the PN532 HSU rate the reader firmware switches to after start-up (firmware/app.py)


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
        self.signer = None  # linkauth.Signer: state-changing requests are signed with it (authenticate())
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

    def install_transport_key(self, key):
        """The lab's transport key ceremony, done to the virtual board (docs/hardware.md)."""
        self.reader.guard.install_transport_key(key)

    def authenticate(self, key):
        """Sign the following state-changing requests with `key` (the reader's link key, or the
        transport key of a blank reader), starting from the counter its INFO reports."""
        info = codec.decode_reader_info(self.request(codec.LINK_CMD_INFO))
        self.signer = linkauth.Signer(key, info[codec.READER_INFO_TERMINAL], info[codec.READER_INFO_LINK_NONCE],
                                      info[codec.READER_INFO_LINK_COUNTER])
        return self.signer

    def request(self, command, payload=b""):
        """Send one request through the link framing; the response payload, or LinkRefused. With a
        signer, a state-changing request is signed and the reader's MAC on its answer checked."""
        signed = self.signer is not None and linkauth.authenticated(command)
        if signed:
            payload = self.signer.sign(command, payload)
        rsp = self.exchange(command, payload)
        if signed:
            return self.signer.open_response(command, rsp)
        return rsp

    def exchange(self, command, payload=b""):
        """One request frame as given (no signing): the response payload, or LinkRefused."""
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


# --- the back office's part, from raw masters (tests and benchmarks without a keystore) ----------

_DAY = 86400


def signed_config(vr, terminal, journal_master, time, version=1, blacklist=(0, ()), serial=None, cutoff=0,
                  window=600, mode=codec.MODE_POS, fixed_price=0, grace=0, txn_cap=0, daily_cap=0, issuer=1,
                  transparent=0, day=None, balance_cap=0, v1_until=0):
    """A day configuration for the reader `vr` (its next serial unless given), signed with
    `terminal`'s configuration key derived from `journal_master`. `blacklist`: (version, entries)."""
    if serial is None:
        serial = codec.decode_reader_info(vr.request(codec.LINK_CMD_INFO))[codec.READER_INFO_CONFIG_SERIAL] + 1
    stored = blacklist[0].to_bytes(4, "little") + b"".join(sorted(bytes(e) for e in blacklist[1]))
    return dayconfig.seal(kdf.config_key(journal_master, terminal, version), terminal, version, serial, time,
                          time // _DAY if day is None else day, cutoff, window, mode, fixed_price, grace, txn_cap,
                          daily_cap, issuer, transparent, blacklist[0], dayconfig.blacklist_digest(stored),
                          balance_cap=balance_cap, v1_until=v1_until)


def provision(vr, terminal, journal_master, sector_a, purse_mac, version=1):
    """The lab ceremony (transport key into NVS) and the first PROVISION_KEYS under it; `vr` then
    signs with the terminal's link key."""
    transport = kdf.transport_key(journal_master, terminal, version)
    vr.install_transport_key(transport)
    vr.authenticate(transport)
    vr.request(codec.LINK_CMD_PROVISION_KEYS, codec.encode_provision_keys(
        terminal, version, 1, sector_a, purse_mac, kdf.journal_key(journal_master, terminal, version),
        kdf.link_key(journal_master, terminal, version), kdf.config_key(journal_master, terminal, version)))
    vr.authenticate(kdf.link_key(journal_master, terminal, version))


def sign_in(vr, terminal, journal_master, time, blacklist=(0, ()), operator=7, **settings):
    """Load `blacklist` (version, entries) and open the day under a signed configuration."""
    entries = sorted(bytes(e) for e in blacklist[1])
    # a chunk, with room for the link MAC trailer the signer adds
    per = (codec.LINK_MAX_PAYLOAD - codec.BLACKLIST_HEADER_SIZE - codec.LINK_AUTH_SIZE) // codec.BLACKLIST_ENTRY_SIZE
    offset = 0
    while True:
        part = entries[offset:offset + per]
        vr.request(codec.LINK_CMD_LOAD_BLACKLIST, codec.encode_blacklist_header(blacklist[0], len(entries), offset,
                                                                                len(part)) + b"".join(part))
        offset += len(part)
        if offset >= len(entries):
            break
    record = signed_config(vr, terminal, journal_master, time, blacklist=blacklist, **settings)
    return codec.decode_sign_in_result(vr.request(codec.LINK_CMD_SIGN_IN, codec.encode_sign_in(operator) + record))
