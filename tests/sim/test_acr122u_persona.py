"""The ACR122U persona, APDU by APDU (no sockets): the ACS pseudo-APDUs on top of the storage-card
APDUs. Expected bytes from the ACS ACR122U API document (docs/simulator.md, "The ACR122U
persona"): the firmware string without status word, direct transmit `FF 00 00 00 Lc D4 ..` ->
`D5 .. 90 00` (the manual's 4K capture `D5 4B 01 01 00 02 18 04 F6 8E 2A 99`), LED answer
`90 <state>`, PICC operating parameter `90 <param>`; and the PN532 facts of the reference tables.
"""
import pytest

from icpurse.hil.sim.acr122u import Acr122uPersona
from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.deck import Deck


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


class Reader:
    def __init__(self, *cards):
        self.deck = Deck()
        for i, c in enumerate(cards):
            self.deck.add("c%d" % i, c)
        if cards:
            self.deck.present("c0")
        self.p = Acr122uPersona(self.deck)
        self.p.atr()
        self.p.power_on()

    def x(self, apdu):
        return self.p.transmit(h(apdu)).hex(" ").upper()

    def direct(self, pn532):
        cmd = h("D4 " + pn532)
        return self.x("FF 00 00 00 %02X %s" % (len(cmd), cmd.hex()))


@pytest.fixture
def r4k():
    return Reader(ClassicCard(h("F68E2A99"), "4k"))


def test_firmware_version_is_ascii_without_status_word(r4k):
    assert r4k.p.transmit(h("FF 00 48 00 00")) == b"ACR122U207"


def test_direct_transmit_firmware_version(r4k):
    assert r4k.direct("02") == "D5 03 32 01 06 07 90 00"


def test_direct_transmit_list_passive_target_as_in_the_acs_manual(r4k):
    assert r4k.direct("4A 01 00") == "D5 4B 01 01 00 02 18 04 F6 8E 2A 99 90 00"


def test_direct_transmit_mifare_read_through_the_pn532(r4k):
    r4k.direct("4A 01 00")
    assert r4k.direct("40 01 60 04 FF FF FF FF FF FF F6 8E 2A 99") == "D5 41 00 90 00"
    assert r4k.direct("40 01 30 04") == "D5 41 00 " + " ".join(["00"] * 16) + " 90 00"
    # a wrong key: the PN532's status 0x14 inside a successful APDU, as on the real reader
    assert r4k.direct("40 01 60 08 00 00 00 00 00 00 F6 8E 2A 99") == "D5 41 14 90 00"


def test_direct_transmit_raw_frames(r4k):
    # CRC off both ways, TxLastBits 7, then REQA: ATQA 0x0002 LSB first
    assert r4k.direct("08 63 02 00 63 03 00 63 3D 07") == "D5 09 90 00"
    assert r4k.direct("42 26") == "D5 43 00 02 00 90 00"


@pytest.mark.parametrize("apdu", [
    "FF 00 00 00 03 D4 02",  # Lc says 3, 2 bytes follow
    "FF 00 00 00 01 D4",  # no command
])
def test_direct_transmit_bad_lengths(r4k, apdu):
    assert r4k.x(apdu) == "67 00"


@pytest.mark.parametrize("apdu", [
    "FF 00 00 00 02 D5 02",  # not a host-to-PN532 frame identifier
    "FF 00 00 00 02 D4 FE",  # a command code the PN532 does not have
    "FF 00 00 00 03 D4 4A 07",  # InListPassiveTarget with MaxTg 7
])
def test_direct_transmit_wrong_pn532_commands(r4k, apdu):
    assert r4k.x(apdu) == "63 7F"


def test_led_and_buzzer(r4k):
    # P2 0F: final red on, final green on, both masks -> state red | green
    assert r4k.x("FF 00 40 0F 04 00 00 00 00") == "90 03"
    # P2 04: red mask, final red off; green untouched
    assert r4k.x("FF 00 40 04 04 01 01 02 01") == "90 02"
    assert r4k.p.buzzer_cycles == 2
    assert r4k.x("FF 00 40 0F 03 00 00 00") == "63 00"


def test_picc_operating_parameter(r4k):
    assert r4k.x("FF 00 50 00 00") == "90 FF"
    assert r4k.x("FF 00 51 7F 00") == "90 7F"
    assert r4k.x("FF 00 50 00 00") == "90 7F"


def test_unknown_pseudo_apdu_fails(r4k):
    assert r4k.x("FF 00 99 00 00") == "63 00"


def test_storage_card_apdus_still_answered(r4k):
    assert r4k.x("FF CA 00 00 00") == "F6 8E 2A 99 90 00"
    assert r4k.x("FF 82 00 00 06 FF FF FF FF FF FF") == "90 00"
    assert r4k.x("FF 86 00 00 05 01 00 04 60 00") == "90 00"


def test_direct_transmit_with_an_empty_field():
    r = Reader()
    assert r.direct("02") == "D5 03 32 01 06 07 90 00"
    assert r.direct("4A 01 00") == "D5 4B 00 90 00"  # never waits: NbTg 0
