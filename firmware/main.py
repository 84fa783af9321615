"""Boot of the store reader on the ESP32 (copied to the board's root as main.py).

Wiring and pins: docs/hardware.md. Keys and settings survive reboots (NVS and /icpurse)."""
from icpurse.firmware.hal import esp32 as hal
from icpurse.firmware.pn532 import PN532, PN532Error
from icpurse.firmware.pn532_hsu import HSU
from icpurse.firmware.reader import Reader
from icpurse.firmware.server import LinkServer
from icpurse.firmware.store import Store
from icpurse.firmware.ui import Indicator

RESET_PIN = 5  # PN532 RSTPDN
LED_PIN = 2
BUZZER_PIN = 4
FAST_BAUD = 921600


def main():
    clock = hal.Clock()
    uart = hal.Uart()
    pn532 = PN532(HSU(uart), clock, reset=hal.Pin(RESET_PIN))
    pn532.begin()
    try:
        pn532.set_baud(FAST_BAUD)
    except PN532Error:
        pass  # stay at 115,200: slower taps, same behaviour
    ui = Indicator(hal.Pin(LED_PIN, 0), hal.Pin(BUZZER_PIN, 0), hal.display())
    reader = Reader(pn532, clock, Store(hal.Nvs("icpurse"), "/icpurse"), ui)
    LinkServer(hal.UsbLink(), reader, clock).serve()
    hal.reset()


main()
