"""The PC/SC part 3 storage-card persona, APDU by APDU (no sockets).

Expected bytes come from the ACS manuals (APDUs, ATRs, the value examples) and NXP MF1S50yyX (value
block layout, access bits), as docs/simulator.md lists them, worked out by hand here — never from
the code.
"""
import pytest

from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.pcsc import StorageCardPersona
from support.frames import h

OK = "9000"
FAIL = "6300"
FF6 = "FFFFFFFFFFFF"
ATR_1K = "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A"
ATR_4K = "3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 02 00 00 00 00 69"


class Reader:
    """The persona plus a deck and clock, with hex in / hex out helpers."""

    def __init__(self, *cards):
        self.deck = Deck()
        self.clock = VirtualClock()
        for i, card in enumerate(cards):
            self.deck.add("c%d" % i, card)
        self.deck.present("c0")
        self.persona = StorageCardPersona(self.deck, clock=self.clock)
        self.atr = self.persona.atr()
        self.persona.power_on()

    def x(self, apdu):
        return self.persona.transmit(h(apdu)).hex().upper()

    def load_ff(self, slot=0):
        assert self.x("FF 82 00 %02X 06 %s" % (slot, FF6)) == OK

    def auth(self, block, key_type=0x60, slot=0):
        return self.x("FF 86 00 00 05 01 00 %02X %02X %02X" % (block, key_type, slot))


@pytest.fixture
def r1k():
    return Reader(ClassicCard(h("DEADBEEF"), "1k"))


@pytest.fixture
def r4k():
    return Reader(ClassicCard(h("01020304"), "4k"))


# ---- ATR and GET DATA -------------------------------------------------------------------------

def test_atr_1k_documented(r1k):
    assert r1k.atr == h(ATR_1K)


def test_atr_4k_computed_tck():
    assert Reader(ClassicCard(h("01020304"), "4k")).atr == h(ATR_4K)


def test_atr_7_byte_uid_is_still_a_1k_storage_card():
    assert Reader(ClassicCard(h("04112233445566"), "1k")).atr == h(ATR_1K)


def test_no_card_no_atr():
    deck = Deck()
    assert StorageCardPersona(deck).atr() == b""


def test_get_uid(r1k):
    assert r1k.x("FF CA 00 00 00") == "DEADBEEF" + OK
    assert r1k.x("FF CA 00 00 04") == "DEADBEEF" + OK


def test_get_uid_le_too_short_gives_6c_with_length(r1k):
    assert r1k.x("FF CA 00 00 02") == "6C04"


def test_get_uid_le_too_long_gives_6282(r1k):
    assert r1k.x("FF CA 00 00 08") == "DEADBEEF" + "6282"


def test_get_uid_7_bytes():
    r = Reader(ClassicCard(h("04112233445566"), "1k"))
    assert r.x("FF CA 00 00 00") == "04112233445566" + OK
    assert r.x("FF CA 00 00 04") == "6C07"


def test_get_ats_not_supported_on_classic(r1k):
    assert r1k.x("FF CA 01 00 00") == "6A81"


# ---- keys and authentication ------------------------------------------------------------------

def test_load_key_acs_example(r1k):
    assert r1k.x("FF 82 00 00 06 FF FF FF FF FF FF") == OK
    assert r1k.x("FF 82 00 01 06 A0 A1 A2 A3 A4 A5") == OK


@pytest.mark.parametrize("apdu", [
    "FF 82 00 02 06 FF FF FF FF FF FF",  # ACR122U has volatile slots 00..01 only
    "FF 82 20 00 06 FF FF FF FF FF FF",  # non-volatile structure: ACR128 only
    "FF 82 00 00 05 FF FF FF FF FF",  # a key is 6 bytes
])
def test_load_key_refused(r1k, apdu):
    assert r1k.x(apdu) == FAIL


def test_general_authenticate_acs_example(r1k):
    r1k.load_ff()
    assert r1k.x("FF 86 00 00 05 01 00 04 60 00") == OK


def test_obsolete_authenticate_acs_example(r1k):
    r1k.load_ff()
    assert r1k.x("FF 88 00 04 60 00") == OK
    assert r1k.x("FF B0 00 04 10") == "00" * 16 + OK


def test_authenticate_with_empty_slot_fails(r1k):
    assert r1k.auth(4, slot=1) == FAIL


def test_authenticate_bad_key_type_fails(r1k):
    r1k.load_ff()
    assert r1k.x("FF 86 00 00 05 01 00 04 62 00") == FAIL


def test_wrong_key_fails_then_the_right_key_works_again(r1k):
    """A failed AUTH halts the card; the reader re-selects it on the next authenticate."""
    r1k.load_ff(0)
    assert r1k.x("FF 82 00 01 06 A0 A1 A2 A3 A4 A5") == OK
    assert r1k.auth(4, slot=1) == FAIL
    assert r1k.deck.in_field.state == "halted"
    assert r1k.x("FF B0 00 04 10") == FAIL  # a halted card answers nothing
    assert r1k.auth(4, slot=0) == OK
    assert r1k.x("FF B0 00 04 10") == "00" * 16 + OK


def test_readable_key_b_authenticates_but_gives_no_access(r1k):
    # Transport trailer FF 07 80: key B is readable, so it cannot serve for memory access
    # (MF1S50yyX Table 8, footnote 1).
    r1k.load_ff()
    r1k.auth(4, key_type=0x61)
    assert r1k.x("FF B0 00 04 10") == FAIL


# ---- read / update ----------------------------------------------------------------------------

def test_read_needs_authentication(r1k):
    assert r1k.x("FF B0 00 04 10") == FAIL


def test_read_outside_authenticated_sector_fails(r1k):
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x("FF B0 00 08 10") == FAIL


def test_read_block_0(r1k):
    r1k.load_ff()
    assert r1k.auth(0) == OK
    # UID, BCC DE^AD^BE^EF = 22 (docs/chip-facts.md "Block 0"), then manufacturer data
    assert r1k.x("FF B0 00 00 10")[:10] == "DEADBEEF22"


def test_read_trailer_masks_key_a(r1k):
    r1k.load_ff()
    r1k.auth(7)
    # key A always reads as zeros; FF 07 80 lets key A read access bits and key B
    # (MF1S50yyX §8.6.3, Table 7)
    assert r1k.x("FF B0 00 07 10") == "000000000000" + "FF078069" + FF6 + OK


def test_update_and_read_acs_example(r1k):
    r1k.load_ff()
    r1k.auth(4)
    data = "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
    assert r1k.x("FF D6 00 04 10 " + data) == OK
    assert r1k.x("FF B0 00 04 10") == h(data).hex().upper() + OK


def test_update_block_0_is_refused(r1k):
    r1k.load_ff()
    r1k.auth(0)
    assert r1k.x("FF D6 00 00 10 " + "11" * 16) == FAIL


def test_update_needs_16_bytes(r1k):
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x("FF D6 00 04 08 " + "11" * 8) == FAIL


def test_multiple_blocks_mode_read_and_write(r1k):
    r1k.load_ff()
    r1k.auth(4)
    data = "".join("%02X" % i for i in range(48))
    assert r1k.x("FF D6 00 04 30 " + data) == OK
    assert r1k.x("FF B0 00 04 30") == data + OK
    assert r1k.x("FF B0 00 05 20") == data[32:] + OK


@pytest.mark.parametrize("apdu", [
    "FF B0 00 04 40",  # 4 blocks would include the trailer
    "FF B0 00 05 30",  # runs into the trailer
    "FF B0 00 06 20",  # trailer only in single-block mode
    "FF B0 00 04 18",  # not a multiple of 16
])
def test_multiple_blocks_mode_limits(r1k, apdu):
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x(apdu) == FAIL


def test_4k_big_sector_reads_15_data_blocks(r4k):
    r4k.load_ff()
    assert r4k.auth(128) == OK
    assert r4k.x("FF B0 00 80 F0") == "00" * 240 + OK
    assert r4k.x("FF B0 00 8F 10") == "000000000000" + "FF078069" + FF6 + OK


def test_4k_block_beyond_1k(r4k):
    r4k.load_ff()
    assert r4k.auth(255) == OK
    assert r4k.x("FF B0 00 FF 10")[12:20] == "FF078069"


def test_1k_has_no_block_64(r1k):
    r1k.load_ff()
    assert r1k.auth(64) == FAIL
    assert r1k.x("FF B0 00 40 10") == FAIL


# ---- value blocks ---------------------------------------------------------------------------------

def test_acs_value_examples(r1k):
    """ACS value examples (docs/chip-facts.md "PC/SC storage-card APDUs"): store 1 in block 5, read
    it MSB first, copy 5 -> 6, add 5."""
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x("FF D7 00 05 05 00 00 00 00 01") == OK
    assert r1k.x("FF B1 00 05 04") == "00000001" + OK
    # On the card LSB first: value, ~value, value, adr, ~adr, adr, ~adr (MF1S50yyX §8.6.2.1), adr = block 5
    assert r1k.x("FF B0 00 05 10") == "01000000" "FEFFFFFF" "01000000" "05FA05FA" + OK
    # TRANSFER keeps the destination's address bytes (MF1S50yyX, value operations), so block 6 must
    # be a value block already
    assert r1k.x("FF D7 00 06 05 00 00 00 00 00") == OK
    assert r1k.x("FF D7 00 05 02 03 06") == OK
    assert r1k.x("FF B1 00 06 04") == "00000001" + OK
    assert r1k.x("FF B0 00 06 10") == "01000000" "FEFFFFFF" "01000000" "06F906F9" + OK
    assert r1k.x("FF D7 00 05 05 01 00 00 00 05") == OK
    assert r1k.x("FF B1 00 05 04") == "00000006" + OK
    assert r1k.x("FF B1 00 06 04") == "00000001" + OK


def test_store_value_matches_reference_vector_8(r1k):
    # 1234567 in block 17 == 87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE
    r1k.load_ff()
    r1k.auth(17)
    assert r1k.x("FF D7 00 11 05 00 00 12 D6 87") == OK
    assert r1k.x("FF B0 00 11 10") == "87D6120078" "29EDFF87D6120011EE11EE" + OK


def test_negative_value_msb_first_on_apdu_lsb_first_on_card(r1k):
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x("FF D7 00 04 05 00 FF FF FF FC") == OK  # -4
    assert r1k.x("FF B1 00 04 04") == "FFFFFFFC" + OK
    assert r1k.x("FF B0 00 04 10")[:8] == "FCFFFFFF"


def test_decrement(r1k):
    r1k.load_ff()
    r1k.auth(4)
    r1k.x("FF D7 00 05 05 00 00 00 01 00")  # 256
    assert r1k.x("FF D7 00 05 05 02 00 00 00 10") == OK
    assert r1k.x("FF B1 00 05 04") == "000000F0" + OK


def test_value_ops_on_a_data_block_fail(r1k):
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x("FF D7 00 04 05 01 00 00 00 01") == FAIL  # zeros are not a value block
    assert r1k.x("FF B1 00 04 04") == FAIL


def test_restore_across_sectors_fails(r1k):
    r1k.load_ff()
    r1k.auth(4)
    r1k.x("FF D7 00 05 05 00 00 00 00 01")
    assert r1k.x("FF D7 00 05 02 03 08") == FAIL


def test_value_ops_on_trailer_fail(r1k):
    r1k.load_ff()
    r1k.auth(7)
    assert r1k.x("FF D7 00 07 05 00 00 00 00 01") == FAIL
    assert r1k.x("FF D7 00 07 05 01 00 00 00 01") == FAIL
    assert r1k.x("FF B0 00 07 10") == "000000000000" + "FF078069" + FF6 + OK  # trailer untouched


def test_copy_to_a_block_that_is_not_a_value_block_leaves_no_value(r1k):
    r1k.load_ff()
    r1k.auth(4)
    r1k.x("FF D7 00 05 05 00 00 00 00 01")
    assert r1k.x("FF D7 00 05 02 03 06") == OK  # the card transfers; address bytes stay 00 00 00 00
    assert r1k.x("FF B1 00 06 04") == FAIL


def test_unknown_value_op_fails(r1k):
    r1k.load_ff()
    r1k.auth(4)
    r1k.x("FF D7 00 05 05 00 00 00 00 01")
    assert r1k.x("FF D7 00 05 05 07 00 00 00 01") == FAIL


# ---- access conditions ------------------------------------------------------------------------------

def test_read_only_sector_refuses_writes(r1k):
    """Data blocks C1C2C3 = 010 (read A|B, never write), trailer 001: access bytes 8F 07 87
    (C1 = 0000, C2 = 0111, C3 = 1000 by block bit; byte 6 = ~C2|~C1, 7 = C1|~C3, 8 = C3|C2)."""
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x("FF D6 00 04 10 " + "AA" * 16) == OK
    assert r1k.x("FF D7 00 05 05 00 00 00 00 09") == OK
    assert r1k.x("FF D6 00 07 10 " + FF6 + "8F078769" + FF6) == OK
    assert r1k.auth(4) == OK
    assert r1k.x("FF B0 00 04 10") == "AA" * 16 + OK
    assert r1k.x("FF D6 00 04 10 " + "BB" * 16) == FAIL
    assert r1k.x("FF D7 00 05 05 00 00 00 00 01") == FAIL
    assert r1k.x("FF D7 00 05 05 02 00 00 00 01") == FAIL
    assert r1k.x("FF B1 00 05 04") == "00000009" + OK


def test_invalid_access_bits_block_the_sector(r1k):
    r1k.load_ff()
    r1k.auth(4)
    # Key A may rewrite a transport trailer: 00 00 00 breaks the complement rule (MF1S50yyX §8.7.1)
    assert r1k.x("FF D6 00 07 10 " + FF6 + "00000069" + FF6) == OK
    assert r1k.auth(4) == OK
    assert r1k.x("FF B0 00 04 10") == FAIL


# ---- malformed, unknown, removal, timing ----------------------------------------------------------

@pytest.mark.parametrize("apdu,sw", [
    ("00 A4 04 00 00", "6E00"),  # not the storage-card class
    ("FF 99 00 00 00", "6D00"),  # unknown instruction
    ("FF D6 00 04 10 00 01", "6700"),  # Lc says 16, 2 bytes follow
])
def test_unknown_and_malformed(r1k, apdu, sw):
    assert r1k.x(apdu) == sw


def test_removed_card_gives_no_atr_and_fails(r1k):
    r1k.load_ff()
    r1k.deck.remove()
    assert r1k.persona.card_changed()
    assert r1k.persona.atr() == b""
    assert r1k.x("FF CA 00 00 00") == FAIL


def test_swap_is_seen_as_a_new_card():
    r = Reader(ClassicCard(h("DEADBEEF"), "1k"), ClassicCard(h("01020304"), "4k"))
    r.deck.swap("c1")
    assert r.persona.card_changed()
    r.persona.end_session()  # what the transport does: report removal, then the new card
    assert r.persona.atr() == h(ATR_4K)
    assert r.x("FF CA 00 00 00") == "01020304" + OK


def test_remove_and_present_again_is_a_new_session(r1k):
    r1k.load_ff()
    r1k.auth(4)
    r1k.deck.remove()
    r1k.deck.present("c0")
    assert r1k.persona.card_changed()  # PC/SC must see the removal even between two polls


def test_keys_survive_card_sessions(r1k):
    r1k.load_ff()
    r1k.deck.remove()
    r1k.persona.atr()
    r1k.deck.present("c0")
    r1k.persona.atr()
    assert r1k.auth(4) == OK


def test_clock_advances_by_typical_card_times(r1k):
    r1k.load_ff()
    assert r1k.clock.now_us == 0  # ATR polls and LOAD KEY do not touch the card
    r1k.x("FF CA 00 00 00")
    # datasheet typical times (docs/chip-facts.md "Timings"): identification + selection ~2.5 ms,
    # once per session
    assert r1k.clock.now_us == 2500
    t0 = r1k.clock.now_us
    r1k.auth(4)
    r1k.x("FF B0 00 04 10")
    # datasheet typical times: authentication ~2 ms, read ~2.5 ms
    assert r1k.clock.now_us - t0 == 2000 + 2500
    t1 = r1k.clock.now_us
    r1k.x("FF D7 00 05 05 00 00 00 00 01")
    r1k.x("FF D7 00 05 05 01 00 00 00 01")
    # write ~5.5 ms; increment ~2.5 ms + transfer ~4.5 ms
    assert r1k.clock.now_us - t1 == 5500 + 2500 + 4500


def test_power_cycle_ends_the_crypto_session(r1k):
    r1k.load_ff()
    r1k.auth(4)
    assert r1k.x("FF B0 00 04 10") == "00" * 16 + OK
    r1k.persona.power_off()
    r1k.persona.power_on()
    assert r1k.x("FF B0 00 04 10") == FAIL  # selected again, not authenticated
    assert r1k.auth(4) == OK


def test_card_pulled_by_a_fault_mid_session(r1k):
    faults = Faults()
    r1k.deck.in_field.faults = faults
    r1k.load_ff()
    assert r1k.x("FF CA 00 00 00") == "DEADBEEF" + OK  # selected
    faults.remove_after(1)
    assert r1k.auth(4) == OK
    assert r1k.x("FF B0 00 04 10") == FAIL  # the card left during this command
    assert r1k.persona.card_changed()
    assert r1k.persona.atr() == b""
