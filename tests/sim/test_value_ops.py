"""INCREMENT / DECREMENT / RESTORE / TRANSFER on the virtual card (docs/chip-facts.md "Value operations",
"Value blocks"), with the
datasheet and ACR122 example values."""
import pytest

from icpurse.hil.sim.card import CardNak, ClassicCard
from simkit import Rig, h

FF6 = h("FF FF FF FF FF FF")
UID = h("DEADBEEF")
ACR_100_AT_5 = h("64 00 00 00 9B FF FF FF 64 00 00 00 05 FA 05 FA")
ACR_101_AT_5 = h("65 00 00 00 9A FF FF FF 65 00 00 00 05 FA 05 FA")


def authed(sector_block=4, size="1k"):
    c = ClassicCard(UID, size)
    c.select()
    c.authenticate(0x60, sector_block, FF6, UID)
    return c


def test_acr122_increment_example():
    c = authed()
    c.write(5, ACR_100_AT_5)
    c.increment(5, 1)
    assert c.read(5) == ACR_100_AT_5  # nothing lands before the TRANSFER
    c.transfer(5)
    assert c.read(5) == ACR_101_AT_5


def test_acr122_example_through_the_pn532():
    rig = Rig(ClassicCard(UID))
    rig.list_card()
    assert rig.mifare(h("60 04") + FF6 + UID) == (0, b"")
    assert rig.mifare(h("A0 05") + ACR_100_AT_5) == (0, b"")
    assert rig.mifare(h("C1 05 01 00 00 00")) == (0, b"")  # ACR122: D4 40 01 C1 05 01 00 00 00
    assert rig.mifare(h("B0 05")) == (0, b"")
    assert rig.mifare(h("30 05")) == (0, ACR_101_AT_5)


def test_datasheet_value_block_1234567_at_17():
    c = authed(16)
    block = h("87 D6 12 00 78 29 ED FF 87 D6 12 00 11 EE 11 EE")
    c.write(17, block)
    c.decrement(17, 1234567)
    c.transfer(17)
    assert c.read(17) == h("00 00 00 00 FF FF FF FF 00 00 00 00 11 EE 11 EE")
    c.decrement(17, 1)
    c.transfer(17)
    assert c.read(17) == h("FF FF FF FF 00 00 00 00 FF FF FF FF 11 EE 11 EE")  # -1


def test_restore_then_transfer_copies_a_value_between_blocks_of_a_sector():
    c = authed()
    c.write(5, ACR_100_AT_5)
    c.write(6, h("00 00 00 00 FF FF FF FF 00 00 00 00 06 F9 06 F9"))
    c.restore(5)
    c.transfer(6)  # ACR122: RESTORE 05 + TRANSFER 06
    # the value is copied; the address bytes of the destination stay as they were
    assert c.read(6) == h("64 00 00 00 9B FF FF FF 64 00 00 00 06 F9 06 F9")
    c.transfer(4)  # the buffer is still valid after a transfer [U]
    assert c.read(4) == h("64 00 00 00 9B FF FF FF 64 00 00 00 00 00 00 00")


def test_decrement_into_a_backup_block():
    c = authed()
    c.write(5, ACR_100_AT_5)
    c.decrement(5, 30)
    c.transfer(6)
    assert c.read(6)[:12] == h("46 00 00 00 B9 FF FF FF 46 00 00 00")
    assert c.read(5) == ACR_100_AT_5


def test_transfer_into_another_sector_is_refused():
    c = authed()
    c.write(5, ACR_100_AT_5)
    c.restore(5)
    with pytest.raises(CardNak):
        c.transfer(8)  # sector 2
    c.authenticate(0x60, 8, FF6, UID)  # a new session does not carry the buffer over
    with pytest.raises(CardNak):
        c.transfer(8)
    assert c.read(8) == bytes(16)


def test_transfer_needs_a_loaded_buffer():
    c = authed()
    with pytest.raises(CardNak):
        c.transfer(4)
    c.write(5, ACR_100_AT_5)
    c.restore(5)
    c.select()  # re-activation clears the buffer
    c.authenticate(0x60, 4, FF6, UID)
    with pytest.raises(CardNak):
        c.transfer(4)


@pytest.mark.parametrize("pos", range(16))
def test_any_broken_byte_fails_the_value_format_check(pos):
    c = authed()
    bad = bytearray(ACR_100_AT_5)
    bad[pos] ^= 0x01
    c.write(5, bytes(bad))
    for op in (lambda: c.increment(5, 1), lambda: c.decrement(5, 1), lambda: c.restore(5)):
        with pytest.raises(CardNak):
            op()


def test_zero_block_is_not_a_value_block():
    c = authed()
    with pytest.raises(CardNak):
        c.restore(4)


def test_operand_is_signed_lsb_first_and_values_wrap():
    # [U] overflow behaviour is not in the datasheets (docs/chip-facts.md "Open questions" 5):
    # modelled as 32-bit
    # two's-complement wrap, operand bytes read as a signed 32-bit LSB-first integer.
    rig = Rig(ClassicCard(UID))
    rig.list_card()
    rig.mifare(h("60 04") + FF6 + UID)
    rig.mifare(h("A0 04") + h("FF FF FF 7F 00 00 00 80 FF FF FF 7F 04 FB 04 FB"))  # 2**31 - 1
    assert rig.mifare(h("C1 04 01 00 00 00")) == (0, b"")
    rig.mifare(h("B0 04"))
    assert rig.mifare(h("30 04"))[1] == h("00 00 00 80 FF FF FF 7F 00 00 00 80 04 FB 04 FB")  # -2**31
    assert rig.mifare(h("C1 04 FF FF FF FF")) == (0, b"")  # + (-1)
    rig.mifare(h("B0 04"))
    assert rig.mifare(h("30 04"))[1] == h("FF FF FF 7F 00 00 00 80 FF FF FF 7F 04 FB 04 FB")


def test_value_op_wrong_lengths_are_refused_by_the_card():
    rig = Rig(ClassicCard(UID))
    rig.list_card()
    rig.mifare(h("60 04") + FF6 + UID)
    rig.mifare(h("A0 05") + ACR_100_AT_5)
    assert rig.mifare(h("C1 05 01 00 00")) == (0x13, b"")
    assert rig.mifare(h("C0 05")) == (0x13, b"")
    assert rig.mifare(h("A0 05 01 02 03 04")) == (0x13, b"")  # 4-byte (Ultralight) write


def test_value_ops_in_a_4k_big_sector():
    c = authed(200, "4k")  # sector 36: blocks 192..207
    c.write(200, ACR_100_AT_5)
    c.increment(200, 10)
    c.transfer(206)
    assert c.read(206)[:12] == h("6E 00 00 00 91 FF FF FF 6E 00 00 00")
