"""Boot of the store reader on the ESP32 (copied to the board's root as main.py, or the one line of
the production image's main.py). Ctrl-C is switched off first: on a development image a REPL
is reachable only before this line runs (tools/board.py uses that window); the production image has
no REPL on the USB serial at all (docs/hardware.md). Start-up and life: firmware/app.py."""
from icpurse.firmware.hal import esp32 as hal

hal.no_interrupt()

from icpurse.firmware import app  # noqa: E402 (after Ctrl-C is off)

app.start(hal)
