"""PN532 transport over HSU (the high-speed UART link): a byte stream (docs/chip-facts.md "HSU (UART)").

Takes a HAL Uart (icpurse.firmware.hal); the PN532 driver does the framing and the waiting.
"""
from icpurse.firmware.codec import DEFAULT_BAUD, FRAME_WAKEUP

from icpurse.protocol.mpy import const


_DRAIN_CHUNK = const(32)
_DRAIN_MAX_READS = const(64)  # bounded: a babbling line cannot keep us here


class HSU:
    framed = False

    def __init__(self, uart):
        self._uart = uart
        self._scratch = bytearray(_DRAIN_CHUNK)
        # a UART that can wait for bytes (a read with a timeout, woken by the RX interrupt)
        self.blocking = getattr(uart, "blocking", False)
        # Every card command of a tap writes once and reads twice: straight to the UART's own
        # methods, not through a forwarding call each (a read that finds nothing then gives the
        # UART's None, which the driver takes as 0).
        self.write = uart.write  # type: ignore[method-assign]
        if self.blocking:
            self.readinto = uart.readinto  # type: ignore[method-assign]

    def wakeup(self):
        """0x55 0x55 and a run of zeros: wakes the chip from power-down / low-battery mode (libnfc,
        Adafruit).  The zeros also serve as the preamble of the frame that follows."""
        self._uart.write(FRAME_WAKEUP)

    def write(self, buf):
        self._uart.write(buf)

    def readinto(self, mv, wait_ms=0):
        if wait_ms:
            return self._uart.readinto(mv, wait_ms) or 0
        return self._uart.readinto(mv) or 0

    def flush_input(self):
        uart = self._uart
        for _ in range(_DRAIN_MAX_READS):
            if not uart.any():
                return
            uart.readinto(self._scratch)

    def set_baud(self, baud):
        self._uart.set_baud(baud)

    def reset_link(self):
        self._uart.set_baud(DEFAULT_BAUD)
        self.flush_input()
