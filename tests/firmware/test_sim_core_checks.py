"""Checks of the simulator core (hil/sim card, deck, faults, clock, pn532) that run under real
MicroPython and CPython alike (a dual-run file: tests/test_micropython.py runs it under MicroPython).
No pytest here; vectors from docs/chip-facts.md."""
from icpurse.hil.sim.card import AuthFailed, CardNak, CardTimeout, ClassicCard
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.faults import Faults, torn_block
from icpurse.hil.sim.pn532 import PN532, PN532I2C

ACK = b"\x00\x00\xff\x00\xff\x00"
FF6 = b"\xff" * 6
UID = b"\xde\xad\xbe\xef"


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


def rig(*cards):
    deck = Deck()
    for i in range(len(cards)):
        deck.add("c%d" % i, cards[i])
    if cards:
        deck.present("c0")
    return deck, PN532(deck)


def xfer(chip, hexframe):
    chip.write(h(hexframe))
    return chip.read()


def test_session_vectors():
    deck, chip = rig(ClassicCard(UID))
    assert xfer(chip, "55 55 00 00 00 00 00 00 00 00 00 00 00 00 00 00 FF 03 FD D4 14 01 17 00") == h(
        "00 00 FF 00 FF 00 00 00 FF 02 FE D5 15 16 00")
    assert xfer(chip, "00 00 FF 02 FE D4 02 2A 00") == ACK + h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
    assert xfer(chip, "00 00 FF 04 FC D4 4A 01 00 E1 00") == ACK + h(
        "00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")
    assert xfer(chip, "00 00 FF 0F F1 D4 40 01 60 04 FF FF FF FF FF FF DE AD BE EF 55 00") == ACK + h(
        "00 00 FF 03 FD D5 41 00 EA 00")
    assert xfer(chip, "00 00 FF 05 FB D4 40 01 30 07 B4 00") == ACK + h(
        "00 00 FF 13 ED D5 41 00 00 00 00 00 00 00 FF 07 80 69 FF FF FF FF FF FF 01 00")
    assert xfer(chip, "00 00 FF 03 FD D4 52 00 DA 00") == ACK + h("00 00 FF 03 FD D5 53 00 D8 00")
    assert xfer(chip, "00 00 FF 02 FE D4 FE 2E 00") == ACK + h("00 00 FF 01 FF 7F 81 00")
    assert xfer(chip, "00 00 FF FF 00 00") == h("00 00 FF 01 FF 7F 81 00")


def test_clock_get_firmware_version():
    deck, chip = rig()
    xfer(chip, "00 00 FF 02 FE D4 02 2A 00")
    assert chip.clock.now_us == 2930  # 28 bytes x 10 / 115200 + 500


def test_value_ops_acr122():
    c = ClassicCard(UID)
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    c.write(5, h("64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA"))
    c.increment(5, 1)
    c.transfer(5)
    assert c.read(5) == h("65 00 00 00 9A FF FF FF 65 00 00 00 05 FA 05 FA")
    c.decrement(5, 0x66)
    c.transfer(6)
    assert c.read(6) == h("FF FF FF FF 00 00 00 00 FF FF FF FF 00 00 00 00")
    try:
        c.transfer(8)
        raise AssertionError("transfer into another sector")
    except CardNak:
        pass


def test_access_and_halt():
    c = ClassicCard(UID)
    c.select()
    c.authenticate(0x61, 4, FF6, UID)  # transport: key B readable -> useless
    try:
        c.read(4)
        raise AssertionError("key B must be refused")
    except CardNak:
        pass
    try:
        c.authenticate(0x60, 4, b"\x00" * 6, UID)
        raise AssertionError("wrong key")
    except AuthFailed:
        pass
    try:
        c.read(4)
        raise AssertionError("halted card answered")
    except CardTimeout:
        pass
    c.blocks[7][6:9] = b"\x00\x00\x00"  # invalid access bits: sector blocked
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    try:
        c.read(4)
        raise AssertionError("blocked sector answered")
    except CardNak:
        pass


def test_faults():
    f = Faults()
    deck = Deck()
    c = deck.add("a", ClassicCard(UID, faults=f))
    deck.present("a")
    c.select()
    c.authenticate(0x60, 4, FF6, UID)
    f.tear_next_write("mix", seed=7)
    try:
        c.write(4, b"\xff" * 16)
        raise AssertionError("torn write must time out")
    except CardTimeout:
        pass
    # pinned bytes: the seeded mix is the same on both interpreters
    assert bytes(c.blocks[4]) == h("FF FF FF FF FF 00 00 FF FF 00 FF 00 00 00 FF FF")
    assert deck.in_field is None
    assert torn_block(bytes(16), b"\xff" * 16, "mix", 7) == bytes(c.blocks[4])


def test_i2c():
    deck, chip = rig()
    i2c = PN532I2C(chip)
    i2c.write(h("00 00 FF 02 FE D4 02 2A 00"))
    assert i2c.read(7) == bytes(7)
    assert i2c.read(7) == h("01 00 00 FF 00 FF 00")
    assert i2c.read(14) == h("01 00 00 FF 06 FA D5 03 32 01 06 07 E8 00")


def test_mfd_round_trip():
    c = ClassicCard(h("04 11 22 33 44 55 66"), "4k")
    back = ClassicCard.from_mfd(c.to_mfd())
    assert back.uid == c.uid and back.size == "4k" and back.atqa == 0x0042
