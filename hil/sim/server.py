"""The virtual rig as a running service: one deck of cards, one clock, one set of faults, reachable
through the pty (PN532), vpcd (PC/SC) and the control socket — all served from one thread, so the
card objects are never touched concurrently.

CPython only. `icpurse sim serve` (hil/sim/cli.py) builds a `Rig` and calls `serve()`.
"""
import os
import select
import time

from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.faults import Faults

DEFAULT_UID = bytes.fromhex("DEADBEEF")
SIZES = {"1k": ("1k", 4), "4k": ("4k", 4), "1k7": ("1k", 7), "4k7": ("4k", 7)}
DUMP_BYTES = {"1k": 1024, "4k": 4096}

# Control-interface fault commands -> Faults methods and how their arguments are read.
FAULTS = {
    "remove_after": (int,),
    "tear_next_write": (str, int),
    "rf_timeout_next": (int,),
    "bad_checksum_next": (int,),
    "drop_ack_next": (int,),
    "garbage_before_next": (bytes.fromhex,),
    "truncate_next": (int,),
    "clear": (),
}


MAGIC_SPECS = {"magic": "cuid", "cuid": "cuid", "gen2": "cuid", "gen1a": "gen1a", "fuid": "fuid"}


class CardSpec:
    """`[NAME=]SIZE:UIDHEX[:KIND]`, SIZE one of 1k, 4k, 1k7, 4k7 (7-byte UID), KIND a clone card:
    gen1a, cuid (alias gen2, and the historical `magic`), fuid."""

    def __init__(self, text, index=0):
        self.text = text
        self.file = None
        name = None
        if "=" in text:
            name, text = text.split("=", 1)
        if name is not None and self._file_spec(name, text):
            return
        parts = text.split(":")
        size = parts[0].lower()
        if size not in SIZES:
            raise ValueError("card size %r: expected one of %s" % (parts[0], ", ".join(SIZES)))
        self.size, uid_len = SIZES[size]
        self.magic = MAGIC_SPECS.get(parts[2].lower()) if len(parts) > 2 else None
        if len(parts) > 2 and not self.magic or len(parts) > 3:
            raise ValueError("card %r: expected [NAME=]SIZE:UIDHEX[:KIND], KIND one of %s" % (
                self.text, ", ".join(sorted(MAGIC_SPECS))))
        if len(parts) > 1 and parts[1]:
            try:
                self.uid = bytes.fromhex(parts[1])
            except ValueError:
                raise ValueError("card %r: UID %r is not hex" % (self.text, parts[1]))
        else:
            # No UID given: a distinct one per card so several default cards can share a deck.
            self.uid = bytes([0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03][:uid_len - 1]) + bytes([index])
        if len(self.uid) != uid_len:
            raise ValueError("card %r: a %s card has a %d-byte UID, got %d bytes" % (
                self.text, size, uid_len, len(self.uid)))
        self.name = name or self.uid.hex()

    def _file_spec(self, name, text):
        """NAME=FILE[:KIND]: a card from a dump file in any format hil/sim/dumps.py reads."""
        path, kind = text, None
        head, sep, tail = text.rpartition(":")
        if sep and tail.lower() in MAGIC_SPECS and os.path.isfile(head):
            path, kind = head, MAGIC_SPECS[tail.lower()]
        if not os.path.isfile(path):
            if os.sep in path or "." in os.path.basename(path):
                raise ValueError("card %r: no file %s" % (self.text, path))
            return False
        from icpurse.hil.sim import dumps

        self.file = path
        self.magic = kind
        self.card, self.filled = dumps.load_with_report(path, magic=kind)
        self.size = self.card.size
        self.uid = bytes(self.card.uid)
        self.name = name
        return True


class Rig:
    def __init__(self, specs=None, state_dir=None, log=None):
        self.log = log
        self.clock = VirtualClock()
        self.faults = Faults()  # shared by every card and the chip
        self.deck = Deck()
        self.cards = {}  # name -> card, in deck order
        self.state_dir = state_dir
        self._saved = {}  # name -> last dump written
        specs = specs or [CardSpec("1k:" + DEFAULT_UID.hex())]
        for spec in specs:
            if spec.name in self.cards:
                raise ValueError("two cards named %r" % spec.name)
            card = self._make_card(spec)
            self.cards[spec.name] = card
            self.deck.add(spec.name, card)
            self._saved[spec.name] = card.to_mfd()
        self.deck.present(next(iter(self.cards)))
        self.chip = None
        self.pty = None
        self.vpcd = None
        self.persona = None
        self.control = None
        self._stop = False

    # ---- cards and dumps ------------------------------------------------------------------

    def dump_path(self, card):
        return os.path.join(self.state_dir, bytes(card.uid).hex() + ".mfd")

    STATE_EXTENSIONS = (".mfd", ".bin", ".nfc", ".json", ".eml", ".mct")

    def _state_file(self, card):
        """The card's dump in --state: <uid>.mfd, else <uid> in another dump format, else None."""
        base = os.path.join(self.state_dir, bytes(card.uid).hex())
        for ext in self.STATE_EXTENSIONS:
            if os.path.exists(base + ext):
                return base + ext
        return None

    def _make_card(self, spec):
        if spec.file is not None:
            card = spec.card
        else:
            card = ClassicCard(spec.uid, size=spec.size, magic=spec.magic)
        if self.state_dir:
            path = self._state_file(card)
            if path is not None and not path.endswith(".mfd"):
                from icpurse.hil.sim import dumps

                card = dumps.load(path, magic=spec.magic, uid_len=len(spec.uid))
                if card.size != spec.size or bytes(card.uid) != spec.uid:
                    raise ValueError("%s holds a %s card with UID %s, not %s %s: move the file away or name that "
                                     "card in --card" % (path, card.size, bytes(card.uid).hex(), spec.size,
                                                         spec.uid.hex()))
            elif path is not None:
                with open(path, "rb") as f:
                    data = f.read()
                if len(data) != DUMP_BYTES[spec.size]:
                    raise ValueError("%s holds %d bytes; a %s dump has %d: move the file away (a fresh card is "
                                     "made) or give the card's real size in --card" % (
                                         path, len(data), spec.size, DUMP_BYTES[spec.size]))
                # The UID length cannot be read from a raw dump for sure: the spec says it.
                card = ClassicCard.from_mfd(data, magic=spec.magic, uid_len=len(spec.uid))
                if bytes(card.uid) != spec.uid:
                    raise ValueError("%s holds the UID %s, not %s: move the file away or name that UID in --card"
                                     % (path, bytes(card.uid).hex(), spec.uid.hex()))
        card.faults = self.faults
        return card

    def save_dumps(self):
        """Write the dump of every card that changed since it was last written (atomic rename)."""
        if not self.state_dir:
            return
        os.makedirs(self.state_dir, exist_ok=True)
        for name, card in self.cards.items():
            data = bytes(card.to_mfd())
            if data == self._saved.get(name) and os.path.exists(self.dump_path(card)):
                continue
            path = self.dump_path(card)
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            self._saved[name] = data

    def name_in_field(self):
        card = self.deck.in_field
        for name, c in self.cards.items():
            if c is card:
                return name
        return None

    # ---- the ways in ----------------------------------------------------------------------

    def open_pty(self, link=None):
        from icpurse.hil.sim.pn532 import PN532
        from icpurse.hil.sim.pty import PtyLink

        self.chip = PN532(self.deck, clock=self.clock, faults=self.faults)
        self.pty = PtyLink(self.chip, link=link, on_activity=self.save_dumps, log=self.log)
        return self.pty.path

    def open_reader_pty(self, reader_dir, link=None, transport_key=None):
        """The virtual ESP32 store reader (the real firmware on this rig's deck) on a pty;
        `transport_key`: the lab ceremony, for a reader that holds no link key yet."""
        from icpurse.hil.sim.pty import PtyLink
        from icpurse.hil.sim.vreader import FileNvs, ReaderEndpoint
        from icpurse.hil.sim.rig import FAST_BAUD, VirtualReader

        os.makedirs(reader_dir, exist_ok=True)
        self.reader = VirtualReader(reader_dir, deck=self.deck, vclock=self.clock,
                                    nvs=FileNvs(os.path.join(reader_dir, "nvs.json")), baud=FAST_BAUD)
        if transport_key is not None and not self.reader.reader.key_version:
            self.reader.install_transport_key(transport_key)
        self.pty = PtyLink(ReaderEndpoint(self.reader), link=link, on_activity=self.save_dumps, log=self.log)
        return self.pty.path

    def open_pcsc(self, port=None, persona="storage"):
        """Attach to vpcd as a PC/SC reader: `storage` (PC/SC part 3 storage-card APDUs only) or
        `acr122u` (those + the ACR122U pseudo-APDUs: direct transmit to a PN532, firmware, LEDs).
        Default port: Debian's "Virtual PCD 00 00"; for `acr122u` the reader named as a real
        ACR122U when pcscd is told about one (tools/ensure-vpcd-acr122u), so libnfc's scan finds it.
        Returns the PC/SC reader name."""
        from icpurse.hil.sim.pcsc import StorageCardPersona
        from icpurse.hil.sim.vpcd import DEFAULT_PORT, VpcdClient, acr122u_port, reader_name

        if port is None and persona == "acr122u":
            port = acr122u_port()
        port = DEFAULT_PORT if port is None else port
        if persona == "acr122u":
            from icpurse.hil.sim.acr122u import Acr122uPersona

            self.persona = Acr122uPersona(self.deck, clock=self.clock, faults=self.faults)
        elif persona == "storage":
            self.persona = StorageCardPersona(self.deck, clock=self.clock)
        else:
            raise ValueError("PC/SC persona %r: expected storage or acr122u" % (persona,))
        self.vpcd = VpcdClient(self.persona, port=port, on_activity=self.save_dumps, log=self.log)
        return reader_name(port)

    def open_control(self, path):
        from icpurse.hil.sim.control import ControlServer

        self.control = ControlServer(path, self.command)
        return self.control.path

    # ---- control commands (hil/sim/control.py carries them) -------------------------------

    def command(self, line):
        """One control line -> JSON-able dict. Never raises for bad input."""
        words = line.split()
        if not words:
            return {"ok": False, "error": "empty command"}
        verb, args = words[0].lower(), words[1:]
        try:
            handler = getattr(self, "_cmd_" + verb, None)
            if handler is None:
                return {"ok": False, "error": "unknown command %r (list, present, remove, swap, status, "
                                              "dump, fault)" % verb}
            return handler(*args)
        except TypeError as exc:
            return {"ok": False, "error": "bad arguments for %s: %s" % (verb, exc)}
        except (KeyError, ValueError) as exc:
            return {"ok": False, "error": str(exc)}

    def _card_info(self, name):
        card = self.cards[name]
        kind = getattr(card, "magic", None)
        return {"name": name, "uid": bytes(card.uid).hex(), "size": card.size, "magic": bool(kind),
                "kind": kind or "genuine", "in_field": card is self.deck.in_field}

    def _known(self, name):
        if name not in self.cards:
            raise KeyError("no card named %r (have: %s)" % (name, ", ".join(self.cards)))
        return name

    def _cmd_list(self):
        return {"ok": True, "cards": [self._card_info(n) for n in self.cards]}

    def _cmd_present(self, name):
        self.deck.present(self._known(name))
        return {"ok": True, "in_field": self.name_in_field()}

    def _cmd_remove(self):
        self.deck.remove()
        return {"ok": True, "in_field": None}

    def _cmd_swap(self, name):
        self._known(name)
        self.deck.remove()
        self.deck.present(name)
        return {"ok": True, "in_field": self.name_in_field()}

    def _cmd_status(self):
        return {
            "ok": True,
            "in_field": self.name_in_field(),
            "clock_us": self.clock.now_us,
            "counters": dict(self.clock.counters),
            "pn532": self.pty.path if self.pty else None,
            "pcsc_connected": bool(self.vpcd and self.vpcd.sock is not None),
        }

    def _cmd_dump(self, name=None):
        name = self._known(name) if name else self.name_in_field()
        if name is None:
            raise ValueError("no card in the field; name one: dump NAME")
        return {"ok": True, "name": name, "mfd": bytes(self.cards[name].to_mfd()).hex()}

    def _cmd_fault(self, kind, *args):
        if kind not in FAULTS:
            raise ValueError("unknown fault %r (%s)" % (kind, ", ".join(sorted(FAULTS))))
        parsers = FAULTS[kind]
        if len(args) > len(parsers):
            raise ValueError("%s takes at most %d arguments" % (kind, len(parsers)))
        getattr(self.faults, kind)(*[p(a) for p, a in zip(parsers, args)])
        return {"ok": True, "fault": kind}

    # ---- event loop -----------------------------------------------------------------------

    def stop(self, *_):
        self._stop = True

    def _parts(self):
        parts = [p for p in (self.pty, self.vpcd) if p is not None]
        if self.control is not None:
            parts.extend(self.control.parts())
        return parts

    def serve(self, poll_s=0.05):
        try:
            while not self._stop:
                now = time.monotonic()
                for part in self._parts():
                    part.tick(now)
                fds = {}
                for part in self._parts():
                    fd = part.fileno()
                    if fd is not None:
                        fds[fd] = part
                try:
                    ready, _, _ = select.select(list(fds), [], [], poll_s)
                except InterruptedError:
                    continue
                for fd in ready:
                    fds[fd].on_readable()
        finally:
            self.close()

    def close(self):
        for part in (self.vpcd, self.pty, self.control):
            if part is not None:
                part.close()
        self.save_dumps()
