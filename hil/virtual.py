"""The virtual rig's hardware: the reader firmware on a simulated PN532 behind a pty (the store
reader, reached through the host's pyserial LinkClient exactly like an ESP32 on USB), an issuance
reader on the same card deck, and blank cards with their own fault injectors. CPython only.
"""
from icpurse.host.codec import ST_TIMEOUT
from icpurse.firmware.hal.sim import SimClock, SimUart
from icpurse.firmware.mifare import ClassicTag, TagGone
from icpurse.firmware.pn532 import PN532
from icpurse.firmware.pn532_hsu import HSU
from icpurse.hil.sim import factory
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pn532 import PN532 as SimPN532
from icpurse.hil.sim.vreader import start_reader_pty
from icpurse.hil.presenters import SweepFaults
from icpurse.host.terminals.keys import transport_key
from icpurse.keys.demo import demo_domain


class VirtualIssuanceReader:
    """An issuance reader (the firmware's own PN532 driver and MIFARE layer, in process) on `deck`;
    the interface of host/readers: wait_for_card(timeout) -> tag, close()."""

    def __init__(self, deck, vclock):
        self.deck = deck
        self.chip = SimPN532(deck, vclock)
        self.driver = PN532(HSU(SimUart(self.chip)), SimClock(vclock))
        self.driver.begin()

    def __str__(self):
        return "virtual issuance reader"

    def wait_for_card(self, timeout=10.0):
        found = self.driver.list_passive_target(int(timeout * 1000))
        if found is None:
            raise TagGone(ST_TIMEOUT, "no card on the virtual issuance reader")
        uid, atqa, sak = found
        return ClassicTag(self.driver, uid, atqa, sak)

    def close(self):
        pass


def blank_uid(i):
    """Distinct 4-byte UIDs for the deck's card i (1-based); 0x5E marks a simulated card."""
    return bytes((0x5E, 0x1D, 0x00, i & 0xFF))


class VirtualBench:
    """Everything the virtual rig consists of. `close()` stops the pty server."""

    def __init__(self, rig, state_dir):
        self.vclock = VirtualClock()
        self.store_deck = Deck()
        self.vreader, self.pty, self._stop = start_reader_pty(state_dir, deck=self.store_deck, vclock=self.vclock)
        if not self.vreader.reader.key_version:  # the lab's transport key ceremony, on the virtual board
            self.vreader.install_transport_key(transport_key(demo_domain(), rig.store.terminal))
        self.port = self.pty.path
        self.cards = [factory.blank_card(blank_uid(i + 1), rig.cards.size, faults=SweepFaults())
                      for i in range(rig.cards.count)]
        if rig.issuance.transport == "virtual":
            self.issuance_deck = Deck()
            self.issuance_reader = VirtualIssuanceReader(self.issuance_deck, self.vclock)
        else:  # "store": the virtual ESP32 in transparent mode, same deck
            self.issuance_deck = self.store_deck
            self.issuance_reader = None

    @property
    def decks(self):
        return {"store": self.store_deck, "issuance": self.issuance_deck}

    def close(self):
        self._stop.set()
