"""Frame-level tests of the PN532 model, nfcpy style: exact host bytes in -> exact ACK + response
bytes out. Vectors: the NXP PN532 User Manual's frame format and captures of a real PN532 (docs/simulator.md,
"The PN532")."""
import pytest

from icpurse.hil.sim.pn532 import PN532I2C, build_frame
from simkit import ACK, ERROR, KEY_FF, NACK, Rig, card, frame, h

GET_FW = h("00 00 FF 02 FE D4 02 2A 00")
FW_RSP = h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
SAM_RSP = h("00 00 FF 02 FE D5 15 16 00")
LIST_1 = h("00 00 FF 04 FC D4 4A 01 00 E1 00")
OK = h("00 00 FF 03 FD D5 41 00 EA 00")
AUTH_ERROR = h("00 00 FF 03 FD D5 41 14 D6 00")
NAK = h("00 00 FF 03 FD D5 41 13 D7 00")
TIMEOUT = h("00 00 FF 03 FD D5 41 01 E9 00")
AUTH_A_4 = h("00 00 FF 0F F1 D4 40 01 60 04 FF FF FF FF FF FF DE AD BE EF 55 00")
READ_4 = h("00 00 FF 05 FB D4 40 01 30 04 B7 00")
READ_0 = h("00 00 FF 05 FB D4 40 01 30 00 BB 00")
INC_4 = h("00 00 FF 09 F7 D4 40 01 C1 04 01 00 00 00 25 00")
DEC_4 = h("00 00 FF 09 F7 D4 40 01 C0 04 01 00 00 00 26 00")
TRANSFER_4 = h("00 00 FF 05 FB D4 40 01 B0 04 37 00")
RESTORE_4 = h("00 00 FF 05 FB D4 40 01 C2 04 25 00")
VALUE_100_AT_4 = h("64 00 00 00 9B FF FF FF 64 00 00 00 04 FB 04 FB")


def authed_rig():
    rig = Rig(card("DEADBEEF"), finite_retries=True)
    assert rig.send(LIST_1) == ACK + h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")
    assert rig.send(AUTH_A_4) == ACK + OK
    return rig


# --- frames, ACK / NACK / error ---------------------------------------------------------------

def test_independent_frame_builder_matches_the_reference_vectors():
    # guards the test helper itself
    assert frame(h("02")) == GET_FW
    assert frame(h("00 31 32 33")) == h("00 00 FF 05 FB D4 00 31 32 33 96 00")
    assert frame(h("01 34 35 36"), tfi=0xD5) == h("00 00 FF 05 FB D5 01 34 35 36 8B 00")


def test_build_frame_nfcpy_fixtures():
    assert build_frame(h("01 34 35 36")) == h("00 00 FF 05 FB D5 01 34 35 36 8B 00")
    assert build_frame(h("00 31 32 33"), tfi=0xD4) == h("00 00 FF 05 FB D4 00 31 32 33 96 00")
    extended = h("00 00 FF FF FF 01 05 FA D4 00 31 32 33") + bytes(256) + h("96 00")
    assert build_frame(h("00 31 32 33") + bytes(256), tfi=0xD4) == extended


def test_get_firmware_version():
    rig = Rig()
    assert rig.send(GET_FW) == ACK + FW_RSP


def test_ack_and_response_back_to_back_as_in_the_real_capture():
    rig = Rig()
    rig.chip.write(GET_FW)
    assert rig.chip.pending() == 19
    assert rig.chip.read(4) == h("00 00 FF 00")  # any chunking on the way out
    assert rig.chip.read() == h("FF 00 00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
    assert rig.chip.pending() == 0


def test_host_frame_in_any_chunking():
    rig = Rig()
    for b in GET_FW:
        rig.chip.write(bytes([b]))
    assert rig.chip.read() == ACK + FW_RSP


@pytest.mark.parametrize("command", [
    "00 00 FF 03 FD D4 14 01 17 00",  # libnfc
    "00 00 FF 05 FB D4 14 01 14 01 02 00",  # Adafruit
    "00 00 FF 05 FB D4 14 01 00 00 17 00",  # nfcpy
])
def test_sam_configuration_variants(command):
    rig = Rig()
    assert rig.chip.power == "lowvbat"
    assert rig.send(h(command)) == ACK + SAM_RSP
    assert rig.chip.power == "normal"


def test_wake_up_sequence_of_the_real_capture():
    rig = Rig()
    sent = h("55 55 00 00 00 00 00 00 00 00 00 00 00 00 00 00 FF 03 FD D4 14 01 17 00")
    assert rig.send(sent) == h("00 00 FF 00 FF 00 00 00 FF 02 FE D5 15 16 00")


def test_nfcpy_init_long_preamble_then_firmware_version_in_lowvbat():
    # nfcpy sends GetFirmwareVersion before SAMConfiguration: accepted in LowVbat
    rig = Rig()
    assert rig.send(bytes(10) + GET_FW) == ACK + FW_RSP
    assert rig.send(h("00 00 FF 05 FB D4 14 01 00 00 17 00")) == ACK + h("00 00 FF 02 FE D5 15 16 00")


def test_nack_resends_the_last_response_without_ack():
    rig = Rig()
    rig.send(GET_FW)
    assert rig.send(NACK) == FW_RSP
    assert rig.send(NACK) == FW_RSP


def test_unknown_command_gets_ack_then_error_frame():
    rig = Rig()
    assert rig.send(frame(h("8C 00"))) == ACK + ERROR  # TgInitAsTarget: not modelled
    assert rig.send(frame(h("FE"))) == ACK + ERROR
    assert rig.send(NACK) == ERROR
    assert rig.send(GET_FW) == ACK + FW_RSP  # and the chip carries on


@pytest.mark.parametrize("pd", ["14", "14 00", "14 05", "10 09", "10", "32 05 01", "32 77 00",
                                "4A 03 00", "06 63", "08 63 05", "40", "12", "00 31 32 33"])
def test_malformed_commands_get_the_error_frame(pd):
    rig = Rig()
    assert rig.send(frame(h(pd))) == ACK + ERROR


def test_wrong_tfi_gets_the_error_frame():
    rig = Rig()
    assert rig.send(frame(h("02"), tfi=0xD5)) == ACK + ERROR


def test_bad_lcs_and_bad_dcs_are_ignored_then_the_next_frame_works():
    rig = Rig()
    assert rig.send(h("00 00 FF 02 FD D4 02 2A 00")) == b""  # LCS wrong
    assert rig.send(h("00 00 FF 02 FE D4 02 2B 00")) == b""  # DCS wrong
    assert rig.send(GET_FW) == ACK + FW_RSP


def test_truncated_host_frame_followed_by_a_retry():
    rig = Rig()
    assert rig.send(GET_FW[:6]) == b""  # waits for the rest
    assert rig.send(GET_FW) == ACK + FW_RSP  # the retry resyncs past the broken frame


def test_extended_frames_both_ways():
    rig = Rig()
    payload = bytes(range(256)) + b"ABCD"  # 260 bytes: Diagnose line test echoes them
    cmd = frame(b"\x00\x00" + payload)
    assert cmd[3:5] == h("FF FF")
    rsp_pd = b"\x01\x00" + payload
    n = len(rsp_pd) + 1
    expected = (h("00 00 FF FF FF") + bytes([n >> 8, n & 0xFF, (0x100 - (n >> 8) - (n & 0xFF)) & 0xFF])
                + b"\xd5" + rsp_pd + bytes([(0x100 - (0xD5 + sum(rsp_pd)) % 256) % 256, 0]))
    assert rig.send(cmd) == ACK + expected


def test_nfcpy_extended_fixture_is_accepted_as_a_frame():
    rig = Rig()
    fixture = h("00 00 FF FF FF 01 05 FA D4 00 31 32 33") + bytes(256) + h("96 00")
    # a valid frame (ACK); Diagnose test 0x31 is not a test the model knows -> error frame
    assert rig.send(fixture) == ACK + ERROR


def test_diagnose_communication_line_test_as_libnfc_uses_it():
    rig = Rig()
    assert rig.command(b"\x00\x00libnfc") == b"\x01\x00libnfc"


# --- configuration commands -------------------------------------------------------------------

def test_rf_configuration_vectors():
    rig = Rig()
    assert rig.send(h("00 00 FF 04 FC D4 32 01 00 F9 00")) == ACK + h("00 00 FF 02 FE D5 33 F8 00")
    assert rig.send(h("00 00 FF 06 FA D4 32 05 FF 01 02 F3 00")) == ACK + h("00 00 FF 02 FE D5 33 F8 00")
    assert rig.chip.max_retries == (0xFF, 0x01, 0x02)
    # nfcpy's PN532 init
    for pd in ("32 02 00 0B 0A", "32 04 00", "32 05 01 00 01"):
        assert rig.command(h(pd)) == h("33")
    assert rig.chip.max_retries == (0x01, 0x00, 0x01)


def test_set_parameters_and_registers():
    rig = Rig()
    assert rig.command(h("12 14")) == h("13")
    # CIU TxMode / RxMode start with CRC on (bit 7), as libnfc assumes; other registers at 0
    assert rig.command(h("06 63 02 63 03 63 04")) == h("07 80 80 00")
    assert rig.command(h("08 63 02 00 63 03 05")) == h("09")
    assert rig.command(h("06 63 03 63 02 63 04")) == h("07 05 00 00")


def test_set_serial_baud_rate_applies_after_the_host_ack():
    rig = Rig()
    assert rig.send(frame(h("10 07"))) == ACK + h("00 00 FF 02 FE D5 11 1A 00")
    assert rig.chip.baud == 115200  # the answer went out at the old rate
    assert rig.send(ACK) == b""
    assert rig.chip.baud == 921600
    assert rig.send(GET_FW) == ACK + FW_RSP


def test_power_down_then_hsu_wake_up():
    rig = Rig()
    assert rig.command(h("16 10")) == h("17 00")  # wake on HSU
    assert rig.send(GET_FW) == b""  # asleep: no 0x55, nothing heard
    assert rig.send(h("55 55 00 00 00 00") + GET_FW) == ACK + FW_RSP


def test_power_down_without_hsu_wake_source_stays_asleep():
    rig = Rig()
    assert rig.command(h("16 20")) == h("17 00")  # SPI only
    assert rig.send(h("55 55 00 00") + GET_FW) == b""


def test_get_general_status():
    rig = Rig(card("DEADBEEF"), finite_retries=True)
    assert rig.command(h("04")) == h("05 00 00 00 00")
    rig.list_card()
    assert rig.command(h("04")) == h("05 00 01 01 01 00 00 00 00")
    rig.mifare(h("30 04"))  # not authenticated -> NAK 0x13, remembered as last error
    assert rig.command(h("04"))[:2] == h("05 13")


# --- InListPassiveTarget ----------------------------------------------------------------------

@pytest.mark.parametrize("uid, size, reply", [
    ("DEADBEEF", "1k", "00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00"),
    ("901F2AA4", "1k", "00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 90 1F 2A A4 51 00"),  # real capture
    ("F68E2A99", "4k", "00 00 FF 0C F4 D5 4B 01 01 00 02 18 04 F6 8E 2A 99 79 00"),  # ACR122U 4K
])
def test_in_list_passive_target(uid, size, reply):
    rig = Rig(card(uid, size))
    assert rig.send(LIST_1) == ACK + h(reply)


@pytest.mark.parametrize("size, atqa_sak", [("1k", "00 44 08"), ("4k", "00 42 18")])
def test_in_list_passive_target_7_byte_uid(size, atqa_sak):
    rig = Rig(card("04112233445566", size))
    assert rig.command(h("4A 01 00")) == h("4B 01 01") + h(atqa_sak) + h("07 04 11 22 33 44 55 66")


def test_no_card_with_finite_retries_answers_nbtg_0():
    rig = Rig(finite_retries=True)
    assert rig.send(LIST_1) == ACK + h("00 00 FF 03 FD D5 4B 00 E0 00")


def test_no_card_with_infinite_retries_waits_for_a_card():
    rig = Rig(card("DEADBEEF"))
    rig.deck.remove()
    assert rig.send(LIST_1) == ACK  # pending: MxRtyPassiveActivation 0xFF is the default
    assert rig.chip.read() == b""
    rig.deck.present("card0")
    assert rig.chip.read() == h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")


def test_host_ack_aborts_a_waiting_in_list_passive_target():
    rig = Rig(card("DEADBEEF"))
    rig.deck.remove()
    assert rig.send(LIST_1) == ACK
    assert rig.send(ACK) == b""
    rig.deck.present("card0")
    assert rig.chip.read() == b""
    assert rig.send(GET_FW) == ACK + FW_RSP


def test_two_targets_and_initiator_data():
    rig = Rig(card("DEADBEEF"), card("0A0B0C0D", "4k"), finite_retries=True)
    rig.deck.present("card1", also=True)
    assert rig.command(h("4A 02 00")) == h(
        "4B 02 01 00 04 08 04 DE AD BE EF 02 00 02 18 04 0A 0B 0C 0D")
    assert rig.command(h("4A 01 00 0A 0B 0C 0D")) == h("4B 01 01 00 02 18 04 0A 0B 0C 0D")
    assert rig.command(h("4A 01 00 01 02 03 04")) == h("4B 00")


def test_each_listed_target_answers_on_its_own_tg():
    rig = Rig(card("DEADBEEF"), card("0A0B0C0D"), finite_retries=True)
    rig.deck.present("card1", also=True)
    rig.command(h("4A 02 00"))
    for tg, uid in ((1, "DEADBEEF"), (2, "0A0B0C0D"), (1, "DEADBEEF")):
        rsp = rig.command(bytes([0x40, tg]) + h("60 00") + KEY_FF + h(uid))
        assert rsp == h("41 00")
        rsp = rig.command(bytes([0x40, tg]) + h("30 00"))
        assert rsp[:2] == h("41 00") and rsp[2:6] == h(uid)
    assert rig.command(h("40 03 30 00")) == h("41 27")  # unknown target


# --- MIFARE Classic over InDataExchange (chip facts) -----------------------------------------

def test_auth_ok_then_read_block_4_and_block_0():
    rig = authed_rig()
    assert rig.send(READ_4) == ACK + frame(h("41 00") + bytes(16), tfi=0xD5)
    assert rig.send(READ_0) == ACK + NAK  # block 0 is in sector 0: not authenticated there
    assert rig.send(frame(h("40 01 60 00") + KEY_FF + h("DE AD BE EF"))) == ACK + OK
    assert rig.send(READ_0) == ACK + frame(h("41 00 DE AD BE EF 22 08 04 00") + bytes(8), tfi=0xD5)


def test_auth_of_the_real_capture_on_block_7():
    rig = Rig(card("901F2AA4"))
    rig.send(LIST_1)
    assert rig.send(h("00 00 FF 0F F1 D4 40 01 60 07 FF FF FF FF FF FF 90 1F 2A A4 0D 00")) == ACK + OK


def test_transport_trailer_read_as_captured():
    rig = authed_rig()
    assert rig.send(h("00 00 FF 05 FB D4 40 01 30 07 B4 00")) == ACK + h(
        "00 00 FF 13 ED D5 41 00 00 00 00 00 00 00 FF 07 80 69 FF FF FF FF FF FF 01 00")


def test_auth_error_halts_the_card_until_reselected():
    rig = Rig(card("DEADBEEF"), finite_retries=True)
    rig.send(LIST_1)
    bad_key = h("00 00 FF 0F F1 D4 40 01 60 04 FF FF FF FF FF FE DE AD BE EF 56 00")
    assert rig.send(bad_key) == ACK + AUTH_ERROR
    assert rig.send(AUTH_A_4) == ACK + TIMEOUT  # halted: no answer
    assert rig.send(READ_4) == ACK + TIMEOUT
    rig.send(LIST_1)  # nfc-mfclassic re-selects after a failed key
    assert rig.send(AUTH_A_4) == ACK + OK


def test_read_without_auth_is_a_nak():
    rig = Rig(card("DEADBEEF"))
    rig.send(LIST_1)
    assert rig.send(READ_4) == ACK + NAK


def test_value_ops_vectors():
    rig = authed_rig()
    write = frame(h("40 01 A0 04") + VALUE_100_AT_4)
    assert rig.send(write) == ACK + OK
    assert rig.send(INC_4) == ACK + OK
    assert rig.send(TRANSFER_4) == ACK + OK
    assert rig.command(h("40 01 30 04")) == h("41 00 65 00 00 00 9A FF FF FF 65 00 00 00 04 FB 04 FB")
    assert rig.send(DEC_4) == ACK + OK
    assert rig.send(DEC_4) == ACK + OK  # both read the block (101): the buffer holds 100
    assert rig.send(TRANSFER_4) == ACK + OK
    assert rig.command(h("40 01 30 04")) == h("41 00 64 00 00 00 9B FF FF FF 64 00 00 00 04 FB 04 FB")
    assert rig.send(DEC_4) == ACK + OK
    assert rig.send(TRANSFER_4) == ACK + OK
    assert rig.command(h("40 01 30 04")) == h("41 00 63 00 00 00 9C FF FF FF 63 00 00 00 04 FB 04 FB")
    assert rig.send(RESTORE_4) == ACK + OK
    assert rig.send(TRANSFER_4) == ACK + OK


def test_restore_without_operand_and_transfer_with_libnfc_dummy_bytes():
    rig = authed_rig()
    rig.mifare(h("A0 05") + VALUE_100_AT_4)
    assert rig.mifare(h("C2 05")) == (0, b"")  # ACR122 docs: D4 40 01 C2 05
    assert rig.mifare(h("C2 05 00 00 00 00")) == (0, b"")  # datasheet: 4 arbitrary bytes
    assert rig.mifare(h("B0 06 00 00 00 00")) == (0, b"")  # libnfc: TRANSFER + 4 dummy bytes
    assert rig.mifare(h("30 06"))[1][:12] == VALUE_100_AT_4[:12]


def test_value_op_on_a_plain_data_block_is_a_nak():
    rig = authed_rig()
    assert rig.send(INC_4) == ACK + NAK  # block 4 is all zeros: not a value block


def test_auth_with_7_byte_uid_uses_the_last_4_bytes():
    rig = Rig(card("04112233445566"))
    rig.list_card()
    assert rig.mifare(h("60 04") + KEY_FF + h("33 44 55 66")) == (0x00, b"")
    rig.list_card()
    assert rig.mifare(h("60 04") + KEY_FF + h("04 11 22 33")) == (0x14, b"")


def test_in_release_vector_then_target_unknown():
    rig = authed_rig()
    assert rig.send(h("00 00 FF 03 FD D4 52 00 DA 00")) == ACK + h("00 00 FF 03 FD D5 53 00 D8 00")
    assert rig.mifare(h("30 04")) == (0x27, b"")


def test_in_deselect_and_in_select():
    rig = authed_rig()
    assert rig.command(h("44 01")) == h("45 00")
    # the chip re-activates a deselected target by itself; the crypto session is gone [U]
    assert rig.mifare(h("30 04")) == (0x13, b"")
    assert rig.command(h("44 00")) == h("45 00")
    assert rig.command(h("54 01")) == h("55 00")
    assert rig.mifare(h("30 04")) == (0x13, b"")
    assert rig.command(h("54 02")) == h("55 27")


def test_in_communicate_thru_hlta_and_other_raw_frames():
    rig = authed_rig()
    assert rig.command(h("42 50 00")) == h("43 01")  # HLTA: the card never answers
    assert rig.mifare(h("30 04")) == (0x01, b"")
    rig.list_card()
    assert rig.mifare(h("60 04") + KEY_FF + h("DE AD BE EF")) == (0, b"")
    # After AUTH the chip's Crypto1 unit is on (CIU Status2 bit 3): a raw READ is encrypted by the
    # CIU and works; CRC_A is checked and stripped (RxCRCEn on)
    assert rig.command(h("06 63 38")) == h("07 08")
    assert rig.command(h("42 30 04")) == h("43 00") + bytes(16)
    # The host turns Crypto1 off (libnfc does before raw work): an unencrypted READ mid-session
    # breaks the session
    assert rig.command(h("08 63 38 00")) == h("09")
    assert rig.command(h("42 30 04")) == h("43 01")
    assert rig.mifare(h("30 04")) == (0x01, b"")


def test_card_removed_gives_timeout():
    rig = authed_rig()
    rig.deck.remove()
    assert rig.send(READ_4) == ACK + TIMEOUT


# --- I2C transport ----------------------------------------------------------------------------

def test_i2c_ready_byte_as_observed():
    rig = Rig()
    i2c = PN532I2C(rig.chip)
    assert i2c.address == 0x24
    i2c.write(GET_FW)
    assert i2c.read(7) == bytes(7)  # busy once
    assert i2c.read(7) == h("01 00 00 FF 00 FF 00")
    assert i2c.read(14) == h("01 00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
    assert i2c.read(1) == h("00")  # nothing left


def test_i2c_reads_one_frame_per_transaction_padded_or_cut():
    rig = Rig()
    i2c = PN532I2C(rig.chip)
    i2c.write(GET_FW)
    assert i2c.read(1) == h("00")
    assert i2c.read(10) == h("01 00 00 FF 00 FF 00 00 00 00")  # padded
    assert i2c.read(5) == h("01 00 00 FF 06")  # rest of the frame dropped
    assert i2c.read(3) == h("00 00 00")


# --- robustness ------------------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_chip(data):
    rig = Rig(card("DEADBEEF"), finite_retries=True)
    rig.chip.write(data)
    rig.chip.read()
    assert rig.send(GET_FW)[-13:] == FW_RSP or rig.chip.power == "powerdown"


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=40))
def test_random_commands_get_an_answer_or_the_error_frame(pd):
    rig = Rig(card("DEADBEEF"), finite_retries=True)
    rig.list_card()
    out = rig.send(frame(pd))
    assert out[:6] == ACK
    rsp = out[6:]
    assert rsp == ERROR or rsp[5:7] == bytes([0xD5, (pd[0] + 1) & 0xFF]) or (
        pd[0] == 0x4A and rsp == b"")  # a waiting InListPassiveTarget
