"""Cards of the wrong type in front of the store reader firmware and the host tools' readers:
MIFARE Ultralight, DESFire and another ISO 14443-4 card (hil/sim/othercards.py), a 7-byte-UID
Classic, a blank Classic. Each is refused with a message that says what it is and what to do, no
MIFARE command reaches a non-Classic card, and nothing is written (card, journal)."""
import pytest
import purse_fixtures as fx
import reader_fixtures as rx

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.firmware.mifare import MifareError
from icpurse.hil.sim import factory
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.othercards import KINDS, OtherCard
from icpurse.hil.sim.pcsc import StorageCardPersona
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.personalise import PersonaliseError, personalise
from icpurse.host.readers import open_reader
from icpurse.host.readers.pcsc import PcscTag
from icpurse.host.readers.serial import ReaderLinkError, SerialTag

OTHER = sorted(KINDS)
UID7 = bytes.fromhex("04112233445566")


def _refused_as_not_classic(e, kind):
    assert "not a MIFARE Classic card" in e.message and "present an icpurse card" in e.message
    assert "SAK 0x%02X" % KINDS[kind][1] in e.message


# --- the store reader firmware (virtual rig: real firmware, simulated PN532) ------------------------

@pytest.fixture
def vr():
    return rx.reader()


@pytest.mark.parametrize("kind", OTHER)
@pytest.mark.parametrize("command", ["debit", "read_card"])
def test_reader_refuses_a_card_that_is_not_classic(vr, kind, command):
    card = OtherCard(kind)
    rx.present(vr, card)
    with pytest.raises(rx.LinkRefused) as e:
        if command == "debit":
            rx.debit(vr, 100)
        else:
            vr.request(codec.LINK_CMD_READ_CARD, codec.encode_read_card_request(300))
    assert e.value.code == codec.LINK_ERR_REFUSAL_BASE + codec.R_UNKNOWN_CARD
    assert e.value.detail == codec.R_UNKNOWN_CARD
    _refused_as_not_classic(e.value, kind)
    assert card.commands == 0  # refused on its SAK, before any MIFARE command
    assert rx.journal(vr) == []  # no PENDING record: nothing was started


def test_reader_still_debits_a_classic_after_a_wrong_card(vr):
    rx.present(vr, OtherCard("desfire"), "d")
    with pytest.raises(rx.LinkRefused):
        rx.debit(vr, 100)
    rx.present(vr, fx.new_card(balance=1000), "c")
    assert rx.debit(vr, 100)[codec.DEBIT_RESULT_BALANCE] == 900


def test_reader_debits_a_7_byte_uid_classic(vr):
    card = fx.new_card(balance=1000, uid=UID7)
    rx.present(vr, card)
    assert rx.debit(vr, 250)[codec.DEBIT_RESULT_BALANCE] == 750
    pending = rx.journal(vr)[0]
    assert pending[codec.JOURNAL_RECORD_UID_LEN] == 7 and pending[codec.JOURNAL_RECORD_UID][:7] == UID7


@pytest.mark.parametrize("uid", [fx.UID, UID7])
def test_reader_refuses_a_blank_classic_and_writes_nothing(vr, uid):
    card = factory.blank_card(uid)
    before = card.to_mfd()
    rx.present(vr, card)
    with pytest.raises(rx.LinkRefused) as e:
        rx.debit(vr, 100)
    assert e.value.detail == codec.R_UNKNOWN_CARD and "not an icpurse card" in e.value.message
    assert card.to_mfd() == before and rx.journal(vr) == []


def test_card_of_this_issuer_for_a_different_uid_length_is_refused(vr):
    """A card image made for the 4-byte UID, on a 7-byte-UID card (a clone attempt): the keys are
    diversified with the UID, so nothing opens; refused, nothing written."""
    src = fx.new_card(balance=1000)
    clone = factory.blank_card(UID7)
    for b in range(4, 64):
        clone.blocks[b][:] = src.blocks[b]
    before = clone.to_mfd()
    rx.present(vr, clone)
    with pytest.raises(rx.LinkRefused) as e:
        rx.debit(vr, 100)
    assert e.value.detail in (codec.R_UNKNOWN_CARD, codec.R_WRONG_KEY_VERSION)
    assert clone.to_mfd() == before and rx.journal(vr) == []


# --- host side: the purse protocol over the host's readers -----------------------------------------

@pytest.mark.parametrize("kind", OTHER)
def test_purse_refuses_other_cards_on_the_sim_reader(tmp_path, kind):
    reader = open_reader("sim:%s" % tmp_path)
    card = OtherCard(kind)
    reader.deck.add("other", card)
    reader.deck.swap("other")
    tag = reader.wait_for_card(1)
    assert (tag.uid, tag.sak) == (card.uid, KINDS[kind][1])
    for ring, key_type in ((fx.reader_ring(), purse.KEY_A), (fx.issuer_ring(), purse.KEY_B)):
        with pytest.raises(purse.Refused) as e:
            purse.open_card(tag, ring, key_type)
        assert e.value.code == codec.R_UNKNOWN_CARD
        _refused_as_not_classic(e.value, kind)
    assert card.commands == 0


class _LinkClient:
    """LinkClient.request over the in-process virtual reader (the pty is not what is tested here)."""

    def __init__(self, vr):
        self.vr = vr

    def request(self, command, payload=b"", timeout=None):
        try:
            return self.vr.request(command, payload)
        except rx.LinkRefused as e:
            raise ReaderLinkError(e.code, e.detail, e.message, command)


@pytest.mark.parametrize("kind", OTHER)
def test_purse_refuses_other_cards_through_an_issuance_reader(vr, kind):
    rx.configure(vr, grace=0, transparent=1)  # an issuance reader: signed transparent access
    card = OtherCard(kind)
    rx.present(vr, card)
    tag = SerialTag(_LinkClient(vr), timeout_ms=300)
    assert (tag.uid, tag.sak) == (card.uid, KINDS[kind][1])
    with pytest.raises(purse.Refused) as e:
        purse.open_card(tag, fx.issuer_ring(), purse.KEY_B)
    _refused_as_not_classic(e.value, kind)
    assert card.commands == 0


@pytest.mark.parametrize("kind", OTHER)
def test_personalise_writes_nothing_to_other_cards(kind):
    card = OtherCard(kind)
    card.enter_field()
    with pytest.raises(PersonaliseError) as e:
        personalise(CardTag(card), fx.issuer_ring().for_card(card.uid, 1), factory.identity_fields(1), fx.NOW)
    assert "nothing was written" in str(e.value)
    # an OtherCard fails every command, so no write can have happened; personalise gives up cleanly
    # (it does not check the SAK first: its message talks of unknown sector keys -- reported)


class _Conn:
    def __init__(self, persona):
        self.persona = persona
        persona.power_on()

    def getATR(self):
        return list(self.persona.atr())

    def transmit(self, apdu):
        rsp = bytes(self.persona.transmit(bytes(apdu)))
        return list(rsp[:-2]), rsp[-2], rsp[-1]


@pytest.mark.parametrize("kind", OTHER)
def test_pcsc_tag_refuses_other_cards_by_their_atr(kind):
    deck = Deck()
    card = OtherCard(kind)
    deck.add("o", card)
    deck.present("o")
    with pytest.raises(MifareError, match="not a MIFARE Classic card"):
        PcscTag(_Conn(StorageCardPersona(deck)))
    assert card.commands == 0
