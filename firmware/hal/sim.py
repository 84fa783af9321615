"""HAL adapters onto the virtual rig (hil/sim, docs: /work/brief/SIM_API.md).

The firmware runs unchanged against the simulated PN532: the chip objects are passed in (this
module never imports hil, so it also loads where only the firmware is installed), and waiting
advances the rig's VirtualClock instead of sleeping.
"""
from icpurse.firmware.codec import DEFAULT_BAUD, TG_I2C_ADDRESS
from icpurse.protocol.mpy import const

_ENODEV = const(19)  # what machine.I2C raises when no device ACKs the address


class SimClock:
    """Clock driven by hil.sim.clock.VirtualClock: sleep_ms advances modelled time."""

    def __init__(self, vclock):
        self._vclock = vclock

    def ticks_ms(self):
        return self._vclock.now_us // 1000

    def ticks_diff(self, a, b):
        return a - b  # modelled time never wraps

    def sleep_ms(self, ms):
        self._vclock.advance(ms * 1000)


class SimUart:
    """The host end of the HSU line to a hil.sim.pn532.PN532.

    Baud rates are modelled: while this end and the chip disagree, bytes turn into line noise and
    are lost in both directions, as on a real wire.
    """

    blocking = True  # readinto(buf, wait_ms) waits for the bytes (a UART read with a timeout)

    def __init__(self, chip, baud=DEFAULT_BAUD):
        self._chip = chip
        self.baud = baud
        self.lost = 0  # bytes lost to a baud mismatch

    def _in_step(self):
        return self._chip.baud == self.baud

    def write(self, buf):
        if self._in_step():
            self._chip.write(bytes(buf))
        else:
            self.lost += len(buf)
        return len(buf)

    def readinto(self, buf, wait_ms=0):
        if wait_ms:
            self._wait(len(buf), wait_ms)
        data = self._chip.read(len(buf))
        if not data:
            return None
        if not self._in_step():
            self.lost += len(data)
            return None
        n = len(data)
        buf[:n] = data
        return n

    def any(self):
        return self._chip.pending()

    def _wait(self, n, wait_ms):
        """A blocking read on the board: the task sleeps until `n` bytes are in (then is woken
        T_RX_WAKE later: RX interrupt, ring buffer, task switch) or `wait_ms` passed."""
        chip = self._chip
        clock = chip.clock
        deadline = clock.now_us + wait_ms * 1000
        if chip.pending() >= n:
            return  # all there: the read returns at once
        while chip.pending() < n:
            t = chip.next_ready_us() if chip.timeline else None
            if t is None or t > deadline:
                if deadline > clock.now_us:
                    clock.advance(deadline - clock.now_us)
                return
            clock.advance(t - clock.now_us)
        clock.rx_wake()

    def set_baud(self, baud):
        self.baud = baud


class SimI2CBus:
    """An I2C master wired to a hil.sim.pn532.PN532I2C at TG_I2C_ADDRESS."""

    def __init__(self, chip_i2c, address=TG_I2C_ADDRESS):
        self._chip = chip_i2c
        self._addr = address

    def _check(self, addr):
        if addr != self._addr:
            raise OSError(_ENODEV)

    def writeto(self, addr, buf):
        self._check(addr)
        self._chip.write(bytes(buf))

    def readfrom_into(self, addr, buf):
        self._check(addr)
        data = self._chip.read(len(buf))
        n = len(data)
        buf[:n] = data
        for i in range(n, len(buf)):
            buf[i] = 0  # reading past the frame: padding


class SimPin:
    """A digital output; `on_change(v)` is called when the level changes (e.g. RSTPDN -> chip reset)."""

    def __init__(self, on_change=None, initial=1):
        self.level = initial
        self._on_change = on_change
        self.history = []

    def value(self, v):
        v = 1 if v else 0
        if v != self.level:
            self.level = v
            self.history.append(v)
            if self._on_change is not None:
                self._on_change(v)


def reset_chip(chip):
    """What an RSTPDN pulse does to a hil.sim.pn532.PN532: its own reset() when it has one,
    otherwise the visible effects -- unread output lost, back to 115,200 baud and to the
    low-battery start-up mode."""
    reset = getattr(chip, "reset", None)
    if reset is not None:
        reset()
        return
    chip.read()
    chip.baud = DEFAULT_BAUD
    chip.power = "lowvbat"


class SimResetPin(SimPin):
    """RSTPDN of a simulated PN532: the chip resets when the line goes low."""

    def __init__(self, chip):
        SimPin.__init__(self, self._changed)
        self._chip = chip

    def _changed(self, v):
        if v == 0:
            reset_chip(self._chip)


class SimNvs:
    """NVS namespace kept in a dict (what the key store sees on the board)."""

    def __init__(self, store=None):
        self._store = {} if store is None else store

    def get_blob(self, key, buf):
        data = self._store.get(key)
        if data is None:
            return None
        if len(data) > len(buf):
            raise ValueError("NVS blob %r larger than %d bytes" % (key, len(buf)))
        buf[:len(data)] = data
        return len(data)

    def set_blob(self, key, data):
        self._store[key] = bytes(data)

    def erase(self, key):
        self._store.pop(key, None)


class SimWatchdog:
    """machine.WDT's contract, counted: `feeds` tells how often the main loop fed it."""

    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class FlashPowerLoss(BaseException):
    """SimFlash lost power in the middle of a write or erase (tests of the reader's power-fail
    rules). A BaseException, like crashfs's: no `except Exception` in the firmware may survive it."""


class SimFlash:
    """NOR flash set aside for the reader's state ring (firmware/ring.py): 4 KB sectors, a write
    only clears bits, an erase sets a sector to 0xFF. Counts what it did (`log`: (op, offset,
    bytes, modelled time) for `make bench`) and can lose power at the n-th change (`fail_at`):
    a write then leaves a prefix of its bytes, an erase leaves part of the sector erased."""

    SECTOR = 4096

    def __init__(self, sectors=4, vclock=None):
        self.size = sectors * self.SECTOR
        self.data = bytearray(b"\xff" * self.size)
        self.vclock = vclock
        self.log = []
        self.changes = 0
        self.fail_at = -1
        self.cut = 0  # bytes of a torn write that land

    def _fail(self):
        self.changes += 1
        return self.fail_at >= 0 and self.changes - 1 == self.fail_at

    def read(self, offset, buf):
        n = len(buf)
        buf[:n] = self.data[offset:offset + n]

    def write(self, offset, buf):
        n = len(buf)
        if self._fail():
            for i in range(min(self.cut, n)):
                self.data[offset + i] &= buf[i]
            raise FlashPowerLoss("power lost writing %d bytes at %d" % (n, offset))
        for i in range(n):
            self.data[offset + i] &= buf[i]
        self.log.append(("program", offset, n, self.vclock.now_us if self.vclock is not None else 0))

    def erase(self, sector):
        start = sector * self.SECTOR
        if self._fail():
            for i in range(start, start + self.cut):
                self.data[i] = 0xFF
            raise FlashPowerLoss("power lost erasing sector %d" % sector)
        for i in range(start, start + self.SECTOR):
            self.data[i] = 0xFF
        self.log.append(("erase", start, self.SECTOR, self.vclock.now_us if self.vclock is not None else 0))
