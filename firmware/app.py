"""The store reader's start-up and life on a board, given its HAL (firmware/main.py passes
hal.esp32; tests pass adapters onto the virtual rig).

* **Lab jumper** fitted at reset: every icpurse secret is erased from NVS (the reader is blank
  again and needs the transport key ceremony), and the REPL is given back to the lab on the USB
  serial. Nothing else can reach a REPL on the production image (docs/hardware.md).
* Otherwise: PN532, indicator, store, reader; the watchdog is started once the journal has been
  verified (the slow part of a boot) and fed by the main loop; when the loop ends (REBOOT) or
  anything escapes it, the board is reset -- never dropped to a REPL.
"""
import os

from icpurse.firmware.linkauth import LinkGuard
from icpurse.firmware.pn532 import PN532, PN532Error
from icpurse.firmware.pn532_hsu import HSU
from icpurse.firmware.reader import Reader
from icpurse.firmware.server import LinkServer
from icpurse.firmware.store import Store
from icpurse.firmware.ui import Indicator
from icpurse.protocol.mpy import const

_RESET_PIN = const(5)  # PN532 RSTPDN
_LED_PIN = const(2)
_BUZZER_PIN = const(4)
_FAST_BAUD = const(921600)
NAMESPACE = "icpurse"
ROOT = "/icpurse"


def erase_secrets(nvs, root=ROOT, fs=os, open_fn=open):
    """Every key and the link state of this reader, gone from NVS (the lab jumper's first act)."""
    Store(nvs, root, fs, open_fn).erase_keys()
    LinkGuard.erase(nvs)


def run(hal, root=ROOT, fs=os, open_fn=open):
    """Build the reader on `hal` and serve its USB link until it asks for a reboot."""
    hal.full_speed()
    clock = hal.Clock()
    pn532 = PN532(HSU(hal.Uart()), clock, reset=hal.Pin(_RESET_PIN))
    pn532.begin()
    try:
        pn532.set_baud(_FAST_BAUD)
    except PN532Error:
        pass  # stay at 115,200: slower taps, same behaviour
    ui = Indicator(hal.Pin(_LED_PIN, 0), hal.Pin(_BUZZER_PIN, 0), hal.display(), clock=clock)
    reader = Reader(pn532, clock, Store(hal.Nvs(NAMESPACE), root, fs, open_fn), ui, root + "/journal", fs, open_fn,
                    random_bytes=hal.random_bytes, flash=hal.flash())
    watchdog = hal.Watchdog()
    reader.watchdog = watchdog
    LinkServer(hal.link(), reader, clock, watchdog).serve()


def start(hal, root=ROOT, fs=os, open_fn=open):
    """main.py's one call. Returns only in lab mode (to the REPL)."""
    if hal.lab_jumper():
        erase_secrets(hal.Nvs(NAMESPACE), root, fs, open_fn)
        hal.lab_repl()
        return
    try:
        run(hal, root, fs, open_fn)
    except Exception:  # noqa: BLE001 -- whatever it was, the reader restarts instead of stopping
        pass
    hal.reset()
