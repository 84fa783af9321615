"""The virtual clock's timing model against hand-computed figures: link bytes x 10 bits / baud,
0.5 ms PN532 overhead per command, MIFARE Classic typical times (docs/chip-facts.md "Timings")."""
import pytest

from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.pn532 import PN532I2C
from simkit import ACK, Rig, frame, h

FF6 = h("FF FF FF FF FF FF")
UID = h("DEADBEEF")


def test_get_firmware_version_at_115200():
    rig = Rig()
    rig.send(h("00 00 FF 02 FE D4 02 2A 00"))
    # (9 + 6 + 13) bytes x 10 bits / 115200 baud = 2430.6 us, + 500 us overhead
    assert rig.clock.now_us == 2930
    c = rig.clock.counters
    assert (c["commands"], c["host_bytes_in"], c["host_bytes_out"]) == (1, 9, 19)
    assert (c["link_us"], c["overhead_us"], c["card_us"]) == (2430, 500, 0)


def test_get_firmware_version_at_921600_after_the_baud_change():
    rig = Rig()
    rig.send(frame(h("10 07")))
    rig.send(ACK)
    start = rig.clock.now_us
    rig.send(frame(h("02")))
    # 28 bytes x 10 / 921600 = 303.8 us, + 500
    assert rig.clock.now_us - start == 803


def test_select_auth_read_at_115200():
    rig = Rig(ClassicCard(UID))
    rig.send(frame(h("4A 01 00")))  # 11 in, 6 + 19 out
    rig.send(frame(h("40 01 60 04") + FF6 + UID))  # 22 in, 6 + 10 out
    rig.send(frame(h("40 01 30 04")))  # 12 in, 6 + 26 out
    # 118 bytes x 10 / 115200 = 10243.1 us; 3 x 500 us; select 2500 + auth 2000 + read 2500
    assert rig.clock.now_us == 10243 + 1500 + 7000
    assert rig.clock.counters["card_ops"] == 3


@pytest.mark.parametrize("mf, expected_us", [
    ("A0 04" + "00" * 16, 5500),
    ("C1 05 01 00 00 00", 2500),
    ("C0 05 01 00 00 00", 2500),
    ("C2 05", 2500),
])
def test_card_operation_times(mf, expected_us):
    rig = Rig(ClassicCard(UID))
    rig.list_card()
    rig.mifare(h("60 04") + FF6 + UID)
    rig.mifare(h("A0 05 64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA"))
    before = rig.clock.counters["card_us"]
    rig.mifare(h(mf))
    assert rig.clock.counters["card_us"] - before == expected_us


def test_transfer_time():
    rig = Rig(ClassicCard(UID))
    rig.list_card()
    rig.mifare(h("60 04") + FF6 + UID)
    rig.mifare(h("A0 05 64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA"))
    rig.mifare(h("C2 05"))
    before = rig.clock.counters["card_us"]
    rig.mifare(h("B0 05"))
    assert rig.clock.counters["card_us"] - before == 4500


def test_7_byte_uid_select_costs_one_more_millisecond():
    rig = Rig(ClassicCard(h("04112233445566")))
    rig.list_card()
    assert rig.clock.counters["card_us"] == 3500


def test_no_answer_costs_the_configured_timeout():
    rig = Rig(ClassicCard(UID))
    rig.list_card()
    rig.deck.remove()
    before = rig.clock.counters["card_us"]
    assert rig.mifare(h("30 04")) == (0x01, b"")
    assert rig.clock.counters["card_us"] - before == 51200  # default code 0x0A: 100 us x 2**9
    rig.command(h("32 02 00 0B 0B"))
    before = rig.clock.counters["card_us"]
    rig.mifare(h("30 04"))
    assert rig.clock.counters["card_us"] - before == 102400
    assert rig.clock.counters["card_timeouts"] == 2


def test_i2c_link_time_at_400khz():
    rig = Rig()
    i2c = PN532I2C(rig.chip)
    i2c.write(h("00 00 FF 02 FE D4 02 2A 00"))  # 1 address + 9 bytes
    i2c.read(1)  # busy poll: 2 bytes
    i2c.read(7)  # 8
    i2c.read(14)  # 15
    # 35 bytes x 9 bits / 400 kHz = 787.5 us, + 500
    assert rig.clock.now_us == 787 + 500


def test_clock_basics():
    clock = VirtualClock()
    clock.advance(10)
    assert clock.now_us == 10
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.command()
    assert clock.counters["commands"] == 1
    clock.reset_counters()
    assert set(clock.counters.values()) == {0}
    assert clock.now_us == 510
    assert VirtualClock(overhead_us=0).overhead_us == 0
