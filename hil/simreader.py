"""`--reader sim`: an in-process virtual rig for the host tools, no hardware and no daemon.

Registered from the rig (entry point group `icpurse.readers`, name `sim`, in pyproject.toml) so that
the host tools never import the simulator; host/readers/ finds it by that name.

The firmware's own PN532 driver and MIFARE layer talk to the simulated PN532; the cards persist as
.mfd dumps in a state folder (default: the user's data folder, `sim-cards/`; `ICPURSE_SIM_STATE`
overrides) so successive `icpurse` runs see the same cards. `card.mfd` is the card on the reader;
a fresh blank 1K card is made when the folder is empty.

Like the reader firmware (firmware/main.py), the PN532 link is switched to 921,600 baud after
start-up; a chip that does not take the switch is used at 115,200 (`baud` says which).
"""
import os
from pathlib import Path

from icpurse.firmware.hal.sim import SimClock, SimUart
from icpurse.firmware.mifare import ClassicTag, TagGone
from icpurse.host.codec import ST_TIMEOUT
from icpurse.firmware.pn532 import PN532, PN532Error
from icpurse.firmware.pn532_hsu import HSU
from icpurse.hil.sim import dumps, factory
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pn532 import PN532 as SimPN532
from icpurse.hil.sim.rig import FAST_BAUD
from icpurse.host.readers import NoReader


def default_state_dir():
    env = os.environ.get("ICPURSE_SIM_STATE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("icpurse")) / "sim-cards"


class SimReader:
    DESCRIPTION = "in-process virtual rig (no hardware)"  # `icpurse readers` shows it

    def __init__(self, state_dir=None, blank_uid=b"\x5e\x11\x00\x01"):
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.state_dir / "card.mfd"
        self.deck = Deck()
        if self.path.exists():
            try:
                self.card = dumps.load(str(self.path))
            except ValueError as e:  # truncated or not a dump: say which file, keep it untouched
                raise NoReader("%s is not a card dump (%s): move it away to start with a blank card, "
                               "or put a 1K / 4K .mfd dump there" % (self.path, e))
        else:
            self.card = factory.blank_card(blank_uid)
            dumps.save(self.card, str(self.path))
        self.deck.add("card", self.card)
        self.deck.present("card")
        self.vclock = VirtualClock()
        self.chip = SimPN532(self.deck, self.vclock)
        self.driver = PN532(HSU(SimUart(self.chip)), SimClock(self.vclock))
        self.driver.begin()
        try:
            self.driver.set_baud(FAST_BAUD)
        except PN532Error:
            pass  # stays at 115,200, as the firmware does
        self.baud = self.chip.baud

    def __str__(self):
        return "sim:%s" % self.path

    def wait_for_card(self, timeout=10.0):
        found = self.driver.list_passive_target(int(timeout * 1000))
        if found is None:
            raise TagGone(ST_TIMEOUT, "no card on the simulated reader")
        uid, atqa, sak = found
        return ClassicTag(self.driver, uid, atqa, sak)

    def close(self):
        dumps.save(self.card, str(self.path))
