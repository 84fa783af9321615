"""`--reader sim`: an in-process virtual rig for the host tools, no hardware and no daemon - a card
hopper: several cards, one of them on the reader.

Registered from the rig (entry point group `icpurse.readers`, name `sim`, in pyproject.toml) so that
the host tools never import the simulator; host/readers/ finds it by that name.

The firmware's own PN532 driver and MIFARE layer talk to the simulated PN532. The hopper lives in
a state folder (`--reader sim:DIR`; default: the user's data folder, `sim-cards/`;
`ICPURSE_SIM_STATE` overrides), so successive `icpurse` runs see the same cards:

- `hopper.json`: the cards (name, UID, dump file) in hopper order, the one on the reader, the next
  blank's UID and the armed faults;
- `<name>.mfd`: each card's dump (the first blank of a fresh folder is `card`, `card.mfd`), written (atomically) after EVERY change to the card - a run
  killed in the middle of a top-up leaves the card exactly as the simulated chip holds it.

A fresh folder gets one blank 1K card on the reader. Every blank gets its own UID (5E11xxxx,
counting up). `eject()` - called by batch commands after each card - moves the card on the reader
out to the tray and puts the next waiting card on (the field stays empty when none is waiting, so
a batch ends; the next run puts the stack back and starts with its first card);
`recall(uid)` puts a card back on the reader. The
`icpurse sim hopper` commands add blanks, present or remove cards and arm faults between runs:
`remove_after N` (the card leaves the field after N more card commands) and `tear_next_write MODE
[SEED]` (the next block write is torn), as `sim serve` does. A fault fires once and is disarmed in
the state at once. A folder holding only the `card.mfd` of earlier versions is taken over as card
`card`.

Like the reader firmware (firmware/main.py), the PN532 link is switched to 921,600 baud after
start-up; a chip that does not take the switch is used at 115,200 (`baud` says which).
"""
import json
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
from icpurse.hil.sim.faults import TEAR_MODES, Faults
from icpurse.hil.sim.pn532 import PN532 as SimPN532
from icpurse.hil.sim.rig import FAST_BAUD
from icpurse.host.readers import NoReader

STATE = "hopper.json"
FIRST_BLANK_UID = 0x5E110001
LEGACY = "card.mfd"


def default_state_dir():
    env = os.environ.get("ICPURSE_SIM_STATE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("icpurse")) / "sim-cards"


def _write_atomically(path, data):
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Hopper:
    """The hopper's state folder: cards, order, the card on the reader, armed faults. Used by the
    reader below and by `icpurse sim hopper` (which changes it between runs)."""

    def __init__(self, state_dir=None, blank_uid=None):
        """`blank_uid` (4 bytes): the UID the hopper counts its blanks from, when the folder is new."""
        self.dir = Path(state_dir) if state_dir else default_state_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / STATE
        if self.path.exists():
            try:
                self.state = json.loads(self.path.read_text(encoding="utf-8"))
                self.state["cards"], self.state["next_uid"]  # noqa: B018 - the keys must be there
            except (ValueError, KeyError, TypeError) as e:
                raise NoReader("%s is not a card hopper state (%s): move the folder away to start afresh" % (
                    self.path, e)) from None
        else:
            first = int.from_bytes(blank_uid, "big") if blank_uid is not None else FIRST_BLANK_UID
            self.state = {"cards": [], "in_field": None, "next_uid": first,
                          "faults": {"remove_after": None, "tear": None}}
            legacy = self.dir / LEGACY
            if legacy.exists():
                card = self._load_file(legacy)
                self.state["cards"].append({"name": "card", "uid": card.uid.hex().upper(), "file": LEGACY})
                self.state["in_field"] = "card"
            else:  # the first blank keeps the name and file earlier versions gave the one card
                self.add_blank(present=True, name="card")
            self.save()

    # --- state ---------------------------------------------------------------------------------
    def save(self):
        _write_atomically(self.path, json.dumps(self.state, indent=1, sort_keys=True).encode("utf-8"))

    def names(self):
        return [c["name"] for c in self.state["cards"]]

    def entry(self, name):
        for c in self.state["cards"]:
            if c["name"] == name:
                return c
        raise ValueError("no card %r in the hopper (it has %s)" % (name, ", ".join(self.names()) or "none"))

    def _load_file(self, path):
        try:
            return dumps.load(str(path))
        except (OSError, ValueError) as e:
            raise NoReader("%s is not a card dump (%s): move it away, or put a 1K / 4K .mfd dump there" % (
                path, e)) from None

    def load(self, name, faults=None):
        e = self.entry(name)
        card = self._load_file(self.dir / e["file"])
        card.faults = faults
        return card

    def add_blank(self, present=False, size="1k", name=None):
        uid = self.state["next_uid"]
        self.state["next_uid"] = uid + 1
        name = name or "blank-%08X" % uid
        card = factory.blank_card(uid.to_bytes(4, "big"), size=size)
        _write_atomically(self.dir / (name + ".mfd"), card.to_mfd())
        self.state["cards"].append({"name": name, "uid": "%08X" % uid, "file": name + ".mfd"})
        if present:
            self.state["in_field"] = name
        return name

    def add_dump(self, name, data):
        if name in self.names():
            raise ValueError("a card named %r is already in the hopper" % name)
        from icpurse.hil.sim.card import ClassicCard

        card = ClassicCard.from_mfd(data)
        _write_atomically(self.dir / (name + ".mfd"), card.to_mfd())
        self.state["cards"].append({"name": name, "uid": card.uid.hex().upper(), "file": name + ".mfd"})
        return name

    def present(self, name):
        self.entry(name)
        tray = self.state.setdefault("tray", [])
        if name in tray:
            tray.remove(name)
        self.state["in_field"] = name

    def remove(self):
        self.state["in_field"] = None

    def waiting(self):
        """The cards still in the input stack (neither on the reader nor out in the tray), in order."""
        tray = set(self.state.setdefault("tray", []))
        return [n for n in self.names() if n not in tray and n != self.state["in_field"]]

    def next_card(self):
        """The card on the reader goes out to the tray; the next waiting card comes on (the field
        stays empty when none is waiting: `icpurse sim hopper add --blanks N` fills the stack)."""
        current = self.state["in_field"]
        tray = self.state.setdefault("tray", [])
        if current is not None and current not in tray:
            tray.append(current)
        waiting = self.waiting()
        self.state["in_field"] = waiting[0] if waiting else None
        return self.state["in_field"]

    def arm(self, kind, *args):
        f = self.state["faults"]
        if kind == "remove_after":
            n = int(args[0]) if args else -1
            if n < 0:
                raise ValueError("remove_after N: N >= 0 card commands")
            f["remove_after"] = n
        elif kind == "tear_next_write":
            mode = args[0] if args else "mix"
            if mode not in TEAR_MODES:
                raise ValueError("tear_next_write MODE: one of %s" % ", ".join(TEAR_MODES))
            f["tear"] = [mode, int(args[1]) if len(args) > 1 else 0]
        elif kind == "clear":
            f["remove_after"], f["tear"] = None, None
        else:
            raise ValueError("faults: remove_after N | tear_next_write old|new|mix [SEED] | clear")

    def describe(self):
        tray = self.state.get("tray", [])
        return {"dir": str(self.dir), "in_field": self.state["in_field"], "faults": dict(self.state["faults"]),
                "cards": [dict(c, on_reader=c["name"] == self.state["in_field"], out=c["name"] in tray)
                          for c in self.state["cards"]]}


class _PersistentFaults(Faults):
    """The hopper's armed faults: a fault that fires is disarmed in the saved state at once."""

    def __init__(self, hopper):
        super().__init__()
        self.hopper = hopper
        armed = hopper.state["faults"]
        if armed.get("remove_after") is not None:
            self.remove_after(armed["remove_after"])
        if armed.get("tear"):
            self.tear_next_write(*armed["tear"])

    def before_command(self):
        verdict = super().before_command()
        if self.hopper.state["faults"].get("remove_after") is not None:
            left = self._remove_in
            self.hopper.state["faults"]["remove_after"] = None if left < 0 else left
            if verdict == 1 or left < 0:  # REMOVE fired: the card is off the reader
                self.hopper.state["in_field"] = None
                self.hopper.save()
        return verdict

    def on_write(self, old, new):
        data, torn = super().on_write(old, new)
        if torn:
            self.hopper.state["faults"]["tear"] = None
            self.hopper.state["in_field"] = None
            self.hopper.save()
        return data, torn


class SimReader:
    DESCRIPTION = "in-process virtual rig, a card hopper (no hardware)"  # `icpurse readers` shows it

    def __init__(self, state_dir=None, blank_uid=None):
        """`blank_uid`: the first blank's UID in a new state folder (default 5E110001; the bench
        names it so its figures are for a known card)."""
        self.hopper = Hopper(state_dir, blank_uid)
        self.state_dir = self.hopper.dir
        state = self.hopper.state
        if state["in_field"] is None and state.get("tray") and not self.hopper.waiting():
            # every card went through in an earlier run: the clerk puts the stack back, in order
            state["tray"] = []
            state["in_field"] = self.hopper.names()[0]
            self.hopper.save()
        self.faults = _PersistentFaults(self.hopper)
        self.deck = Deck()
        self.cards = {}
        for name in self.hopper.names():
            card = self.hopper.load(name, self.faults)
            self._watch(name, card)
            self.cards[name] = card
            self.deck.add(name, card)
        if self.hopper.state["in_field"] is not None:
            self.deck.present(self.hopper.state["in_field"])
        self.vclock = VirtualClock()
        self.chip = SimPN532(self.deck, self.vclock)
        self.driver = PN532(HSU(SimUart(self.chip)), SimClock(self.vclock))
        self.driver.begin()
        try:
            self.driver.set_baud(FAST_BAUD)
        except PN532Error:
            pass  # stays at 115,200, as the firmware does
        self.baud = self.chip.baud

    @property
    def card(self):
        """The card on the reader (None when the field is empty)."""
        name = self.hopper.state["in_field"]
        return self.cards.get(name) if name else None

    def _watch(self, name, card):
        """Save the card's dump after every block it stores (write, transfer, torn or not)."""
        path = self.hopper.dir / self.hopper.entry(name)["file"]
        card.on_stored = lambda c: _write_atomically(path, c.to_mfd())

    def __str__(self):
        return "sim:%s" % self.hopper.dir

    def wait_for_card(self, timeout=10.0):
        found = self.driver.list_passive_target(int(timeout * 1000))
        if found is None:
            raise TagGone(ST_TIMEOUT, "no card on the simulated reader")
        uid, atqa, sak = found
        return ClassicTag(self.driver, uid, atqa, sak)

    def eject(self):
        """The card hopper: the card on the reader goes out to the tray, the next waiting card comes
        on (none: the field is empty)."""
        name = self.hopper.next_card()
        self.deck.remove()
        if name is not None:
            self.deck.present(name)
        self.hopper.save()

    def recall(self, uid):
        """Put the card with `uid` (hex) back on the reader, from the tray or the stack (a clerk handing
        the same card back, e.g. to empty it at an exchange)."""
        for e in self.hopper.state["cards"]:
            if e["uid"] == uid.upper():
                self.hopper.present(e["name"])
                self.deck.swap(e["name"])
                self.hopper.save()
                return
        raise ValueError("no card %s in the hopper" % uid)

    def close(self):
        for name, card in self.cards.items():
            _write_atomically(self.hopper.dir / self.hopper.entry(name)["file"], card.to_mfd())
        self.hopper.save()
