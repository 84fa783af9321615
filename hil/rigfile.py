"""Rig description files (TOML): which store reader, which issuance reader, how cards reach them.

One file per rig in hil/rigs/ (`virtual.toml` for `make test`, `esp32-pn532.toml` for a bench with
real boards); `load_rig(path, port=...)` parses and validates one and returns a `Rig`. Every error
names the file and the setting (`RigError`). docs/hil.md describes the format.

Whether the rig's hardware is actually there is a separate question (`Rig.absent()`): a missing
board is not an error in the file, the suite is skipped with that one-line reason.
"""
from __future__ import annotations

import os
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from icpurse.host.programmes.tomlread import Reader, TomlShapeError

STORE_TRANSPORTS = ("serial", "virtual")
ISSUANCE_TRANSPORTS = ("pcsc", "store", "virtual")  # store = the store ESP32 in transparent mode
PRESENTERS = ("operator", "emulator", "virtual")
PLACEHOLDERS = ("port", "firmware")
RIGS_DIR = Path(__file__).resolve().parent / "rigs"
DEFAULT_RIG = RIGS_DIR / "virtual.toml"


class RigError(ValueError):
    """A rig file that cannot be used: the message names the file and the setting."""


@dataclass(frozen=True)
class StoreReader:
    transport: str
    port: str | None = None  # serial: after the PORT env / --port override
    baud: int = 115200
    terminal: int = 31000001


@dataclass(frozen=True)
class IssuanceReader:
    transport: str
    name: str = ""  # pcsc: (part of) the PC/SC reader name; "" = the first reader


@dataclass(frozen=True)
class Cards:
    presenter: str
    count: int = 2
    size: str = "1k"  # virtual deck only
    disposable: bool = False  # the rig's cards may be personalised (destructive scenarios run)


@dataclass(frozen=True)
class Timeouts:
    scenario: float = 60.0  # seconds per scenario (test)
    operator: float = 120.0  # seconds to wait for the operator's Enter
    card: float = 10.0  # seconds a reader waits for a card


@dataclass(frozen=True)
class Deploy:
    steps: tuple = ()  # commands run with --deploy, e.g. "make deploy PORT={port}"
    flash: str = ""  # command run with --flash FIRMWARE, e.g. "make flash PORT={port} FIRMWARE={firmware}"

    def commands(self, port, firmware=None):
        """The shell commands to run, placeholders filled in (flash first, when asked for)."""
        out = []
        if firmware:
            if not self.flash:
                raise RigError("this rig has no [deploy] flash command")
            out.append(self.flash.format(port=port, firmware=firmware))
        out += [s.format(port=port, firmware=firmware or "") for s in self.steps]
        return out


@dataclass(frozen=True)
class Rig:
    name: str
    path: str
    description: str
    store: StoreReader
    issuance: IssuanceReader
    cards: Cards
    sweep_pulls: int | None  # None = every command index (virtual deck only)
    timeouts: Timeouts
    deploy: Deploy = field(default_factory=Deploy)

    @property
    def virtual(self):
        return self.store.transport == "virtual"

    @property
    def needs_operator(self):
        return self.cards.presenter == "operator"

    def absent(self):
        """None when the rig can run here, else one line saying what is missing."""
        if self.store.transport == "serial":
            if not self.store.port:
                return "rig %s: no serial port for the store reader (make hil PORT=/dev/ttyUSB0, or --port)" % self.name
            if not os.path.exists(self.store.port):
                return "rig %s: serial port %s not found (ESP32 not plugged in?)" % (self.name, self.store.port)
        if self.issuance.transport == "pcsc":
            reason = _pcsc_absent(self.issuance.name)
            if reason:
                return "rig %s: %s" % (self.name, reason)
        if self.cards.presenter == "emulator":
            return "rig %s: the card emulator presenter is reserved for later; use operator or virtual" % self.name
        return None

    def operator_absent(self):
        """None when operator prompts can be answered here (a terminal at /dev/tty), else why not."""
        if not self.needs_operator:
            return None
        try:
            with open("/dev/tty", "r+b", buffering=0):
                return None
        except OSError as e:
            return "rig %s: operator prompts need a terminal (/dev/tty: %s)" % (self.name, e.strerror or e)


def _pcsc_absent(name):
    try:
        from icpurse.host.readers.pcsc import reader_names
        names = reader_names()
    except Exception as e:  # pyscard missing, pcscd not running
        return "no PC/SC service for the issuance reader (%s)" % (str(e).strip() or type(e).__name__)
    if not names:
        return "no PC/SC reader connected for the issuance reader"
    if name and not any(name in n for n in names):
        return "no PC/SC reader named %r (have: %s)" % (name, ", ".join(names))
    return None


def _placeholders_ok(r, key, text):
    for _, fname, _, _ in string.Formatter().parse(text):
        if fname is not None and fname not in PLACEHOLDERS:
            r.fail(key, "unknown placeholder {%s} (known: %s)" % (fname, ", ".join("{%s}" % p for p in PLACEHOLDERS)))


def _choice(r, key, choices, default=None):
    v = r.str(key) if default is None else r.str(key, default)
    if v not in choices:
        r.fail(key, "must be one of %s, got %r" % (", ".join(choices), v))
    return v


def _seconds(r, key, default):
    v = r.raw(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        r.fail(key, "must be a number of seconds > 0, got %r" % (v,))
    return float(v)


def parse_rig(data, where, port=None):
    """A `Rig` from parsed TOML. `port` (the --port option or PORT env) overrides store_reader.port."""
    try:
        top = Reader(data, where)
        top.allow("rig", "store_reader", "issuance_reader", "cards", "sweeps", "timeouts", "deploy")
        meta = top.table("rig", required=True)
        meta.allow("name", "description")
        name = meta.str("name")
        description = meta.str("description", "")
        if not name.strip():
            meta.fail("name", "must not be empty")

        s = top.table("store_reader", required=True)
        s.allow("transport", "port", "baud", "terminal")
        transport = s.str("transport")
        if transport == "pcsc":
            s.fail("transport", "pcsc is for the issuance reader only: the store reader runs the icpurse firmware "
                                "(serial or virtual)")
        if transport not in STORE_TRANSPORTS:
            s.fail("transport", "must be one of %s, got %r" % (", ".join(STORE_TRANSPORTS), transport))
        file_port = s.str("port", "")
        if transport != "serial" and file_port:
            s.fail("port", "only a serial store reader has a port")
        baud = s.int("baud", 115200)
        terminal = s.int("terminal", 31000001)
        if not 1 <= terminal <= 99999999:
            s.fail("terminal", "must be a terminal number of 1..99999999, got %r" % (terminal,))
        chosen_port = (port or "").strip() or file_port or None
        store = StoreReader(transport, chosen_port if transport == "serial" else None, baud, terminal)

        i = top.table("issuance_reader", required=True)
        i.allow("transport", "name")
        itransport = _choice(i, "transport", ISSUANCE_TRANSPORTS)
        iname = i.str("name", "")
        if iname and itransport != "pcsc":
            i.fail("name", "only a pcsc issuance reader has a name")
        if itransport == "virtual" and transport != "virtual":
            i.fail("transport", "a virtual issuance reader needs the virtual deck, i.e. a virtual store reader")
        if itransport == "pcsc" and transport == "virtual":
            i.fail("transport", "a PC/SC issuance reader cannot see the virtual store reader's cards; use virtual")

        c = top.table("cards", required=True)
        c.allow("presenter", "count", "size", "disposable")
        presenter = _choice(c, "presenter", PRESENTERS)
        if (presenter == "virtual") != (transport == "virtual"):
            c.fail("presenter", "the virtual deck goes with a virtual store reader, and only with it")
        count = c.int("count", 2)
        if not 1 <= count <= 16:
            c.fail("count", "must be 1..16 cards, got %r" % (count,))
        size = _choice(c, "size", ("1k", "4k"), "1k")
        disposable = c.bool("disposable", presenter == "virtual")

        w = top.table("sweeps")
        w.allow("pulls")
        pulls = w.raw("pulls", "all" if presenter == "virtual" else 3)
        if pulls == "all":
            if presenter != "virtual":
                w.fail("pulls", "'all' (every command index) needs the virtual deck; give a number of pulls")
            pulls = None
        elif isinstance(pulls, bool) or not isinstance(pulls, int) or not 0 <= pulls <= 100:
            w.fail("pulls", "must be \"all\" or a number of pulls 0..100, got %r" % (pulls,))

        t = top.table("timeouts")
        t.allow("scenario", "operator", "card")
        timeouts = Timeouts(_seconds(t, "scenario", 60), _seconds(t, "operator", 120), _seconds(t, "card", 10))

        d = top.table("deploy")
        d.allow("steps", "flash")
        steps = tuple(d.str_list("steps", []))
        for n, step in enumerate(steps):
            _placeholders_ok(d, "steps[%d]" % n, step)
        flash = d.str("flash", "")
        _placeholders_ok(d, "flash", flash)
        if (steps or flash) and transport != "serial":
            d.fail("steps" if steps else "flash", "only a rig with a serial (ESP32) store reader is deployed to")
    except TomlShapeError as e:
        raise RigError(str(e)) from None
    return Rig(name, where, description, store, IssuanceReader(itransport, iname),
               Cards(presenter, count, size, disposable), pulls, timeouts, Deploy(steps, flash))


def load_rig(path=None, port=None):
    """Load and validate the rig file at `path` (default hil/rigs/virtual.toml).

    `port`: the store reader's serial port from --port; if None, the PORT environment variable."""
    path = Path(path) if path else DEFAULT_RIG
    if not path.exists() and not path.is_absolute() and (RIGS_DIR / path.name).exists() and path.parent == Path("."):
        path = RIGS_DIR / path.name  # `--rig esp32-pn532.toml` finds the shipped rigs
    if port is None:
        port = os.environ.get("PORT")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RigError("cannot read rig file %s: %s" % (path, e.strerror or e)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RigError("%s: not valid TOML: %s" % (path, e)) from None
    return parse_rig(data, str(path), port)
