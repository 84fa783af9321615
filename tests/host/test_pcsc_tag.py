"""PcscTag (host) drives a card through PC/SC storage-card APDUs: personalise, top up and debit
through the simulator's ACR122U-style persona, exactly as through pcscd + vpcd."""
import pytest

from icpurse.firmware import codec, purse
from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.firmware.mifare import AccessDenied, AuthError
from icpurse.hil.sim import factory
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pcsc import StorageCardPersona
from icpurse.host.issuance.personalise import PersonaliseError, personalise
from icpurse.host.readers.pcsc import PcscTag, card_kind_from_atr

h = bytes.fromhex
UID = h("0A0B0C0D")
MASTERS = dict(sector_a=h("11" * 16), sector_b=h("22" * 16), purse_mac=h("33" * 16), load_mac=h("44" * 16))


class PersonaConnection:
    """The two pyscard CardConnection methods PcscTag uses, answered by the persona."""

    def __init__(self, persona):
        self.persona = persona
        persona.power_on()

    def getATR(self):
        return list(self.persona.atr())

    def transmit(self, apdu):
        rsp = bytes(self.persona.transmit(bytes(apdu)))
        return list(rsp[:-2]), rsp[-2], rsp[-1]


def issuer():
    return KeyRing([KeySet(1, MASTERS["sector_a"], MASTERS["purse_mac"], sector_b=MASTERS["sector_b"],
                           load_mac=MASTERS["load_mac"])])


def reader():
    return KeyRing([KeySet(1, MASTERS["sector_a"], MASTERS["purse_mac"])])


@pytest.fixture
def tag():
    deck = Deck()
    deck.add("c", factory.blank_card(UID))
    deck.present("c")
    return PcscTag(PersonaConnection(StorageCardPersona(deck)))


def test_atr_identifies_classic_1k_and_4k():
    assert card_kind_from_atr(h("3B8F8001804F0CA000000306030001000000006A")) == ("1k", 0x08)
    assert card_kind_from_atr(h("3B8F8001804F0CA0000003060300020000000069")) == ("4k", 0x18)
    assert card_kind_from_atr(h("3B8180018080")) is None  # DESFire (ISO 14443-4)


@pytest.mark.pcsc  # PcscTag needs pyscard (its exceptions)
def test_personalise_top_up_debit_over_pcsc(tag):
    assert tag.uid == UID and tag.size == "1k"
    keys = issuer().for_card(UID, 1)
    result = personalise(tag, keys, factory.identity_fields(1), now=100)
    assert result["sectors_written"] == 15 and not result["resumed"]
    assert personalise(tag, keys, factory.identity_fields(1), now=100)["already_done"]
    # top-up with key B, debit with key A, all through APDUs (value ops via FF D7)
    access, k, v = purse.open_card(tag, issuer(), purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, k, v))
    purse.commit(access, view, purse.plan_credit(view, 5000, purse.Policy(), 9000, codec.TXN_LOAD), 1)
    access, k, v = purse.open_card(tag, reader())
    view = purse.recover(access, purse.read_card(access, k, v))
    purse.commit(access, view, purse.plan_debit(view, 1999, purse.Policy(), 9000, 12345678, 1), 2)
    access, k, v = purse.open_card(tag, reader())
    view = purse.read_card(access, k, v)
    assert view.balance == 3001 and view.value == 3001


@pytest.mark.pcsc  # PcscTag needs pyscard (its exceptions)
def test_roll_forward_from_ceiling_over_pcsc(tag):
    """A decrement into another block (ceiling -> balance) is emulated with copy + decrement."""
    keys = issuer().for_card(UID, 1)
    personalise(tag, keys, factory.identity_fields(1), now=100)
    access, k, v = purse.open_card(tag, issuer(), purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, k, v))
    purse.commit(access, view, purse.plan_credit(view, 800, purse.Policy(), 9000, codec.TXN_LOAD), 1)
    # A torn TRANSFER mixes the value bytes; the address bytes are the same before and after.
    torn = bytearray(access.read(8))
    torn[0:8] = b"\x20\x03\x00\x00\x00\x00\x00\x00"
    access.write(8, bytes(torn))
    access, k, v = purse.open_card(tag, reader())
    view = purse.recover(access, purse.read_card(access, k, v))
    assert view.repaired and view.value == 800
    # A block wiped entirely (address bytes too) cannot be repaired by key A: TRANSFER keeps the
    # destination's address bytes. The reader refuses; the issuer (key B) rewrites it.
    access, k, v = purse.open_card(tag, issuer(), purse.KEY_B)
    access.write(8, bytes(16))
    access, k, v = purse.open_card(tag, reader())
    with pytest.raises(purse.Refused) as e:
        purse.recover(access, purse.read_card(access, k, v))
    assert e.value.code == codec.R_INCONSISTENT
    access, k, v = purse.open_card(tag, issuer(), purse.KEY_B)
    assert purse.recover(access, purse.read_card(access, k, v)).value == 800


@pytest.mark.pcsc  # PcscTag needs pyscard (its exceptions)
def test_wrong_key_fails_and_the_next_auth_works(tag):
    with pytest.raises(AuthError):
        tag.authenticate(4, b"\x01" * 6, purse.KEY_A)
    tag.authenticate(4, b"\xff" * 6, purse.KEY_A)
    assert len(tag.read_block(4)) == 16


@pytest.mark.pcsc  # PcscTag needs pyscard (its exceptions)
def test_personalise_refuses_a_card_of_another_issuer(tag):
    keys = issuer().for_card(UID, 1)
    personalise(tag, keys, factory.identity_fields(1), now=100)
    other = KeyRing([KeySet(1, h("99" * 16), h("98" * 16), sector_b=h("97" * 16))]).for_card(UID, 1)
    with pytest.raises(PersonaliseError, match="unknown keys"):
        personalise(tag, other, factory.identity_fields(1), now=100)


class CountingConnection(PersonaConnection):
    """Counts the APDUs by instruction byte (READ BINARY B0, AUTHENTICATE 86, ...)."""

    def __init__(self, persona):
        PersonaConnection.__init__(self, persona)
        self.sent = []

    def transmit(self, apdu):
        self.sent.append(bytes(apdu))
        return PersonaConnection.transmit(self, apdu)

    def count(self, ins):
        return sum(1 for a in self.sent if a[1] == ins)


class SingleBlockPersona(StorageCardPersona):
    """A reader without "multiple blocks mode" (the ACR122U documents Le = 10 only). `answer`: what
    it makes of Le > 16 — a failure (63 00), or one block only."""

    def __init__(self, deck, answer):
        StorageCardPersona.__init__(self, deck)
        self.answer = answer

    def transmit(self, apdu):
        apdu = bytes(apdu)
        if apdu[:2] == b"\xff\xb0" and len(apdu) == 5 and apdu[4] > 16:
            if self.answer == "fail":
                if self.card is not None and self.card.state == "authenticated":
                    self.card.halt()  # as if the card got a command it refused: its session ends
                return b"\x63\x00"
            return StorageCardPersona.transmit(self, apdu[:4] + b"\x10")
        return StorageCardPersona.transmit(self, apdu)


def _deck():
    deck = Deck()
    deck.add("c", factory.blank_card(UID))
    deck.present("c")
    return deck


def _read_card_and_log(tag):
    access, k, v = purse.open_card(tag, reader())
    view = purse.read_card(access, k, v)
    return view, purse.read_log(access, k, view)


@pytest.mark.pcsc  # PcscTag needs pyscard (its exceptions)
def test_multi_block_reads_cut_the_apdus_of_personalising_and_reading_a_card():
    deck = _deck()
    conn = CountingConnection(StorageCardPersona(deck))
    tag = PcscTag(conn)
    personalise(tag, issuer().for_card(UID, 1), factory.identity_fields(1), now=100)
    assert tag.multi_block is True
    # the read-back with key B: one READ BINARY per sector (15 sectors), not one per data block (44)
    assert conn.count(0xB0) == 15
    conn.sent.clear()
    view, log = _read_card_and_log(tag)
    multi = conn.count(0xB0)

    single = CountingConnection(StorageCardPersona(deck))  # the same card, read block by block
    other, other_log = _read_card_and_log(PcscTag(single, {"multi_block": False}))
    assert (other.identity, other.slot, other_log) == (view.identity, view.slot, log)
    # every two-block record read whole (the identity, the 10 log entries; a slot is read head first)
    # took one APDU instead of two
    assert single.count(0xB0) - multi == 11
    assert len(single.sent) - 1 - len(conn.sent) == 11  # (- its GET DATA UID)


@pytest.mark.pcsc  # PcscTag needs pyscard (its exceptions)
@pytest.mark.parametrize("answer", ["fail", "one-block"])
def test_a_reader_without_multi_block_mode_is_found_out_and_read_block_by_block(answer):
    caps = {}
    conn = CountingConnection(SingleBlockPersona(_deck(), answer))
    tag = PcscTag(conn, caps)
    keys = issuer().for_card(UID, 1)
    personalise(tag, keys, factory.identity_fields(1), now=100)  # its read-back needs the fallback
    assert caps == {"multi_block": False} and tag.multi_block is False
    multi = [a for a in conn.sent if a[1] == 0xB0 and a[4] > 16]
    assert len(multi) == 1  # tried once, never again
    conn.sent.clear()
    again = PcscTag(conn, caps)  # the reader's next card: known already
    assert personalise(again, keys, factory.identity_fields(1), now=100)["already_done"]
    assert [a for a in conn.sent if a[1] == 0xB0 and a[4] > 16] == []
    assert conn.count(0xB0) == 44


@pytest.mark.pcsc  # PcscTag needs pyscard (its exceptions)
def test_a_refused_multi_block_read_is_not_taken_for_a_missing_mode(tag):
    tag.authenticate(4, b"\xff" * 6)
    with pytest.raises(AccessDenied):
        tag.read_blocks_into(8, 3, bytearray(48))  # sector 2 is not authenticated: the card refuses
    assert tag.multi_block is None  # nothing learnt: the single reads failed too
    tag.authenticate(8, b"\xff" * 6)
    tag.read_blocks_into(8, 3, bytearray(48))
    assert tag.multi_block is True
