"""PN532 transport over I2C (docs/chip-facts.md "I2C"): address 0x24; every read transaction starts with a
status byte whose bit 0 (RDY) says whether a frame is waiting.

The driver polls `readinto` (bounded by its own timeouts).  Each poll is one read transaction of
the status byte plus as many bytes as the driver expects (libnfc's pn532_i2c_wait_rdyframe): the
chip hands each frame out once, so the frame must come in the same transaction as the RDY bit
that announces it.  Takes a HAL I2CBus (icpurse.firmware.hal).
"""
from icpurse.firmware.codec import TG_I2C_ADDRESS, TG_I2C_READY

from icpurse.protocol.mpy import const


_RAW_SIZE = const(1 + 277)  # status byte + the driver's largest read
_WRITE_TRIES = const(3)  # a sleeping PN532 NACKs its address until it has woken up


class I2C:
    framed = True
    blocking = False  # the ready byte is polled

    def __init__(self, bus, address=TG_I2C_ADDRESS):
        self._bus = bus
        self._addr = address
        self._raw = bytearray(_RAW_SIZE)
        self._rawmv = memoryview(self._raw)
        self.bus_errors = 0

    def wakeup(self):
        """Nothing to send: the PN532 wakes on its own address; `write` retries through the NACKs
        it gives while waking, and the driver's SAMConfiguration follows."""

    def write(self, buf):
        for _ in range(_WRITE_TRIES):
            try:
                self._bus.writeto(self._addr, buf)
                return
            except OSError:
                self.bus_errors += 1
        # Still refused: the missing ACK makes the driver retry or report NoAck.

    def readinto(self, mv, wait_ms=0):
        n = len(mv)
        if n > _RAW_SIZE - 1:
            n = _RAW_SIZE - 1
        try:
            self._bus.readfrom_into(self._addr, self._rawmv[:n + 1])
        except OSError:
            self.bus_errors += 1
            return 0
        if not self._raw[0] & TG_I2C_READY:
            return 0
        mv[:n] = self._rawmv[1:n + 1]
        return n

    def flush_input(self):
        """Nothing is buffered on this side; a frame the chip still holds is skipped by the
        driver as not the answer it waits for."""

    def reset_link(self):
        pass
