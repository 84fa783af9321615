"""The tag contract (firmware/tag.py) holds for every tag implementation, on the virtual rig:

    classic  firmware.mifare.ClassicTag: the firmware's PN532 driver over HSU, simulated PN532
    card     hil.sim.tag.CardTag: the simulated card driven directly
    serial   host.readers.serial.SerialTag: the virtual icpurse reader on a pty (transparent mode)
    persona  host.readers.pcsc.PcscTag on the ACR122U-style persona, in-process
    pcsc     host.readers.pcsc.PcscTag through pyscard -> pcscd -> vpcd -> `icpurse sim serve --pcsc`

The same checks run on each: what a blank transport-configuration card (keys FF..FF, access bits
FF 07 80) must answer, which exception each failure raises, and that after a failure the next
authentication carries on. Expected bytes are written from the MIFARE Classic datasheet rules
(value block format, trailer read rules), not from the code under test.
"""
import time

import pytest

from icpurse.firmware import codec, kdf
from icpurse.firmware.hal.sim import SimClock, SimUart
from icpurse.firmware.mifare import ClassicTag
from icpurse.firmware.pn532 import PN532
from icpurse.firmware.pn532_hsu import HSU
from icpurse.firmware.tag import AccessDenied, AuthError, MifareError, Tag, TagGone, ValueBlockError
from icpurse.hil.sim import factory
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pn532 import PN532 as SimPN532
from icpurse.hil.sim.tag import CardTag

from support.simproc import START_TIMEOUT_S, SimProcess, wait_for

h = bytes.fromhex
UID = h("04A1B2C3")
KEY = b"\xff" * 6  # transport configuration: key A and key B
WRONG = h("A0A1A2A3A4A5")
DATA = b"icpurse contract"
TRAILER_7 = h("000000000000 FF078069 FFFFFFFFFFFF")  # key A reads as zeros; FF 07 80 lets key A read key B
PCSC_READER = "Virtual PCD 00 00"


def _value_block(value, addr):
    """Datasheet value-block format, written here independently of protocol/mifare/blocks.py."""
    v = (value & 0xFFFFFFFF).to_bytes(4, "little")
    return v + bytes(x ^ 0xFF for x in v) + v + bytes((addr, addr ^ 0xFF, addr, addr ^ 0xFF))


class InProcess:
    """A deck with one blank 1K card; `tag()` is made by the subclass."""

    atqa = 0x0004  # a 1K card with a 4-byte UID, as the PN532 reports it
    has_reselect = True

    def __init__(self):
        self.deck = Deck()
        self.card = factory.blank_card(UID)
        self.deck.add("c", self.card)
        self.deck.present("c")

    def block(self, n):
        return bytes(self.card.blocks[n])

    def remove(self):
        self.deck.remove()

    def close(self):
        pass


class ClassicWorld(InProcess):
    def tag(self):
        clock = VirtualClock()
        drv = PN532(HSU(SimUart(SimPN532(self.deck, clock))), SimClock(clock))
        drv.begin()
        uid, atqa, sak = drv.list_passive_target()
        return ClassicTag(drv, uid, atqa, sak)


class CardWorld(InProcess):
    def tag(self):
        return CardTag(self.card)


class SerialWorld(InProcess):
    has_reselect = False  # the reader's own ClassicTag does it

    def __init__(self, tmp_path):
        from icpurse.hil.sim.vreader import start_reader_pty
        from icpurse.host.readers.serial import LinkClient

        vr, self.pty, self.stop = start_reader_pty(tmp_path / "reader")
        self.deck, self.card = vr.deck, factory.blank_card(UID)
        self.deck.add("c", self.card)
        self.deck.present("c")
        self.client = LinkClient(self.pty.path, timeout=3)
        master = h("11" * 16)
        self.client.provision_keys(31000001, 1, master, master, kdf.journal_key(master, 31000001, 1))
        self.client.configure(issuer=1, transparent=True)

    def tag(self):
        from icpurse.host.readers.serial import SerialTag

        return SerialTag(self.client)

    def close(self):
        self.client.close()
        self.stop.set()


class PersonaConnection:
    """The pyscard CardConnection methods PcscTag uses, answered by the persona in-process; a card
    that left the field fails the transmit as pcscd does once it noticed."""

    def __init__(self, persona):
        from smartcard.Exceptions import CardConnectionException

        self.gone = CardConnectionException
        self.persona = persona
        persona.power_on()

    def getATR(self):
        return list(self.persona.atr())

    def transmit(self, apdu):
        if self.persona.card_changed():
            raise self.gone("card removed")
        rsp = bytes(self.persona.transmit(bytes(apdu)))
        return list(rsp[:-2]), rsp[-2], rsp[-1]


class PersonaWorld(InProcess):
    atqa = None  # PC/SC does not report the ATQA
    has_reselect = False

    def tag(self):
        from icpurse.hil.sim.pcsc import StorageCardPersona
        from icpurse.host.readers.pcsc import PcscTag

        return PcscTag(PersonaConnection(StorageCardPersona(self.deck)))


class PcscWorld:
    """The real PC/SC stack; the card lives in a separate `icpurse sim serve --pcsc` process."""

    atqa = None
    has_reselect = False

    def __init__(self, sim):
        self.sim = sim
        self.tags = []
        sim.command("present c")

    def tag(self):
        from icpurse.host.readers.pcsc import PcscReader

        tag = PcscReader(PCSC_READER).wait_for_card(START_TIMEOUT_S)
        self.tags.append(tag)
        return tag

    def block(self, n):
        return self.sim.dump("c")[16 * n:16 * (n + 1)]

    def remove(self):
        self.sim.command("remove")

    def close(self):
        from smartcard.Exceptions import CardConnectionException

        for tag in self.tags:  # free every PC/SC handle: pcscd reports the next card only then
            try:
                tag.conn.disconnect()
            except CardConnectionException:
                pass
            try:
                tag.conn.release()
            except CardConnectionException:
                pass
        self.sim.command("present c")


@pytest.fixture(scope="module")
def pcsc_sim(pcscd, tmp_path_factory):
    control = str(tmp_path_factory.mktemp("contract") / "control")
    proc = SimProcess(["--pcsc", "--card", "c=1k:%s" % UID.hex().upper()], control)
    try:
        assert proc.pcsc == PCSC_READER
        yield proc
    finally:
        proc.stop()


@pytest.fixture(params=["classic", "card", "serial", "persona", pytest.param("pcsc", marks=pytest.mark.pcsc)])
def world(request, tmp_path):
    if request.param in ("persona", "pcsc"):
        pytest.importorskip("smartcard", reason="pyscard not installed (pip extra icpurse[pcsc])")
    if request.param == "classic":
        w = ClassicWorld()
    elif request.param == "card":
        w = CardWorld()
    elif request.param == "serial":
        w = SerialWorld(tmp_path)
    elif request.param == "persona":
        w = PersonaWorld()
    else:
        w = PcscWorld(request.getfixturevalue("pcsc_sim"))
    try:
        yield w
    finally:
        w.close()


def test_a_tag_is_a_tag_with_the_cards_identity(world):
    tag = world.tag()
    assert isinstance(tag, Tag)
    assert tag.uid == UID and isinstance(tag.uid, bytes)
    assert tag.sak == 0x08  # MIFARE Classic 1K
    assert tag.atqa == world.atqa


def test_write_then_read_a_block(world):
    tag = world.tag()
    tag.authenticate(4, KEY)
    tag.write_block(5, DATA)
    got = tag.read_block(5)
    assert got == DATA and isinstance(got, bytes)
    assert world.block(5) == DATA


def test_read_block_into_fills_16_bytes_of_the_buffer_given(world):
    tag = world.tag()
    tag.authenticate(4, KEY, codec.MF_AUTH_A)
    tag.write_block(6, DATA)
    buf = bytearray(b"\xaa" * 20)
    view = memoryview(buf)[2:18]
    assert tag.read_block_into(6, view) is view
    assert buf == b"\xaa\xaa" + DATA + b"\xaa\xaa"
    whole = bytearray(16)
    assert tag.read_block_into(6, whole) is whole and whole == DATA


def test_trailer_reads_key_a_as_zeros(world):
    tag = world.tag()
    tag.authenticate(7, KEY)
    assert tag.read_block(7) == TRAILER_7


def test_value_operations(world):
    tag = world.tag()
    tag.authenticate(8, KEY)
    tag.write_value(8, 100)
    tag.write_value(9, 0)
    assert world.block(8) == _value_block(100, 8)
    assert tag.read_value(8) == 100
    tag.decrement(8, 30)
    tag.transfer(8)
    assert tag.read_value(8) == 70
    tag.increment(8, 5)
    tag.transfer(8)
    assert world.block(8) == _value_block(75, 8)
    tag.restore(8)
    tag.transfer(9)  # a copy keeps the destination's own address bytes
    assert world.block(9) == _value_block(75, 9)
    tag.decrement(8, 25)
    tag.transfer(9)  # into another block: the source is unchanged
    assert (tag.read_value(8), tag.read_value(9)) == (75, 50)
    tag.write_value(10, -1, addr=0x42)
    assert tag.read_block(10) == _value_block(-1, 0x42)


def test_read_value_of_a_data_block_is_a_value_block_error(world):
    tag = world.tag()
    tag.authenticate(12, KEY)
    tag.write_block(12, DATA)
    with pytest.raises(ValueBlockError):
        tag.read_value(12)
    assert issubclass(ValueBlockError, ValueError)


@pytest.mark.parametrize("call", [
    lambda t: t.authenticate(4, KEY[:5]),
    lambda t: t.authenticate(4, KEY, 0x62),
    lambda t: t.authenticate(256, KEY),
    lambda t: t.write_block(5, DATA[:15]),
    lambda t: t.write_block(5, DATA + b"!"),
    lambda t: t.read_block(-1),
    lambda t: t.decrement(4, -1),
    lambda t: t.increment(4, 1 << 31),
], ids=["short-key", "key-type", "auth-block", "short-data", "long-data", "block", "negative", "operand"])
def test_caller_mistakes_are_value_errors_and_reach_no_card(world, call):
    tag = world.tag()
    tag.authenticate(4, KEY)
    tag.write_block(5, DATA)
    tag.write_value(4, 7)
    with pytest.raises(ValueError):
        call(tag)
    # nothing was sent: the session is intact and the blocks unchanged
    assert tag.read_block(5) == DATA and tag.read_value(4) == 7


def test_wrong_key_is_an_auth_error_and_the_next_authentication_carries_on(world):
    tag = world.tag()
    with pytest.raises(AuthError) as e:
        tag.authenticate(8, WRONG)
    assert e.value.status == codec.ST_AUTH_ERROR
    with pytest.raises(MifareError):
        tag.read_block(8)  # no session until the next authentication
    tag.authenticate(8, KEY)
    tag.write_block(8, DATA)
    assert tag.read_block(8) == DATA
    if world.has_reselect:
        assert tag.reselects >= 1 and not tag.halted


def test_authenticating_a_block_the_card_does_not_have_is_an_auth_error(world):
    tag = world.tag()
    with pytest.raises(AuthError):
        tag.authenticate(100, KEY)  # a 1K card has blocks 0..63
    tag.authenticate(4, KEY)
    tag.read_block(4)


def test_a_block_of_another_sector_is_access_denied(world):
    tag = world.tag()
    tag.authenticate(4, KEY)
    with pytest.raises(AccessDenied) as e:
        tag.read_block(8)
    assert e.value.status == codec.ST_INVALID_FRAME
    tag.authenticate(8, KEY)
    tag.write_block(8, DATA)
    assert world.block(8) == DATA


def test_block_0_is_read_only(world):
    tag = world.tag()
    tag.authenticate(0, KEY)
    before = tag.read_block(0)
    assert before[:5] == UID + bytes([UID[0] ^ UID[1] ^ UID[2] ^ UID[3]])  # UID and BCC
    with pytest.raises(AccessDenied):
        tag.write_block(0, DATA)
    tag.authenticate(0, KEY)
    assert tag.read_block(0) == before == world.block(0)


def test_value_operation_on_a_data_block_is_access_denied(world):
    tag = world.tag()
    tag.authenticate(12, KEY)
    tag.write_block(13, DATA)
    with pytest.raises(AccessDenied):
        tag.decrement(13, 1)
        tag.transfer(13)  # a PC/SC reader sends both at once: the error comes here
    assert world.block(13) == DATA
    tag.authenticate(12, KEY)
    with pytest.raises(AccessDenied):
        tag.transfer(13)  # nothing in the transfer buffer
    assert world.block(13) == DATA


def test_a_card_that_left_is_tag_gone(world):
    tag = world.tag()
    tag.authenticate(4, KEY)
    tag.read_block(4)
    world.remove()
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        # A PC/SC reader answers 63 00 for every failure until it reports the removal: until
        # then the errors are other MifareErrors; in-process readers say TagGone at once.
        with pytest.raises(MifareError) as e:
            tag.authenticate(4, KEY)
        if isinstance(e.value, TagGone) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert isinstance(e.value, TagGone)
    assert e.value.status == codec.ST_TIMEOUT


def test_read_blocks_into_reads_a_run_of_data_blocks_of_one_sector(world):
    tag = world.tag()
    tag.authenticate(4, KEY)
    rows = [bytes([0x40 + b]) * 16 for b in (4, 5, 6)]
    for b, row in zip((4, 5, 6), rows):
        tag.write_block(b, row)
    buf = bytearray(b"\xaa" * 50)
    view = memoryview(buf)[1:49]
    assert tag.read_blocks_into(4, 3, view) is view
    assert buf == b"\xaa" + b"".join(rows) + b"\xaa"
    whole = bytearray(32)
    assert tag.read_blocks_into(5, 2, whole) is whole and whole == b"".join(rows[1:])
    one = bytearray(16)
    assert tag.read_blocks_into(7, 1, one) == TRAILER_7  # a trailer on its own
    assert [world.block(b) for b in (4, 5, 6)] == rows


@pytest.mark.parametrize("block, count", [(4, 4), (6, 2), (7, 2), (62, 2), (255, 2), (4, 0)],
                         ids=["trailer-in-run", "crosses-trailer", "from-trailer", "1k-trailer", "past-255", "none"])
def test_read_blocks_into_outside_one_sectors_data_blocks_is_a_value_error(world, block, count):
    tag = world.tag()
    tag.authenticate(4, KEY)
    tag.write_block(5, DATA)
    with pytest.raises(ValueError):
        tag.read_blocks_into(block, count, bytearray(16 * max(count, 1)))
    assert tag.read_block(5) == DATA  # nothing reached the card: the session is intact


def test_read_blocks_into_of_another_sector_is_access_denied(world):
    tag = world.tag()
    tag.authenticate(4, KEY)
    with pytest.raises(AccessDenied):
        tag.read_blocks_into(8, 3, bytearray(48))
    tag.authenticate(8, KEY)
    tag.write_block(9, DATA)
    assert tag.read_blocks_into(8, 3, bytearray(48))[16:32] == DATA
