"""The firmware's PN532 driver and MIFARE layer, through hal/sim.py, against the simulated PN532
and card of the virtual rig (hil/sim) -- over the HSU byte stream and over I2C.

Dual-run: CPython (pytest) and MicroPython (tests/micropython/run.mjs).
"""
import mpytest

from icpurse.firmware.hal.sim import SimClock, SimI2CBus, SimResetPin, SimUart
from icpurse.firmware.mifare import AccessDenied, AuthError, ClassicTag, TagGone, value_address, value_block, value_of
from icpurse.firmware.pn532 import PN532, NoAck
from icpurse.firmware.pn532_hsu import HSU
from icpurse.firmware.pn532_i2c import I2C
from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.pn532 import PN532 as SimPN532
from icpurse.hil.sim.pn532 import PN532I2C

UID = b"\xde\xad\xbe\xef"
KEY_FF = b"\xff" * 6  # transport configuration keys
WRONG_KEY = b"\x11\x22\x33\x44\x55\x66"
VERSION = (0x32, 0x01, 0x06, 0x07)
DATA = b"icpurse block 4!"


class Rig:
    def __init__(self, i2c=False, reset=False, uid=UID):
        self.vclock = VirtualClock()
        self.faults = Faults()
        self.deck = Deck()
        self.card = ClassicCard(uid, "1k", faults=self.faults)
        self.deck.add("a", self.card)
        self.deck.present("a")
        self.chip = SimPN532(self.deck, self.vclock, self.faults)
        if i2c:
            transport = I2C(SimI2CBus(PN532I2C(self.chip)))
        else:
            self.uart = SimUart(self.chip)
            transport = HSU(self.uart)
        self.pin = SimResetPin(self.chip) if reset else None
        self.drv = PN532(transport, SimClock(self.vclock), reset=self.pin)

    def tag(self):
        found = self.drv.list_passive_target()
        assert found is not None
        uid, atqa, sak = found
        return ClassicTag(self.drv, uid, atqa, sak)


def started(**kw):
    rig = Rig(**kw)
    assert rig.drv.begin() == VERSION
    return rig


def test_begin_wakes_the_chip_and_bounds_polling():
    rig = Rig()
    assert rig.chip.power == "lowvbat"
    assert rig.drv.begin() == VERSION
    assert rig.chip.power == "normal"
    assert rig.chip.max_retries[2] == 2  # MxRtyPassiveActivation finite


def test_list_card():
    rig = started()
    assert rig.drv.list_passive_target() == (UID, 0x0004, 0x08)


def test_empty_field_answers_none_quickly():
    rig = started()
    rig.deck.remove()
    t0 = rig.vclock.now_us
    assert rig.drv.list_passive_target() is None
    assert rig.vclock.now_us - t0 < 5000  # NbTg = 0 from the chip, no host timeout


def test_unbounded_chip_is_still_bounded_by_the_host():
    # Chip left at MxRtyPassiveActivation = 0xFF (never configured): it would poll forever.
    rig = Rig()
    rig.drv.sam_configuration()
    rig.deck.remove()
    t0 = rig.vclock.now_us
    assert rig.drv.list_passive_target(timeout_ms=100) is None
    assert 100000 <= rig.vclock.now_us - t0 < 120000
    assert rig.drv.aborts == 1
    # The abort left the chip usable.
    assert rig.drv.firmware_version() == VERSION


def test_authenticate_write_read():
    rig = started()
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    tag.write_block(4, DATA)
    assert tag.read_block(4) == DATA
    assert bytes(rig.card.blocks[4]) == DATA


def test_value_operations():
    rig = started()
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    tag.write_block(4, value_block(100, 4))
    tag.write_block(5, value_block(0, 5))
    tag.increment(4, 5)
    tag.transfer(4)
    assert value_of(tag.read_block(4)) == 105
    tag.decrement(4, 30)
    tag.transfer(4)
    assert value_of(tag.read_block(4)) == 75
    tag.restore(4)
    tag.transfer(5)  # backup copy: value moves, block 5 keeps its own address byte
    block5 = tag.read_block(5)
    assert value_of(block5) == 75
    assert value_address(block5) == 5
    assert bytes(rig.card.blocks[4]) == value_block(75, 4)


def test_value_op_on_a_data_block_is_access_denied():
    rig = started()
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    tag.write_block(6, DATA)
    with mpytest.raises(AccessDenied) as caught:
        tag.increment(6, 1)
    assert caught.value.status == 0x13


def test_failed_auth_halts_card_then_reselect():
    rig = started()
    tag = rig.tag()
    with mpytest.raises(AuthError):
        tag.authenticate(4, WRONG_KEY)
    assert rig.card.state == "halted"
    tag.authenticate(4, KEY_FF)
    assert tag.reselects == 1
    assert rig.card.state == "authenticated"
    tag.write_block(4, DATA)
    assert tag.read_block(4) == DATA


def test_card_removed_is_tag_gone():
    rig = started()
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    rig.deck.remove()
    with mpytest.raises(TagGone) as caught:
        tag.read_block(4)
    assert caught.value.status == 0x01
    with mpytest.raises(TagGone):
        tag.authenticate(4, KEY_FF)  # re-select finds an empty field


def test_card_pulled_by_fault_mid_sequence():
    rig = started()
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    rig.faults.remove_after(1)
    tag.read_block(4)
    with mpytest.raises(TagGone):
        tag.write_block(4, DATA)
    assert rig.drv.list_passive_target() is None


def test_other_card_after_swap_is_tag_gone():
    rig = started()
    tag = rig.tag()
    rig.deck.add("b", ClassicCard(b"\x90\x1f\x2a\xa4", "1k"))
    rig.deck.swap("b")
    with mpytest.raises(TagGone):
        tag.read_block(4)
    with mpytest.raises(TagGone):
        tag.authenticate(4, KEY_FF)


def test_seven_byte_uid_card():
    uid7 = b"\x04\x16\xc6\xc2\xd7\x38\x81"
    rig = Rig(uid=uid7)
    rig.drv.begin()
    assert rig.drv.list_passive_target() == (uid7, 0x0044, 0x08)
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    assert tag.read_block(4) == bytes(16)


def test_link_faults_are_survived():
    rig = started()
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    tag.write_block(4, DATA)
    rig.faults.bad_checksum_next()
    assert tag.read_block(4) == DATA
    assert rig.drv.nacks == 1
    rig.faults.garbage_before_next(b"\x00\xff\x12\x55\x00\xff")
    assert tag.read_block(4) == DATA
    rig.faults.drop_ack_next()
    assert tag.read_block(4) == DATA
    rig.faults.truncate_next(9)
    assert tag.read_block(4) == DATA
    assert rig.drv.nacks == 2
    assert rig.faults.fired == ["bad_checksum", "garbage", "drop_ack", "truncate"]


def test_switch_to_921600_is_faster():
    def read_time(rig, tag):
        t0 = rig.vclock.now_us
        tag.read_block(4)
        return rig.vclock.now_us - t0

    rig = started()
    tag = rig.tag()
    tag.authenticate(4, KEY_FF)
    slow = read_time(rig, tag)
    rig.drv.set_baud(921600)
    assert rig.chip.baud == 921600
    assert rig.uart.baud == 921600
    fast = read_time(rig, tag)
    assert rig.drv.firmware_version() == VERSION
    assert fast < slow
    assert rig.uart.lost == 0


def test_reset_pin_recovers_a_chip_left_at_another_baud():
    # The ESP32 rebooted while the chip stayed at 921,600: nothing gets through until RSTPDN.
    rig = Rig(reset=True)
    rig.chip.baud = 921600
    assert rig.drv.begin() == VERSION
    assert rig.pin.history == [0, 1]
    assert rig.chip.baud == 115200
    assert rig.uart.lost > 0
    assert rig.drv.list_passive_target() == (UID, 0x0004, 0x08)


def test_without_reset_pin_a_deaf_chip_is_no_ack():
    rig = Rig()
    rig.chip.baud = 921600
    with mpytest.raises(NoAck):
        rig.drv.begin()


# --- I2C ---------------------------------------------------------------------------------------


def test_i2c_full_card_session():
    rig = started(i2c=True)
    tag = rig.tag()
    assert tag.uid == UID
    with mpytest.raises(AuthError):
        tag.authenticate(4, WRONG_KEY)
    tag.authenticate(4, KEY_FF)
    tag.write_block(4, value_block(10, 4))
    tag.decrement(4, 3)
    tag.transfer(4)
    assert value_of(tag.read_block(4)) == 7
    rig.deck.remove()
    with mpytest.raises(TagGone):
        tag.read_block(4)


def test_i2c_bad_checksum_is_nacked():
    rig = started(i2c=True)
    rig.faults.bad_checksum_next()
    assert rig.drv.list_passive_target() == (UID, 0x0004, 0x08)
    assert rig.drv.nacks == 1
