"""firmware/app.py, the board's start-up, on the virtual rig's adapters: the watchdog fed by the main
loop, a crash restarting the board (never a REPL), the lab jumper erasing every secret before it
gives the REPL back. Dual-run: CPython and MicroPython."""
import mpytest

from icpurse.firmware import app
from icpurse.firmware.hal.sim import SimClock, SimNvs, SimPin, SimUart, SimWatchdog
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pn532 import PN532 as SimPN532


class Unplugged(Exception):
    pass


class Link:
    """The USB link; after `polls` reads it fails as an unplugged cable would."""

    def __init__(self, polls):
        self.polls = polls

    def readinto(self, buf):
        self.polls -= 1
        if self.polls < 0:
            raise Unplugged()
        return None

    def write(self, data):
        return len(data)


class Board:
    """The hal.esp32 interface on simulated parts."""

    def __init__(self, lab=False, store=None, polls=5):
        self.vclock = VirtualClock()
        self.chip = SimPN532(Deck(), self.vclock)
        self.store = {} if store is None else store
        self.lab = lab
        self.watchdog = SimWatchdog()
        self.link_ = Link(polls)
        self.resets = 0
        self.repl = False

    def Clock(self):
        return SimClock(self.vclock)

    def Uart(self):
        return SimUart(self.chip)

    def Pin(self, number, initial=1):
        return SimPin(initial=initial)

    def display(self):
        return None

    def Nvs(self, namespace):
        return SimNvs(self.store)

    def random_bytes(self, n):
        return bytes(n)

    def full_speed(self):
        pass

    def flash(self):
        return None  # no state-ring partition: the reader keeps its ring in a file

    def Watchdog(self):
        return self.watchdog

    def link(self):
        return self.link_

    def lab_jumper(self):
        return self.lab

    def lab_repl(self):
        self.repl = True

    def reset(self):
        self.resets += 1


def test_the_main_loop_feeds_the_watchdog_and_a_crash_resets_the_board():
    board = Board(polls=5)
    app.start(board, root=mpytest.tmpdir())
    assert board.watchdog.feeds >= 5  # once per pass of the loop
    assert board.resets == 1 and not board.repl  # the cable fault ended the loop: a reset, no REPL


def test_the_lab_jumper_erases_every_secret_then_gives_the_repl_back():
    store = {"kv": b"\x01\x00", "k1": bytes(48), "l1": bytes(32), "ln": bytes(12), "tk": bytes(16), "k7": bytes(48)}
    board = Board(lab=True, store=store)
    app.start(board, root=mpytest.tmpdir())
    assert store == {} and board.repl and board.resets == 0 and board.watchdog.feeds == 0
