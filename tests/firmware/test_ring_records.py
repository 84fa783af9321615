"""The state ring's records (firmware/ring.py): what `append` returns and remembers is exactly
what the flash holds, decoded -- the ring builds the tuple from the fields it encoded instead of
decoding its own write (one C call less per tap), so this holds it to the codec."""
from icpurse.firmware import codec, ring
from icpurse.firmware.hal.sim import SimFlash

UID = b"\x04\xa0\x00\x07"


def test_an_appended_record_is_what_the_flash_reads_back():
    flash = SimFlash(4)
    r = ring.Ring(flash).open()
    rec = r.append(ring.TAP, UID, codec.LAYOUT_V2, 3, 0x01000010, 50000, 0x01000110, 49744, 9500, 256, 17, 256,
                   820000000)
    buf = bytearray(codec.RING_RECORD_SIZE)
    flash.read(0, buf)
    assert rec == codec.decode_card_state_record(buf)
    assert rec[ring.JOURNAL] == 17 and rec[ring.BALANCE] == 49744 and bytes(rec[ring.UID])[:4] == UID
    again = ring.Ring(flash).open()  # as at the next boot
    assert again.latest(UID) == rec
    assert again.taps == [rec]
