"""hal/sim.py adapters: modelled time, the HSU line's baud model, I2C addressing, NVS contract.

Dual-run: CPython (pytest) and MicroPython (tests/micropython/run.mjs).
"""
import mpytest

from icpurse.firmware.hal.sim import SimClock, SimI2CBus, SimNvs, SimPin, SimUart
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pn532 import PN532 as SimPN532
from icpurse.hil.sim.pn532 import PN532I2C

GFV_CMD = b"\x00\x00\xff\x02\xfe\xd4\x02\x2a\x00"
ACK = b"\x00\x00\xff\x00\xff\x00"
GFV_RSP = b"\x00\x00\xff\x06\xfa\xd5\x03\x32\x01\x06\x07\xe8\x00"


def test_sim_clock_sleep_advances_modelled_time():
    vclock = VirtualClock()
    clock = SimClock(vclock)
    t0 = clock.ticks_ms()
    clock.sleep_ms(25)
    assert clock.ticks_diff(clock.ticks_ms(), t0) == 25
    assert vclock.now_us == 25000


def test_sim_uart_carries_frames_and_drains_output():
    chip = SimPN532(Deck(), VirtualClock())
    uart = SimUart(chip)
    uart.write(GFV_CMD)
    assert uart.any() == len(ACK) + len(GFV_RSP)
    buf = bytearray(64)
    n = uart.readinto(buf)
    assert bytes(buf[:n]) == ACK + GFV_RSP
    assert uart.any() == 0
    assert uart.readinto(buf) is None


def test_sim_uart_at_the_wrong_baud_loses_bytes():
    chip = SimPN532(Deck(), VirtualClock())
    uart = SimUart(chip, baud=921600)
    uart.write(GFV_CMD)
    assert uart.lost == len(GFV_CMD)
    assert chip.pending() == 0


def test_sim_i2c_only_answers_its_address():
    bus = SimI2CBus(PN532I2C(SimPN532(Deck(), VirtualClock())))
    with mpytest.raises(OSError):
        bus.writeto(0x25, GFV_CMD)
    bus.writeto(0x24, GFV_CMD)
    buf = bytearray(20)
    bus.readfrom_into(0x24, buf)
    assert buf[0] == 0x00  # busy right after the write
    bus.readfrom_into(0x24, buf)
    assert bytes(buf[:7]) == b"\x01" + ACK
    assert bytes(buf[7:]) == bytes(13)  # padding after the frame
    bus.readfrom_into(0x24, buf)
    assert bytes(buf[:14]) == b"\x01" + GFV_RSP


def test_sim_pin_reports_changes_only():
    seen = []
    pin = SimPin(seen.append)
    pin.value(1)
    pin.value(0)
    pin.value(0)
    pin.value(1)
    assert seen == [0, 1]
    assert pin.history == [0, 1]


def test_sim_nvs_contract():
    nvs = SimNvs()
    buf = bytearray(8)
    assert nvs.get_blob("k1", buf) is None
    nvs.set_blob("k1", b"\x01\x02\x03")
    assert nvs.get_blob("k1", buf) == 3
    assert bytes(buf[:3]) == b"\x01\x02\x03"
    with mpytest.raises(ValueError):
        nvs.get_blob("k1", bytearray(2))
    nvs.erase("k1")
    nvs.erase("k1")
    assert nvs.get_blob("k1", buf) is None
