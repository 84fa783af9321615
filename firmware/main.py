"""Boot of the store reader on the ESP32 (copied to the board's root as main.py).

Wiring and pins: docs/hardware.md. Keys and settings survive reboots (NVS and /icpurse)."""
from icpurse.firmware.hal import esp32 as hal
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


def main():
    hal.full_speed()
    clock = hal.Clock()
    uart = hal.Uart()
    pn532 = PN532(HSU(uart), clock, reset=hal.Pin(_RESET_PIN))
    pn532.begin()
    try:
        pn532.set_baud(_FAST_BAUD)
    except PN532Error:
        pass  # stay at 115,200: slower taps, same behaviour
    ui = Indicator(hal.Pin(_LED_PIN, 0), hal.Pin(_BUZZER_PIN, 0), hal.display())
    reader = Reader(pn532, clock, Store(hal.Nvs("icpurse"), "/icpurse"), ui, flash=hal.flash())
    LinkServer(hal.UsbLink(), reader, clock).serve()
    hal.reset()


main()
