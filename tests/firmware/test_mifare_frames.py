"""MIFARE Classic layer over a scripted PN532: the exact InDataExchange frames of docs/chip-facts.md
"MIFARE commands in InDataExchange" (UID DE AD BE EF, block 4, key FF x 6) and the
value-block vectors of "Value blocks".

Dual-run: CPython (pytest) and MicroPython (tests/micropython/run.mjs).
"""
import mpytest
from pn532_script import ACK, FakeClock, ScriptedUart, h

from icpurse.firmware.codec import MF_AUTH_B
from icpurse.firmware.mifare import (
    AccessDenied,
    AuthError,
    ClassicTag,
    MifareError,
    TagGone,
    ValueBlockError,
    value_address,
    value_block,
    value_of,
)
from icpurse.firmware.pn532 import PN532, Timeout
from icpurse.firmware.pn532_hsu import HSU

KEY_FF = h("FF FF FF FF FF FF")
UID = h("DE AD BE EF")
AUTH_A_4 = h("00 00 FF 0F F1 D4 40 01 60 04 FF FF FF FF FF FF DE AD BE EF 55 00")
OK = h("00 00 FF 03 FD D5 41 00 EA 00")
AUTH_ERROR = h("00 00 FF 03 FD D5 41 14 D6 00")
NAK = h("00 00 FF 03 FD D5 41 13 D7 00")
NO_ANSWER = h("00 00 FF 03 FD D5 41 01 E9 00")  # D5+41+01 = 0x117 -> E9
READ_4 = h("00 00 FF 05 FB D4 40 01 30 04 B7 00")
INC_4_BY_1 = h("00 00 FF 09 F7 D4 40 01 C1 04 01 00 00 00 25 00")
DEC_4_BY_1 = h("00 00 FF 09 F7 D4 40 01 C0 04 01 00 00 00 26 00")
TRANSFER_4 = h("00 00 FF 05 FB D4 40 01 B0 04 37 00")
RESTORE_4 = h("00 00 FF 05 FB D4 40 01 C2 04 25 00")
LIST_CMD = h("00 00 FF 04 FC D4 4A 01 00 E1 00")
LIST_DEADBEEF = h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")
LIST_OTHER = h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 90 1F 2A A4 51 00")
LIST_NONE = h("00 00 FF 03 FD D5 4B 00 E0 00")
VALUE_0_AT_4 = h("00 00 00 00 FF FF FF FF 00 00 00 00 04 FB 04 FB")
# READ answer carrying VALUE_0_AT_4: LEN 0x13; D5+41+00+data = 0x710 -> DCS F0.
READ_4_VALUE_0 = h("00 00 FF 13 ED D5 41 00") + VALUE_0_AT_4 + h("F0 00")


def tag_on(script, uid=UID):
    uart = ScriptedUart(script)
    drv = PN532(HSU(uart), FakeClock())
    return ClassicTag(drv, uid, 0x0004, 0x08), uart


def test_auth_read_increment_transfer_frames():
    tag, uart = tag_on([
        ("host", AUTH_A_4), ("chip", ACK + OK),
        ("host", READ_4), ("chip", ACK + READ_4_VALUE_0),
        ("host", INC_4_BY_1), ("chip", ACK + OK),
        ("host", TRANSFER_4), ("chip", ACK + OK),
    ])
    tag.authenticate(4, KEY_FF)
    assert tag.read_block(4) == VALUE_0_AT_4
    tag.increment(4, 1)
    tag.transfer(4)
    uart.done()


def test_decrement_and_restore_frames():
    tag, uart = tag_on([
        ("host", DEC_4_BY_1), ("chip", ACK + OK),
        ("host", RESTORE_4), ("chip", ACK + OK),
    ])
    tag.decrement(4, 1)
    tag.restore(4)
    uart.done()


def test_write_frame():
    # D4+40+01+A0+04+data: LEN 0x15, DCS 4D.
    write = h("00 00 FF 15 EB D4 40 01 A0 04") + VALUE_0_AT_4 + h("4D 00")
    tag, uart = tag_on([("host", write), ("chip", ACK + OK)])
    tag.write_block(4, VALUE_0_AT_4)
    uart.done()


def test_real_capture_auth_block_7_and_transport_trailer_read():
    auth = h("00 00 FF 0F F1 D4 40 01 60 07 FF FF FF FF FF FF 90 1F 2A A4 0D 00")
    read7 = h("00 00 FF 05 FB D4 40 01 30 07 B4 00")  # D4+40+01+30+07 = 0x14C -> B4
    answer = h("00 00 FF 13 ED D5 41 00 00 00 00 00 00 00 FF 07 80 69 FF FF FF FF FF FF 01 00")
    tag, uart = tag_on([
        ("host", auth), ("chip", ACK + OK),
        ("host", read7), ("chip", ACK + answer),
    ], uid=h("90 1F 2A A4"))
    tag.authenticate(7, KEY_FF)
    assert tag.read_block(7) == h("00 00 00 00 00 00 FF 07 80 69 FF FF FF FF FF FF")
    uart.done()


def test_key_b_frame():
    # D4 40 01 61 04 112233445566 DEADBEEF: LEN 0x0F, DCS E9.
    auth = h("00 00 FF 0F F1 D4 40 01 61 04 11 22 33 44 55 66 DE AD BE EF E9 00")
    tag, uart = tag_on([("host", auth), ("chip", ACK + OK)])
    tag.authenticate(4, h("11 22 33 44 55 66"), MF_AUTH_B)
    uart.done()


def test_seven_byte_uid_authenticates_with_last_four_bytes():
    # UID 04 16 C6 C2 D7 38 81 -> C2 D7 38 81
    # (docs/chip-facts.md "MIFARE commands in InDataExchange"); DCS 3B.
    auth = h("00 00 FF 0F F1 D4 40 01 60 04 FF FF FF FF FF FF C2 D7 38 81 3B 00")
    tag, uart = tag_on([("host", auth), ("chip", ACK + OK)], uid=h("04 16 C6 C2 D7 38 81"))
    tag.authenticate(4, KEY_FF)
    uart.done()


def test_auth_error_then_next_auth_reselects_first():
    tag, uart = tag_on([
        ("host", AUTH_A_4), ("chip", ACK + AUTH_ERROR),
        # the card is halted: select it again, then authenticate
        ("host", LIST_CMD), ("chip", ACK + LIST_DEADBEEF),
        ("host", AUTH_A_4), ("chip", ACK + OK),
        ("host", READ_4), ("chip", ACK + READ_4_VALUE_0),
    ])
    with mpytest.raises(AuthError) as caught:
        tag.authenticate(4, KEY_FF)
    assert caught.value.status == 0x14
    assert tag.halted
    tag.authenticate(4, KEY_FF)
    assert not tag.halted
    assert tag.reselects == 1
    assert tag.read_block(4) == VALUE_0_AT_4
    uart.done()


def test_no_reselect_while_the_card_is_fine():
    tag, uart = tag_on([
        ("host", AUTH_A_4), ("chip", ACK + OK),
        ("host", AUTH_A_4), ("chip", ACK + OK),
    ])
    tag.authenticate(4, KEY_FF)
    tag.authenticate(4, KEY_FF)
    assert tag.reselects == 0
    uart.done()


def test_reselect_finding_another_card_is_tag_gone():
    tag, uart = tag_on([
        ("host", AUTH_A_4), ("chip", ACK + AUTH_ERROR),
        ("host", LIST_CMD), ("chip", ACK + LIST_OTHER),
    ])
    with mpytest.raises(AuthError):
        tag.authenticate(4, KEY_FF)
    with mpytest.raises(TagGone):
        tag.authenticate(4, KEY_FF)
    uart.done()


def test_reselect_with_empty_field_is_tag_gone():
    tag, uart = tag_on([
        ("host", AUTH_A_4), ("chip", ACK + AUTH_ERROR),
        ("host", LIST_CMD), ("chip", ACK + LIST_NONE),
    ])
    with mpytest.raises(AuthError):
        tag.authenticate(4, KEY_FF)
    with mpytest.raises(TagGone):
        tag.authenticate(4, KEY_FF)
    uart.done()


def test_nak_is_access_denied():
    tag, uart = tag_on([("host", READ_4), ("chip", ACK + NAK)])
    with mpytest.raises(AccessDenied) as caught:
        tag.read_block(4)
    assert caught.value.status == 0x13
    assert isinstance(caught.value, MifareError)
    uart.done()


def test_no_answer_is_tag_gone():
    tag, uart = tag_on([("host", INC_4_BY_1), ("chip", ACK + NO_ANSWER)])
    with mpytest.raises(TagGone) as caught:
        tag.increment(4, 1)
    assert caught.value.status == 0x01
    uart.done()


def test_host_link_timeout_is_not_a_card_error():
    tag, uart = tag_on([("host", READ_4), ("chip", ACK), ("host", ACK)])
    with mpytest.raises(Timeout) as caught:
        tag.read_block(4)
    assert not isinstance(caught.value, MifareError)
    assert tag.halted  # state unknown: select again before the next authentication
    uart.done()


def test_bad_arguments_send_nothing():
    tag, uart = tag_on([])
    with mpytest.raises(ValueError):
        tag.increment(4, -1)
    with mpytest.raises(ValueError):
        tag.decrement(4, 1 << 31)
    with mpytest.raises(ValueError):
        tag.write_block(4, bytes(15))
    with mpytest.raises(ValueError):
        tag.authenticate(4, bytes(5))
    with mpytest.raises(ValueError):
        tag.authenticate(4, KEY_FF, 0x30)
    uart.done()


# --- value blocks (docs/chip-facts.md "Value blocks") ------------------------------------


def test_value_block_vectors():
    assert value_block(1234567, 17) == h("87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE")
    assert value_block(100, 5) == h("64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA")
    assert value_block(101, 5) == h("65 00 00 00 9A FF FF FF 65 00 00 00 05 FA 05 FA")
    assert value_block(0, 4) == VALUE_0_AT_4
    assert value_block(-1, 4) == h("FF FF FF FF 00 00 00 00 FF FF FF FF 04 FB 04 FB")


def test_value_of_vectors():
    assert value_of(h("87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE")) == 1234567
    assert value_address(h("87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE")) == 17
    assert value_of(h("FF FF FF FF 00 00 00 00 FF FF FF FF 04 FB 04 FB")) == -1
    assert value_of(bytearray(VALUE_0_AT_4)) == 0


def test_value_of_rejects_every_single_byte_corruption():
    good = h("87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE")
    for i in range(16):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with mpytest.raises(ValueBlockError):
            value_of(bad)


def test_value_of_rejects_other_blocks():
    with mpytest.raises(ValueBlockError):
        value_of(h("00 00 00 00 00 00 FF 07 80 69 FF FF FF FF FF FF"))  # a trailer
    with mpytest.raises(ValueBlockError):
        value_of(bytes(16))
    with mpytest.raises(ValueBlockError):
        value_of(VALUE_0_AT_4[:15])


def test_value_block_range():
    assert value_block(-(1 << 31), 0)[:4] == h("00 00 00 80")
    assert value_block((1 << 31) - 1, 0)[:4] == h("FF FF FF 7F")
    with mpytest.raises(ValueError):
        value_block(1 << 31, 0)
    with mpytest.raises(ValueError):
        value_block(0, 256)
