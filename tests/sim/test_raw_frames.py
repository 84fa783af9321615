"""Raw ISO 14443-3 frames through InCommunicateThru and the CIU registers, InAutoPoll, and the
clone ("magic") card kinds, frame by frame (no sockets).

Expected bytes are worked out by hand here from ISO 14443-3 and the MIFARE datasheets (docs/
simulator.md "Raw frames" and "Magic cards"): BCC = XOR of the UID bytes, ATQA on air LSB first,
MIFARE 4-bit ACK 0xA / NAK 0x4, the CRC_A vectors `30 00` -> `02 A8` and `50 00` -> `57 CD`, and the
CRC_A bytes libnfc's own iso14443a_crc_append produced for the same frames (seen in nfc-anticol
output). Nothing is computed with the simulator's code.
"""
import pytest

from icpurse.hil.sim.card import ClassicCard
from simkit import KEY_FF, Rig, card, h

# CIU registers (PN532 user manual register map; libnfc pn53x-internal.h)
TX_MODE, RX_MODE, MANUAL_RCV, STATUS2, CONTROL, BIT_FRAMING = "6302", "6303", "630D", "6338", "633C", "633D"

SELECT_DEADBEEF = h("93 70 DE AD BE EF 22 B9 9C")  # CRC_A as libnfc computed it
SAK_08_CRC = h("08 B6 DD")
HLTA_CRC = h("50 00 57 CD")


def wreg(rig, *pairs):
    """WriteRegister (address hex, value) pairs."""
    pd = "08 " + " ".join("%s %s %02X" % (a[:2], a[2:], v) for a, v in pairs)
    assert rig.command(h(pd)) == h("09")


def rreg(rig, addr):
    rsp = rig.command(h("06 %s %s" % (addr[:2], addr[2:])))
    return rsp[1]


def raw_mode(rig):
    """What libnfc's raw tools set: CRC off both ways (parity stays with the chip)."""
    wreg(rig, (TX_MODE, 0x00), (RX_MODE, 0x00))


def thru(rig, data, bits=0):
    """InCommunicateThru with TxLastBits = bits -> (status, data, RxLastBits)."""
    wreg(rig, (BIT_FRAMING, bits))
    rsp = rig.command(b"\x42" + bytes(data))
    assert rsp[0] == 0x43
    return rsp[1], rsp[2:], rreg(rig, CONTROL) & 0x07


def activate(rig):
    assert thru(rig, h("26"), 7)[:2] == (0, h("04 00"))
    assert thru(rig, h("93 20"))[:2] == (0, h("DE AD BE EF 22"))
    assert thru(rig, SELECT_DEADBEEF)[:2] == (0, SAK_08_CRC)


@pytest.fixture
def rig():
    r = Rig(card("DEADBEEF"), finite_retries=True)
    raw_mode(r)
    return r


# ---- the CIU -------------------------------------------------------------------------------

def test_ciu_starts_with_crc_on_and_parity_by_the_chip():
    r = Rig()
    assert rreg(r, TX_MODE) & 0x80 and rreg(r, RX_MODE) & 0x80
    assert rreg(r, MANUAL_RCV) & 0x10 == 0
    assert rreg(r, BIT_FRAMING) & 0x07 == 0


def test_rx_last_bits_is_read_only_for_the_host(rig):
    wreg(rig, (CONTROL, 0x17))
    assert rreg(rig, CONTROL) & 0x07 == 0
    assert rreg(rig, CONTROL) & 0x10


# ---- REQA / anticollision / select by hand ---------------------------------------------------

def test_reqa_anticollision_select_by_hand(rig):
    st, atqa, last = thru(rig, h("26"), 7)
    assert (st, atqa, last) == (0, h("04 00"), 0)  # ATQA 0x0004, LSB first on air
    assert thru(rig, h("93 20")) == (0, h("DE AD BE EF 22"), 0)  # BCC DE^AD^BE^EF = 22
    assert thru(rig, SELECT_DEADBEEF) == (0, SAK_08_CRC, 0)
    assert rig.deck.in_field.state == "active"


def test_reqa_with_eight_bits_is_not_a_reqa(rig):
    assert thru(rig, h("26"), 0)[0] == 0x01  # a full byte 0x26 is no short frame: silence
    assert thru(rig, h("26"), 6)[0] == 0x01  # nor are 6 bits
    assert thru(rig, h("26"), 7)[:2] == (0, h("04 00"))  # the card stayed in IDLE


def test_select_with_a_bad_crc_is_ignored_and_the_card_falls_back_to_idle(rig):
    thru(rig, h("26"), 7)
    thru(rig, h("93 20"))
    assert thru(rig, h("93 70 DE AD BE EF 22 B9 9D"))[0] == 0x01
    assert rig.deck.in_field.state == "idle"
    assert thru(rig, h("26"), 7)[:2] == (0, h("04 00"))


def test_select_of_another_uid_gets_no_answer(rig):
    thru(rig, h("26"), 7)
    thru(rig, h("93 20"))
    # 01 02 03 04, BCC 04, CRC_A not needed: the card answers nothing either way
    assert thru(rig, h("93 70 01 02 03 04 04 00 00"))[0] == 0x01


def test_hlta_then_reqa_is_silent_and_wupa_wakes(rig):
    activate(rig)
    assert thru(rig, HLTA_CRC)[0] == 0x01  # HLTA is never answered
    assert rig.deck.in_field.state == "halted"
    assert thru(rig, h("26"), 7)[0] == 0x01
    assert thru(rig, h("52"), 7)[:2] == (0, h("04 00"))


def test_seven_byte_uid_two_cascade_levels():
    r = Rig(card("04112233445566"), finite_retries=True)
    raw_mode(r)
    assert thru(r, h("26"), 7)[:2] == (0, h("44 00"))  # ATQA 0x0044
    # CL1: cascade tag 88, 04 11 22, BCC 88^04^11^22 = BF
    assert thru(r, h("93 20"))[:2] == (0, h("88 04 11 22 BF"))
    wreg(r, (TX_MODE, 0x80), (RX_MODE, 0x80))  # let the chip add and check CRC_A
    assert thru(r, h("93 70 88 04 11 22 BF"))[:2] == (0, h("04"))  # SAK: UID not complete
    raw_mode(r)
    # CL2: 33 44 55 66, BCC 33^44^55^66 = 44
    assert thru(r, h("95 20"))[:2] == (0, h("33 44 55 66 44"))
    wreg(r, (TX_MODE, 0x80), (RX_MODE, 0x80))
    assert thru(r, h("95 70 33 44 55 66 44"))[:2] == (0, h("08"))
    assert r.deck.in_field.state == "active"


def test_crc_by_the_chip_checks_answers(rig):
    wreg(rig, (RX_MODE, 0x80))
    thru(rig, h("26"), 7)  # short frames carry no CRC either way
    # the anticollision answer has no CRC_A: with RxCRCEn on the chip reports a CRC error (0x02)
    assert thru(rig, h("93 20"))[0] == 0x02


def test_crc_appended_to_an_anticollision_frame_makes_it_no_anticollision(rig):
    wreg(rig, (TX_MODE, 0x80))
    thru(rig, h("26"), 7)
    assert thru(rig, h("93 20"))[0] == 0x01  # 93 20 + CRC_A: 4 bytes, the card stays silent


def test_mifare_read_raw_without_authentication_is_naked(rig):
    activate(rig)
    st, data, last = thru(rig, h("30 04") + h("26 EE"))  # CRC_A of 30 04 per libnfc: 26 EE
    assert (st, data, last) == (0, h("04"), 4)  # 4-bit NAK 0x4: invalid operation


def test_mifare_command_with_a_bad_crc_gets_the_crc_nak(rig):
    activate(rig)
    st, data, last = thru(rig, h("30 00 02 A9"))  # CRC_A of 30 00 is 02 A8
    assert (st, data, last) == (0, h("05"), 4)  # NAK 0x5: parity or CRC error


def test_four_bit_ack_with_rx_crc_on_is_a_crc_error():
    """An NXP forum report: a 4-bit ACK through InCommunicateThru with the CRC check on comes
    back as a CRC error. Gen1a wake-up shows it."""
    r = Rig(ClassicCard(h("01020304"), "1k", magic="gen1a"), finite_retries=True)
    wreg(r, (TX_MODE, 0x00), (RX_MODE, 0x80))
    assert thru(r, h("40"), 7)[0] == 0x02


def test_parity_framed_by_the_host(rig):
    """ParityDisable: the host sends data + parity bits as one bit stream (libnfc's wrap): 93 20
    -> 0x93 (4 ones: parity 1), 0x20 (1 one: parity 0) -> 18 bits 93 41 00, TxLastBits 2."""
    wreg(rig, (MANUAL_RCV, 0x10))
    # the request is a short frame (no parity); the ATQA comes back parity-framed: 04 (parity 0),
    # 00 (parity 1) -> 18 bits 04 00 02
    assert thru(rig, h("26"), 7) == (0, h("04 00 02"), 2)
    st, data, last = thru(rig, h("93 41 00"), 2)
    assert st == 0
    bits = [(data[i // 8] >> (i % 8)) & 1 for i in range(len(data) * 8)]
    nbits = (len(data) - 1) * 8 + (last or 8)
    assert nbits == 45  # 5 bytes x 9 bits
    got, pars = [], []
    for k in range(5):
        chunk = bits[9 * k:9 * k + 9]
        got.append(sum(b << i for i, b in enumerate(chunk[:8])))
        pars.append(chunk[8])
    assert bytes(got) == h("DE AD BE EF 22")
    assert pars == [1, 0, 1, 0, 1]  # odd parity of DE AD BE EF 22


def test_wrong_parity_bit_gets_no_answer(rig):
    wreg(rig, (MANUAL_RCV, 0x10))
    thru(rig, h("26"), 7)
    assert thru(rig, h("93 40 00"), 2)[0] == 0x01  # parity of 0x93 sent as 0


def test_two_cards_answering_differently_collide():
    r = Rig(card("DEADBEEF"), card("01020304"), finite_retries=True)
    r.deck.present("card1", also=True)
    raw_mode(r)
    assert thru(r, h("26"), 7)[:2] == (0, h("04 00"))  # same ATQA: no collision seen
    assert thru(r, h("93 20"))[0] == 0x06


def test_raw_frames_never_crash():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.binary(min_size=1, max_size=20), st.integers(0, 7),
                              st.sampled_from([0x00, 0x80]), st.sampled_from([0x00, 0x10])), max_size=8))
    def run(frames):
        r = Rig(ClassicCard(h("01020304"), "1k", magic="gen1a"), finite_retries=True)
        for data, bits, crc, par in frames:
            wreg(r, (TX_MODE, crc), (RX_MODE, crc), (MANUAL_RCV, par), (BIT_FRAMING, bits))
            rsp = r.command(b"\x42" + data)
            assert rsp[0] == 0x43 and rsp[1] in (0x00, 0x01, 0x02, 0x06)
    run()


# ---- Crypto1 session and raw frames ---------------------------------------------------------

def test_raw_auth_gets_a_nonce_and_never_completes(rig):
    activate(rig)
    st, nonce, _ = thru(rig, h("60 04 D1 3D"))  # CRC_A of 60 04 per libnfc: D1 3D
    assert st == 0 and len(nonce) == 4
    assert thru(rig, bytes(8))[0] == 0x01  # {Nr}{Ar}: Crypto1 is not modelled, never verifies
    assert rig.deck.in_field.state == "halted"


# ---- magic cards --------------------------------------------------------------------------------

def gen1a_unlock(r):
    activate_any(r)
    assert thru(r, HLTA_CRC)[0] == 0x01
    assert thru(r, h("40"), 7) == (0, h("0A"), 4)  # 4-bit ACK
    assert thru(r, h("43")) == (0, h("0A"), 4)


def activate_any(r):
    thru(r, h("26"), 7)
    uid5 = thru(r, h("93 20"))[1]
    wreg(r, (TX_MODE, 0x80), (RX_MODE, 0x80))
    thru(r, h("93 70") + uid5)
    raw_mode(r)


def test_gen1a_backdoor_writes_block_0_without_authentication():
    c = ClassicCard(h("01020304"), "1k", magic="gen1a")
    r = Rig(c, finite_retries=True)
    raw_mode(r)
    gen1a_unlock(r)
    assert thru(r, h("A0 00 5F B1")) == (0, h("0A"), 4)  # WRITE block 0 (CRC_A per nfc-mfsetuid)
    new0 = h("11 22 33 44 44 08 04 00 46 59 25 58 49 10 23 02")  # BCC 11^22^33^44 = 44
    wreg(r, (TX_MODE, 0x80))
    assert thru(r, new0) == (0, h("0A"), 4)
    assert bytes(c.blocks[0]) == new0 and bytes(c.uid) == h("11223344")
    # the backdoor also reads raw memory, keys included
    wreg(r, (RX_MODE, 0x80))
    assert thru(r, h("30 03"))[:2] == (0, h("FF FF FF FF FF FF FF 07 80 69 FF FF FF FF FF FF"))
    # the new UID is what the card answers from now on
    assert r.command(h("4A 01 00")) == h("4B 01 01 00 04 08 04 11 22 33 44")


def test_genuine_card_ignores_the_backdoor(rig):
    activate(rig)
    thru(rig, HLTA_CRC)
    assert thru(rig, h("40"), 7)[0] == 0x01
    assert thru(rig, h("43"))[0] == 0x01


@pytest.mark.parametrize("kind", [None, "cuid", "fuid"])
def test_only_gen1a_has_the_backdoor(kind):
    r = Rig(ClassicCard(h("01020304"), "1k", magic=kind), finite_retries=True)
    raw_mode(r)
    activate_any(r)
    thru(r, HLTA_CRC)
    assert thru(r, h("40"), 7)[0] == 0x01


def _auth_write_block0(r, data):
    r.list_card()
    assert r.mifare(h("60 00") + KEY_FF + h("01 02 03 04")) == (0, b"")
    return r.mifare(h("A0 00") + data)[0]


NEW0 = h("0A 0B 0C 0D 00 08 04 00 00 00 00 00 00 00 00 00")  # BCC 0A^0B^0C^0D = 00


def test_cuid_block_0_writable_with_the_key():
    c = ClassicCard(h("01020304"), "1k", magic="cuid")
    r = Rig(c, finite_retries=True)
    assert _auth_write_block0(r, NEW0) == 0x00
    assert bytes(c.uid) == h("0A0B0C0D")
    assert r.command(h("4A 01 00")) == h("4B 01 01 00 04 08 04 0A 0B 0C 0D")


def test_gen1a_block_0_refused_without_the_backdoor():
    c = ClassicCard(h("01020304"), "1k", magic="gen1a")
    assert _auth_write_block0(Rig(c, finite_retries=True), NEW0) == 0x13
    assert bytes(c.uid) == h("01020304")


def test_fuid_block_0_writable_once():
    c = ClassicCard(h("01020304"), "1k", magic="fuid")
    r = Rig(c, finite_retries=True)
    assert _auth_write_block0(r, NEW0) == 0x00
    assert bytes(c.uid) == h("0A0B0C0D")
    r.list_card()
    assert r.mifare(h("60 00") + KEY_FF + h("0A 0B 0C 0D")) == (0, b"")
    assert r.mifare(h("A0 00") + h("01 02 03 04 04") + bytes(11))[0] == 0x13
    assert bytes(c.uid) == h("0A0B0C0D")


def test_clone_with_a_wrong_bcc_is_not_listed_but_answers_raw_anticollision():
    c = ClassicCard(h("01020304"), "1k", magic="gen1a")
    c.blocks[0][4] = 0x00  # BCC should be 01^02^03^04 = 04
    r = Rig(c, finite_retries=True)
    assert r.command(h("4A 01 00")) == h("4B 00")
    raw_mode(r)
    thru(r, h("26"), 7)
    assert thru(r, h("93 20"))[:2] == (0, h("01 02 03 04 00"))  # the bad BCC goes on air


# ---- InAutoPoll ---------------------------------------------------------------------------------

NFC_POLL = h("60 14 02 20 10 03 11 12 04 03")  # libnfc nfc-poll: 20 polls, 2 x 150 ms, 7 types


def test_inautopoll_reports_a_mifare_classic():
    r = Rig(card("DEADBEEF"))
    # NbTg 1, Type 0x10 (MIFARE), 9 bytes: Tg 1, ATQA 00 04, SAK 08, UID length 4, UID
    assert r.command(NFC_POLL) == h("61 01 10 09 01 00 04 08 04 DE AD BE EF")
    # the target is listed: InDataExchange works on Tg 1 right away
    assert r.mifare(h("60 04") + KEY_FF + h("DE AD BE EF")) == (0, b"")


def test_inautopoll_empty_field_answers_no_target():
    r = Rig()
    assert r.command(NFC_POLL) == h("61 00")


def test_inautopoll_without_type_a_finds_nothing():
    r = Rig(card("DEADBEEF"))
    assert r.command(h("60 01 01 03 11 12")) == h("61 00")


def test_inautopoll_endless_waits_for_a_card():
    from simkit import ACK, frame

    r = Rig(card("DEADBEEF"))
    r.deck.remove()
    assert r.send(frame(h("60 FF 01 10"))) == ACK
    r.deck.present("card0")
    assert r.chip.read() == frame(h("61 01 10 09 01 00 04 08 04 DE AD BE EF"), tfi=0xD5)


def test_inautopoll_bad_parameters_get_the_error_frame():
    from simkit import ACK, ERROR, frame

    r = Rig(card("DEADBEEF"))
    assert r.send(frame(h("60 01"))) == ACK + ERROR
    assert r.send(frame(h("60 01 00 10"))) == ACK + ERROR  # period 0
