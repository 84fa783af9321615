"""PN532 driver against scripted chips: every byte on the wire is stated by the test (nfcpy style).

Frames are the vectors of docs/chip-facts.md "PN532 host link" (marked [computed] where
the rules there produced them; the few computed here show their checksum arithmetic).
Dual-run: CPython (pytest) and MicroPython (tests/micropython/run.mjs).
"""
import mpytest
from pn532_script import ACK, NACK, FakeClock, FakePin, ScriptedI2C, ScriptedUart, h

from icpurse.firmware.pn532 import PN532, FrameError, NoAck, PN532Error, Timeout
from icpurse.firmware.pn532_hsu import HSU
from icpurse.firmware.pn532_i2c import I2C

WAKEUP = h("55 55" + " 00" * 14)
GFV_CMD = h("00 00 FF 02 FE D4 02 2A 00")
GFV_RSP = h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
GFV_RSP_BAD_DCS = h("00 00 FF 06 FA D5 03 32 01 06 07 E9 00")
SAM_CMD = h("00 00 FF 05 FB D4 14 01 14 01 02 00")
SAM_RSP = h("00 00 FF 02 FE D5 15 16 00")
RF_RETRIES_2 = h("00 00 FF 06 FA D4 32 05 FF 01 02 F3 00")
RF_RSP = h("00 00 FF 02 FE D5 33 F8 00")  # D5+33 = 0x108 -> DCS F8
LIST_CMD = h("00 00 FF 04 FC D4 4A 01 00 E1 00")
LIST_DEADBEEF = h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")
LIST_NONE = h("00 00 FF 03 FD D5 4B 00 E0 00")
ERROR_FRAME = h("00 00 FF 01 FF 7F 81 00")
VERSION = (0x32, 0x01, 0x06, 0x07)


def hsu(script, chunk=None, reset=None):
    uart = ScriptedUart(script, chunk=chunk)
    clock = FakeClock()
    return PN532(HSU(uart), clock, reset=reset), uart, clock


def test_firmware_version_ack_and_answer_in_one_read():
    # Real capture: ACK and answer arrive back to back.
    drv, uart, clock = hsu([("host", GFV_CMD), ("chip", ACK + GFV_RSP)])
    assert drv.firmware_version() == VERSION
    uart.done()
    assert clock.slept == 0  # nothing waited for data that was already there


def test_frames_arriving_one_byte_at_a_time():
    drv, uart, _ = hsu([("host", GFV_CMD), ("chip", ACK), ("chip", GFV_RSP)], chunk=1)
    assert drv.firmware_version() == VERSION
    uart.done()


def test_frames_arriving_in_odd_chunks():
    drv, uart, _ = hsu([("host", GFV_CMD), ("chip", ACK + GFV_RSP)], chunk=5)
    assert drv.firmware_version() == VERSION
    uart.done()


def test_begin_wakes_leaves_lowvbat_and_bounds_polling():
    drv, uart, _ = hsu([
        ("host", WAKEUP),
        ("host", SAM_CMD), ("chip", ACK + SAM_RSP),
        ("host", GFV_CMD), ("chip", ACK + GFV_RSP),
        ("host", RF_RETRIES_2), ("chip", ACK + RF_RSP),
    ])
    assert drv.begin() == VERSION
    uart.done()


def test_nfcpy_normal_frame_vectors():
    drv, uart, _ = hsu([
        ("host", h("00 00 FF 05 FB D4 00 31 32 33 96 00")),
        ("chip", ACK + h("00 00 FF 05 FB D5 01 34 35 36 8B 00")),
    ])
    assert bytes(drv.call(0x00, b"123")) == b"456"
    uart.done()


def test_extended_frames_both_ways():
    # nfcpy fixture: LEN 0x0105 = TFI + 00 + "123" + 256 zeros.
    cmd = h("00 00 FF FF FF 01 05 FA D4 00 31 32 33") + bytes(256) + h("96 00")
    # Answer of the same size: D5+01+31+32+33 = 0x16C -> DCS 94.
    rsp = h("00 00 FF FF FF 01 05 FA D5 01 31 32 33") + bytes(256) + h("94 00")
    drv, uart, _ = hsu([("host", cmd), ("chip", ACK + rsp)], chunk=64)
    r = drv.call(0x00, b"123", bytes(256), rlen=259)
    assert bytes(r) == b"123" + bytes(256)
    uart.done()


def test_list_passive_target_deadbeef():
    drv, uart, _ = hsu([("host", LIST_CMD), ("chip", ACK + LIST_DEADBEEF)])
    assert drv.list_passive_target() == (h("DE AD BE EF"), 0x0004, 0x08)
    assert drv.target == 1
    uart.done()


def test_list_passive_target_real_1k_and_4k_captures():
    drv, uart, _ = hsu([
        ("host", LIST_CMD), ("chip", ACK + h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 90 1F 2A A4 51 00")),
        ("host", LIST_CMD), ("chip", ACK + h("00 00 FF 0C F4 D5 4B 01 01 00 02 18 04 F6 8E 2A 99 79 00")),
    ])
    assert drv.list_passive_target() == (h("90 1F 2A A4"), 0x0004, 0x08)
    assert drv.list_passive_target() == (h("F6 8E 2A 99"), 0x0002, 0x18)
    uart.done()


def test_list_passive_target_seven_byte_uid():
    # nfcpy fixture answer D5 4B 01 01 00 44 00 07 04 16 C6 C2 D7 38 81 in a frame:
    # LEN 0x0F; D5+4B+01+01+00+44+00+07+04+16+C6+C2+D7+38+81 = 0x49F -> DCS 61.
    rsp = h("00 00 FF 0F F1 D5 4B 01 01 00 44 00 07 04 16 C6 C2 D7 38 81 61 00")
    drv, uart, _ = hsu([("host", LIST_CMD), ("chip", ACK + rsp)])
    assert drv.list_passive_target() == (h("04 16 C6 C2 D7 38 81"), 0x0044, 0x00)
    uart.done()


def test_no_card_is_none():
    drv, uart, _ = hsu([("host", LIST_CMD), ("chip", ACK + LIST_NONE)])
    assert drv.list_passive_target() is None
    uart.done()


def test_list_timeout_aborts_with_ack_and_returns_none():
    drv, uart, clock = hsu([("host", LIST_CMD), ("chip", ACK), ("host", ACK)])
    assert drv.list_passive_target(timeout_ms=100) is None
    uart.done()
    assert 100 <= clock.now < 110  # bounded: the timeout, not more


def test_infinite_passive_retries_refused():
    drv, uart, _ = hsu([])
    with mpytest.raises(ValueError):
        drv.set_passive_retries(0xFF)
    uart.done()  # nothing was sent


def test_garbage_before_ack_is_skipped():
    # Contains two false start codes (00 FF 12 00, 00 FF 55 00) whose length checksums fail.
    garbage = h("FF 00 FF 12 00 FF 55")
    drv, uart, _ = hsu([("host", GFV_CMD), ("chip", garbage + ACK + GFV_RSP)])
    assert drv.firmware_version() == VERSION
    assert drv.resyncs == 2
    uart.done()


def test_garbage_with_start_code_right_before_ack():
    drv, uart, _ = hsu([("host", GFV_CMD), ("chip", h("00 FF") + ACK + GFV_RSP)])
    assert drv.firmware_version() == VERSION
    uart.done()


def test_bad_dcs_is_nacked_and_the_resend_used():
    drv, uart, _ = hsu([
        ("host", GFV_CMD), ("chip", ACK + GFV_RSP_BAD_DCS),
        ("host", NACK), ("chip", GFV_RSP),
    ])
    assert drv.firmware_version() == VERSION
    assert drv.nacks == 1
    uart.done()


def test_bad_dcs_forever_gives_up_after_three_nacks():
    drv, uart, _ = hsu([
        ("host", GFV_CMD), ("chip", ACK + GFV_RSP_BAD_DCS),
        ("host", NACK), ("chip", GFV_RSP_BAD_DCS),
        ("host", NACK), ("chip", GFV_RSP_BAD_DCS),
        ("host", NACK), ("chip", GFV_RSP_BAD_DCS),
        ("host", ACK),  # abort, so the chip is idle for the next command
    ])
    with mpytest.raises(FrameError):
        drv.firmware_version()
    uart.done()


def test_truncated_answer_is_nacked():
    drv, uart, clock = hsu([
        ("host", GFV_CMD), ("chip", ACK + GFV_RSP[:8]),
        ("host", NACK), ("chip", GFV_RSP),
    ])
    assert drv.firmware_version() == VERSION
    uart.done()
    assert clock.now < 100  # noticed by the frame-body limit, before the response timeout


def test_error_frame_raises_with_code_7f():
    drv, uart, _ = hsu([("host", GFV_CMD), ("chip", ACK + ERROR_FRAME)])
    with mpytest.raises(PN532Error) as caught:
        drv.firmware_version()
    assert caught.value.status == 0x7F
    uart.done()


def test_missing_ack_resends_twice_then_no_ack():
    drv, uart, clock = hsu([
        ("host", GFV_CMD), ("host", ACK),
        ("host", GFV_CMD), ("host", ACK),
        ("host", GFV_CMD),
    ])
    with mpytest.raises(NoAck):
        drv.firmware_version()
    uart.done()
    assert 150 <= clock.now < 160  # three ACK timeouts of 50 ms


def test_lost_ack_but_answer_arrives():
    drv, uart, _ = hsu([("host", GFV_CMD), ("chip", GFV_RSP)])
    assert drv.firmware_version() == VERSION
    uart.done()


def test_stale_answer_of_an_aborted_command_is_skipped():
    drv, uart, _ = hsu([("host", GFV_CMD), ("chip", ACK + LIST_NONE + GFV_RSP)])
    assert drv.firmware_version() == VERSION
    uart.done()


def test_bytes_left_from_before_the_command_are_flushed():
    uart = ScriptedUart([("host", GFV_CMD), ("chip", ACK + GFV_RSP)])
    uart.rx = GFV_RSP_BAD_DCS  # late junk already in the UART buffer
    drv = PN532(HSU(uart), FakeClock())
    assert drv.firmware_version() == VERSION
    assert drv.nacks == 0
    uart.done()


def test_silent_answer_times_out_and_aborts():
    drv, uart, clock = hsu([("host", GFV_CMD), ("chip", ACK), ("host", ACK)])
    with mpytest.raises(Timeout):
        drv.firmware_version()
    uart.done()
    assert 100 <= clock.now < 110


def test_reset_pin_recovery_when_chip_does_not_answer():
    pin = FakePin()
    drv, uart, clock = hsu([
        ("host", WAKEUP),
        ("host", SAM_CMD), ("host", ACK),
        ("host", SAM_CMD), ("host", ACK),
        ("host", SAM_CMD),
        # NoAck -> RSTPDN pulse, then the whole start-up again
        ("host", WAKEUP),
        ("host", SAM_CMD), ("chip", ACK + SAM_RSP),
        ("host", GFV_CMD), ("chip", ACK + GFV_RSP),
        ("host", RF_RETRIES_2), ("chip", ACK + RF_RSP),
    ], reset=pin)
    assert drv.begin() == VERSION
    assert pin.history == [0, 1]
    assert uart.bauds == [115200]  # the link went back to the chip's power-on rate
    uart.done()


def test_no_reset_pin_begin_reports_no_ack():
    drv, uart, _ = hsu([
        ("host", WAKEUP),
        ("host", SAM_CMD), ("host", ACK),
        ("host", SAM_CMD), ("host", ACK),
        ("host", SAM_CMD),
    ])
    with mpytest.raises(NoAck):
        drv.begin()
    uart.done()


def test_switch_to_921600_baud():
    # SetSerialBaudRate code 07: D4+10+07 = 0xEB -> DCS 15; answer D5+11 = 0xE6 -> DCS 1A.
    drv, uart, clock = hsu([
        ("host", h("00 00 FF 03 FD D4 10 07 15 00")), ("chip", ACK + h("00 00 FF 02 FE D5 11 1A 00")),
        ("host", ACK),  # confirms: the chip switches now
        ("host", GFV_CMD), ("chip", ACK + GFV_RSP),
    ])
    drv.set_baud(921600)
    assert uart.bauds == [921600]
    assert drv.firmware_version() == VERSION
    uart.done()


def test_unknown_baud_rate_refused():
    drv, uart, _ = hsu([])
    with mpytest.raises(ValueError):
        drv.set_baud(250000)
    uart.done()


def test_data_exchange_status_becomes_pn532_error():
    drv, uart, _ = hsu([
        ("host", h("00 00 FF 05 FB D4 40 01 30 04 B7 00")),
        ("chip", ACK + h("00 00 FF 03 FD D5 41 13 D7 00")),
    ])
    with mpytest.raises(PN532Error) as caught:
        drv.data_exchange(h("30 04"))
    assert caught.value.status == 0x13
    uart.done()


def test_release_all_targets():
    drv, uart, _ = hsu([
        ("host", h("00 00 FF 03 FD D4 52 00 DA 00")), ("chip", ACK + h("00 00 FF 03 FD D5 53 00 D8 00")),
    ])
    drv.release()
    uart.done()


# --- I2C ---------------------------------------------------------------------------------------


def test_i2c_firmware_version_polls_ready_byte():
    bus = ScriptedI2C([("host", GFV_CMD), ("chip", ACK), ("chip", GFV_RSP)], busy_polls=2)
    clock = FakeClock()
    drv = PN532(I2C(bus), clock)
    assert drv.firmware_version() == VERSION
    bus.done()
    # Two busy polls before each of the two frames, one read each for ACK and answer.
    assert len(bus.reads) == 6
    # Each read asks for the status byte plus a whole expected answer (4 data bytes + overhead).
    assert min(bus.reads) >= 1 + len(GFV_RSP)
    assert clock.now == 4  # a 1 ms pause after each busy poll


def test_i2c_begin_sends_no_hsu_wakeup():
    bus = ScriptedI2C([
        ("host", SAM_CMD), ("chip", ACK), ("chip", SAM_RSP),
        ("host", GFV_CMD), ("chip", ACK), ("chip", GFV_RSP),
        ("host", RF_RETRIES_2), ("chip", ACK), ("chip", RF_RSP),
    ])
    drv = PN532(I2C(bus), FakeClock())
    assert drv.begin() == VERSION
    bus.done()


def test_i2c_chip_never_ready_is_bounded():
    bus = ScriptedI2C([
        ("host", GFV_CMD), ("host", ACK),
        ("host", GFV_CMD), ("host", ACK),
        ("host", GFV_CMD),
    ])
    clock = FakeClock()
    drv = PN532(I2C(bus), clock)
    with mpytest.raises(NoAck):
        drv.firmware_version()
    bus.done()
    assert clock.now < 200


def test_i2c_list_deadbeef_and_bad_dcs_nack():
    bad = bytearray(LIST_DEADBEEF)
    bad[-2] ^= 0x01
    bus = ScriptedI2C([
        ("host", LIST_CMD), ("chip", ACK), ("chip", bytes(bad)),
        ("host", NACK), ("chip", LIST_DEADBEEF),
    ])
    drv = PN532(I2C(bus), FakeClock())
    assert drv.list_passive_target() == (h("DE AD BE EF"), 0x0004, 0x08)
    assert drv.nacks == 1
    bus.done()


# --- allocation ----------------------------------------------------------------------------------


class _ReplayUart:
    """Serves the same chip bytes after every write, copying from a preallocated buffer, so that
    only the driver's own allocations are measured."""

    def __init__(self, chip_bytes):
        self._buf = bytearray(chip_bytes)
        self._mv = memoryview(self._buf)
        self._pos = len(self._buf)

    def write(self, buf):
        self._pos = 0
        return len(buf)

    def readinto(self, buf):
        n = len(self._buf) - self._pos
        if n <= 0:
            return None
        if n > len(buf):
            n = len(buf)
        buf[:n] = self._mv[self._pos:self._pos + n]
        self._pos += n
        return n

    def any(self):
        return 0

    def set_baud(self, baud):
        pass


def _exchange_alloc(answer_len):
    # InDataExchange answer: D5 41 00 + answer_len bytes of 0x00; DCS = -(D5+41) & 0xFF = EA.
    ln = 3 + answer_len  # TFI, code, status, data
    frame = bytes((0, 0, 0xFF, ln, (-ln) & 0xFF, 0xD5, 0x41, 0x00)) + bytes(answer_len) + b"\xea\x00"
    drv = PN532(HSU(_ReplayUart(ACK + frame)), FakeClock())
    payload = bytearray(b"\x30\x04")
    assert len(drv.data_exchange(payload, answer_len)) == answer_len  # warm up
    _, used = mpytest.alloc_bytes(drv.data_exchange, payload, answer_len)
    return used


def test_hot_path_allocation_does_not_grow_with_frame_size():
    small = _exchange_alloc(16)
    large = _exchange_alloc(200)
    # Only fixed-size objects (memoryview slices) are made per command, never per byte.
    assert large - small < 64, (small, large)
    if mpytest.is_micropython():
        assert small <= 256, small
