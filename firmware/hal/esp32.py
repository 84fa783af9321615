"""HAL for the real board: ESP32 running MicroPython (interfaces: icpurse.firmware.hal).

The only module of the firmware that imports `machine` and `esp32`.  Default pins follow the
wiring in docs/hardware.md (UART2 for the PN532 HSU link, RSTPDN on a spare GPIO).
"""
import esp32
import machine
import os
import time

from icpurse.firmware.codec import DEFAULT_BAUD, TG_I2C_ADDRESS
from icpurse.firmware.hal import partition
from icpurse.protocol.mpy import const

# PN532 HSU on UART2.  The receive buffer holds a few whole response frames, so a slow loop
# iteration never loses bytes at 921,600 baud.
_UART_ID = const(2)
_UART_TX = const(17)
_UART_RX = const(16)
_UART_RXBUF = const(1024)
# A blocking read waits at most this long per call (the driver loops to its own deadline). With
# timeout_char=0 the port sets the RX FIFO threshold to 1 byte (machine_uart.c), so a read that
# asks for exactly the bytes it expects returns as soon as the last of them is in.
_UART_WAIT_MS = const(20)
_I2C_ID = const(0)
_I2C_SCL = const(22)
_I2C_SDA = const(21)
_I2C_FREQ = const(100000)
# The PN532 stretches SCL for up to ~440 us; the ESP32 port's default bus timeout is shorter, and a
# timeout there looks like a dead chip (docs/hardware.md "Pitfalls").
_I2C_TIMEOUT_US = const(50000)
_LAB_PIN = const(13)  # jumper to GND at reset: lab mode (docs/hardware.md "The REPL in production")
_WDT_MS = const(8000)
_LINK_UART = const(0)  # the USB-serial bridge's UART (the REPL's, on a development image)
_LINK_BAUD = const(115200)
_NVS_NOT_FOUND = const(0x1102)  # ESP_ERR_NVS_NOT_FOUND
_NVS_INVALID_LENGTH = const(0x110C)  # ESP_ERR_NVS_INVALID_LENGTH: buffer too small


class Uart:
    """machine.UART: reads without waiting (what is there), or waiting for a whole buffer: the
    task sleeps in the UART driver and the RX interrupt wakes it (no polling loop)."""

    blocking = True

    def __init__(self, uart_id=_UART_ID, tx=_UART_TX, rx=_UART_RX, baud=DEFAULT_BAUD, rxbuf=_UART_RXBUF):
        self._uart = machine.UART(uart_id, baudrate=baud, bits=8, parity=None, stop=1,
                                  tx=tx, rx=rx, rxbuf=rxbuf, timeout=_UART_WAIT_MS, timeout_char=0)
        self.baud = baud

    def write(self, buf):
        return self._uart.write(buf)

    def readinto(self, buf, wait_ms=0):
        if wait_ms:
            return self._uart.readinto(buf)  # waits up to _UART_WAIT_MS for len(buf) bytes
        n = self._uart.any()
        if not n:
            return None
        return self._uart.readinto(buf, n if n < len(buf) else len(buf))

    def any(self):
        return self._uart.any()

    def set_baud(self, baud):
        # Let the last bytes (the ACK that confirms the switch) leave at the old rate first.
        self._uart.flush()
        self._uart.init(baudrate=baud)
        self.baud = baud


class I2CBus:
    def __init__(self, i2c_id=_I2C_ID, scl=_I2C_SCL, sda=_I2C_SDA, freq=_I2C_FREQ, timeout_us=_I2C_TIMEOUT_US):
        # The ESP32 port's hardware I2C takes timeout= (us); the stubs follow the port-generic
        # machine.I2C documentation, which leaves it out.
        self._i2c = machine.I2C(i2c_id, scl=machine.Pin(scl), sda=machine.Pin(sda), freq=freq,  # type: ignore[call-overload]
                                timeout=timeout_us)
        self.address = TG_I2C_ADDRESS

    def writeto(self, addr, buf):
        self._i2c.writeto(addr, buf)

    def readfrom_into(self, addr, buf):
        self._i2c.readfrom_into(addr, buf)


class Pin:
    """A push-pull output, initially high (RSTPDN is active low: high = PN532 running)."""

    def __init__(self, number, initial=1):
        self._pin = machine.Pin(number, machine.Pin.OUT, value=initial)

    def value(self, v):
        self._pin.value(v)


def full_speed():
    """Run the CPU at 240 MHz (the ESP32 port's default may be lower): the tap's Python work."""
    machine.freq(240000000)


class Clock:
    """The board's clock: the `time` module's C functions themselves (the PN532 driver reads the
    clock at every command: no Python frame in between)."""

    ticks_ms = staticmethod(time.ticks_ms)
    ticks_diff = staticmethod(time.ticks_diff)
    sleep_ms = staticmethod(time.sleep_ms)


class Watchdog:
    """machine.WDT: once started it cannot be stopped; a main loop that stops feeding it for
    `timeout_ms` resets the board (the journal recovers at boot)."""

    def __init__(self, timeout_ms=_WDT_MS):
        self._wdt = machine.WDT(timeout=timeout_ms)

    def feed(self):
        self._wdt.feed()


def random_bytes(n):
    """From the ESP32's hardware random number generator."""
    return os.urandom(n)


def lab_jumper():
    """True when the lab jumper (GPIO13 to GND) is fitted at reset."""
    return machine.Pin(_LAB_PIN, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0


class Nvs:
    """One NVS namespace.  Secrets live here, never in the filesystem (issue 4 item 6)."""

    def __init__(self, namespace):
        self._nvs = esp32.NVS(namespace)

    def get_blob(self, key, buf):
        try:
            return self._nvs.get_blob(key, buf)
        except OSError as e:
            code = e.args[0] if e.args else 0
            if code == _NVS_NOT_FOUND or code == -_NVS_NOT_FOUND:
                return None
            if code == _NVS_INVALID_LENGTH or code == -_NVS_INVALID_LENGTH:
                raise ValueError("NVS blob %r larger than %d bytes" % (key, len(buf)))
            raise

    def set_blob(self, key, data):
        self._nvs.set_blob(key, data)
        self._nvs.commit()

    def erase(self, key):
        try:
            self._nvs.erase_key(key)
        except OSError:
            return  # absent already
        self._nvs.commit()


class UartLink:
    """The host link on UART0 itself: the production image has no REPL there (built with
    MICROPY_HW_ENABLE_UART_REPL 0, board/), so nothing but link frames ever reaches the board."""

    def __init__(self, uart_id=_LINK_UART, baud=_LINK_BAUD):
        import select

        self._uart = machine.UART(uart_id, baudrate=baud, timeout=0, timeout_char=0)
        self._poll = select.poll()
        self._poll.register(self._uart, select.POLLIN)

    def readinto(self, buf):
        if not self._uart.any():
            return None
        return self._uart.readinto(buf)

    def wait(self, ms):
        """Block until the host sends something or `ms` pass (the server's idle wait)."""
        return bool(self._poll.poll(ms))

    def write(self, buf):
        return self._uart.write(buf)


def production():
    """True on the production image (board/: frozen firmware, no REPL on the USB serial)."""
    try:
        import icpurse_board  # type: ignore[import-not-found]  # frozen by board/manifest.py only

        return bool(icpurse_board.PRODUCTION)
    except ImportError:
        return False


def link():
    """The host link: UART0 on the production image, the REPL's stdin/stdout on a development one."""
    return UartLink() if production() else UsbLink()


def flash(label=partition.LABEL):
    """The flash partition set aside for the reader's state ring (firmware/hal/partition.py: label
    "icpurse" in board/partitions-icpurse.csv), or None when the image's partition table has none:
    the ring then lives in a file (firmware/ring.py FileFlash) and the reader says so in INFO
    (`ring_partition` 0; `terminal provision` warns)."""
    return partition.find(esp32.Partition, label)


class UsbLink:
    """The host link on the board's USB serial (the REPL's stdin/stdout in binary, non-blocking).

    main.py detaches the REPL's Ctrl-C handling so frame bytes (0x03 included) reach the link."""

    def __init__(self):
        import select
        import sys

        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._one = bytearray(1)
        no_interrupt()

    def readinto(self, buf):
        # MicroPython's stdin cannot read "what is there": a read of n bytes blocks until n bytes
        # have come. So every byte the poll reports is taken, as long as bytes keep coming (a
        # whole frame in one call when the host sent it at once), through one preallocated byte:
        # nothing is allocated per byte.
        one = self._one
        n = 0
        while n < len(buf) and self._poll.poll(0):
            if not self._in.readinto(one):  # type: ignore[union-attr]  # MicroPython streams have readinto
                break
            buf[n] = one[0]
            n += 1
        return n or None

    def wait(self, ms):
        """Block until the host sends something or `ms` pass (the server's idle wait)."""
        return bool(self._poll.poll(ms))

    def write(self, buf):
        return self._out.write(buf)


def display(i2c_id=_I2C_ID, scl=_I2C_SCL, sda=_I2C_SDA, address=0x3C):
    """An SSD1306 128x64 on I2C if one answers (driver: micropython-lib `ssd1306`), else None."""
    try:
        import ssd1306

        i2c = machine.I2C(i2c_id, scl=machine.Pin(scl), sda=machine.Pin(sda), freq=400000)
        if address not in i2c.scan():
            return None
        return ssd1306.SSD1306_I2C(128, 64, i2c, addr=address)
    except (ImportError, OSError):
        return None


def reset():
    machine.reset()


def no_interrupt():
    """Ctrl-C no longer interrupts: frame bytes (0x03 included) are link data, not a break."""
    import micropython

    micropython.kbd_intr(-1)


def lab_repl():
    """Lab mode: Ctrl-C back and the REPL on UART0 (the production image has none there)."""
    import micropython

    micropython.kbd_intr(3)
    os.dupterm(machine.UART(_LINK_UART, _LINK_BAUD))
