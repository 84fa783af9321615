"""Every access condition x operation x key on the virtual card, against an independent
transcription of MF1S50yyX Tables 7 and 8 (docs/chip-facts.md "Access conditions"), plus the card's
other hard rules: halt after a failed auth, blocked sectors ("Invalid access bits"), block 0, 7-byte
UIDs, 4K sectors, key masking."""
import pytest

from icpurse.hil.sim.card import AuthFailed, CardNak, CardTimeout, ClassicCard, PARTIAL
from simkit import h

KEY_A = h("A0 A1 A2 A3 A4 A5")
KEY_B = h("B0 B1 B2 B3 B4 B5")
UID = h("DEADBEEF")

# Fig 10 bit layout, written out independently of icpurse.protocol.mifare.access:
#   byte 6 = ~C2(g3..g0) ~C1(g3..g0); byte 7 = C1(g3..g0) ~C3(g3..g0); byte 8 = C3(g3..g0) C2(g3..g0)
def access_bytes(groups):
    """groups: 4 strings "C1C2C3" for block 0, 1, 2 and the trailer -> 3 access bytes."""
    c1 = c2 = c3 = 0
    for g, bits in enumerate(groups):
        c1 |= int(bits[0]) << g
        c2 |= int(bits[1]) << g
        c3 |= int(bits[2]) << g
    return bytes([((~c2 & 0xF) << 4) | (~c1 & 0xF), (c1 << 4) | (~c3 & 0xF), (c3 << 4) | c2])


def test_access_bytes_helper_matches_the_reference_examples():
    assert access_bytes(["000", "000", "000", "001"]) == h("FF 07 80")
    assert access_bytes(["100", "100", "100", "011"]) == h("78 77 88")
    assert access_bytes(["000", "000", "000", "011"]) == h("7F 07 88")
    assert access_bytes(["110", "110", "110", "011"]) == h("08 77 8F")
    assert access_bytes(["001", "011", "011", "111"]) == h("17 80 FE")
    assert access_bytes(["110", "100", "100", "011"]) == h("68 77 89")


# Table 8 (data blocks): read, write, increment, decrement/transfer/restore -> who may.
DATA_TABLE = {
    "000": ("AB", "AB", "AB", "AB"),
    "010": ("AB", "", "", ""),
    "100": ("AB", "B", "", ""),
    "110": ("AB", "B", "B", "AB"),
    "001": ("AB", "", "", "AB"),
    "011": ("B", "B", "", ""),
    "101": ("B", "", "", ""),
    "111": ("", "", "", ""),
}
# Table 7 (trailer): key A read, key A write, access read, access write, key B read, key B write.
TRAILER_TABLE = {
    "000": ("", "A", "A", "", "A", "A"),
    "010": ("", "", "A", "", "A", ""),
    "100": ("", "B", "AB", "", "", "B"),
    "110": ("", "", "AB", "", "", ""),
    "001": ("", "A", "A", "A", "A", "A"),
    "011": ("", "B", "AB", "B", "", "B"),
    "101": ("", "", "AB", "B", "", ""),
    "111": ("", "", "AB", "", "", ""),
}
KEY_B_READABLE = {"000", "010", "001"}  # grey lines of Table 7: key B is then useless (footnote 1)
CONDS = sorted(DATA_TABLE)
KEYS = (("A", 0x60, KEY_A), ("B", 0x61, KEY_B))


def may(who, key_name, trailer_cond):
    if key_name == "B" and trailer_cond in KEY_B_READABLE:
        return False
    return key_name in who


def value_block(value, addr):
    v = (value & 0xFFFFFFFF).to_bytes(4, "little")
    return v + bytes(b ^ 0xFF for b in v) + v + bytes([addr, addr ^ 0xFF, addr, addr ^ 0xFF])


def sector1_card(data_cond, trailer_cond, size="1k"):
    """Sector 1: block 4 under `data_cond`, block 5 under 000 (a helper value block), block 6
    under `data_cond`, our keys."""
    c = ClassicCard(UID, size)
    c.blocks[4][:] = value_block(100, 4)
    c.blocks[5][:] = value_block(7, 5)
    c.blocks[7][:] = KEY_A + access_bytes([data_cond, "000", data_cond, trailer_cond]) + b"\x00" + KEY_B
    c.select()
    return c


def attempt(fn):
    try:
        fn()
    except CardNak:
        return False
    return True


@pytest.mark.parametrize("trailer_cond", CONDS)
@pytest.mark.parametrize("data_cond", CONDS)
def test_data_block_every_operation_and_key(data_cond, trailer_cond):
    read, write, inc, dec = DATA_TABLE[data_cond]
    wrong = []
    for key_name, key_type, key in KEYS:
        def fresh():
            c = sector1_card(data_cond, trailer_cond)
            c.authenticate(key_type, 4, key, UID)  # always succeeds, even a readable key B
            return c

        def check(op, expected, ok):
            if ok != expected:
                wrong.append("%s key %s: %s" % (op, key_name, "allowed" if ok else "refused"))

        c = fresh()
        ok = attempt(lambda: c.read(4))
        check("read", may(read, key_name, trailer_cond), ok)
        c = fresh()
        new = value_block(55, 4)
        ok = attempt(lambda: c.write(4, new))
        check("write", may(write, key_name, trailer_cond), ok)
        assert bytes(c.blocks[4]) == (new if ok else value_block(100, 4))
        c = fresh()
        ok = attempt(lambda: c.increment(4, 5))
        check("increment", may(inc, key_name, trailer_cond), ok)
        if ok:
            c.transfer(5)  # block 5 is 000: the buffer (105) lands there
            assert bytes(c.blocks[5]) == value_block(105, 5)
        c = fresh()
        ok = attempt(lambda: c.decrement(4, 5))
        check("decrement", may(dec, key_name, trailer_cond), ok)
        if ok:
            c.transfer(5)
            assert bytes(c.blocks[5]) == value_block(95, 5)
        c = fresh()
        ok = attempt(lambda: c.restore(4))
        check("restore", may(dec, key_name, trailer_cond), ok)
        c = fresh()
        loaded = attempt(lambda: c.restore(5))  # buffer = 7, from the helper block
        assert loaded == may("AB", key_name, trailer_cond)
        if loaded:
            ok = attempt(lambda: c.transfer(4))
            check("transfer", may(dec, key_name, trailer_cond), ok)
            assert bytes(c.blocks[4]) == (value_block(7, 4) if ok else value_block(100, 4))
    assert not wrong, "data %s / trailer %s: %s" % (data_cond, trailer_cond, "; ".join(wrong))


@pytest.mark.parametrize("trailer_cond", CONDS)
def test_trailer_every_operation_and_key(trailer_cond):
    ka_r, ka_w, ac_r, ac_w, kb_r, kb_w = TRAILER_TABLE[trailer_cond]
    acc = access_bytes(["000", "000", "000", trailer_cond])
    for key_name, key_type, key in KEYS:
        c = sector1_card("000", trailer_cond)
        c.authenticate(key_type, 7, key, UID)
        # READ: refused when the key may not even read the access bits; otherwise key A reads as
        # zeros and key B as zeros unless readable.
        if not may(ac_r, key_name, trailer_cond):
            with pytest.raises(CardNak):
                c.read(7)
        else:
            got = c.read(7)
            assert got[0:6] == bytes(6)
            assert got[6:10] == acc + b"\x00"
            assert got[10:16] == (KEY_B if may(kb_r, key_name, trailer_cond) else bytes(6))
        # WRITE (strict policy): the whole 16 bytes only if every part is writable.
        new = h("11 12 13 14 15 16") + acc + b"\x42" + h("21 22 23 24 25 26")
        whole = all(may(x, key_name, trailer_cond) for x in (ka_w, ac_w, kb_w))
        ok = attempt(lambda: c.write(7, new))
        assert ok == whole, "trailer %s key %s write" % (trailer_cond, key_name)
        assert bytes(c.blocks[7]) == (new if ok else KEY_A + acc + b"\x00" + KEY_B)
        # Value operations never apply to a trailer.
        for op in (lambda: c.increment(7, 1), lambda: c.decrement(7, 1), lambda: c.restore(7),
                   lambda: c.transfer(7)):
            assert not attempt(op)


@pytest.mark.parametrize("trailer_cond", CONDS)
def test_trailer_partial_write_policy(trailer_cond):
    ka_r, ka_w, ac_r, ac_w, kb_r, kb_w = TRAILER_TABLE[trailer_cond]
    acc = access_bytes(["000", "000", "000", trailer_cond])
    new_acc = access_bytes(["100", "000", "000", trailer_cond])
    for key_name, key_type, key in KEYS:
        c = sector1_card("000", trailer_cond)
        c.trailer_write_policy = PARTIAL
        c.authenticate(key_type, 7, key, UID)
        new = h("11 12 13 14 15 16") + new_acc + b"\x42" + h("21 22 23 24 25 26")
        parts = [may(x, key_name, trailer_cond) for x in (ka_w, ac_w, kb_w)]
        ok = attempt(lambda: c.write(7, new))
        assert ok == any(parts)
        expected = ((new[0:6] if parts[0] else KEY_A) + (new[6:10] if parts[1] else acc + b"\x00")
                    + (new[10:16] if parts[2] else KEY_B))
        assert bytes(c.blocks[7]) == expected


def test_transport_configuration_key_a_does_everything_key_b_nothing():
    c = ClassicCard(UID)
    c.select()
    c.authenticate(0x61, 4, h("FF FF FF FF FF FF"), UID)  # key B authenticates...
    with pytest.raises(CardNak):
        c.read(4)  # ...but is refused every memory access (key B readable)
    c.authenticate(0x60, 4, h("FF FF FF FF FF FF"), UID)
    assert c.read(7) == h("00 00 00 00 00 00 FF 07 80 69 FF FF FF FF FF FF")


# --- authentication ----------------------------------------------------------------------------

@pytest.mark.parametrize("key_type, key, uid4, block", [
    (0x60, KEY_B, UID, 4),  # wrong key
    (0x61, KEY_A, UID, 4),
    (0x60, KEY_A, h("DEADBEEE"), 4),  # wrong UID
    (0x60, KEY_A, UID, 64),  # no such block on a 1K
])
def test_failed_auth_halts_the_card(key_type, key, uid4, block):
    c = sector1_card("000", "011")
    c.authenticate(0x60, 4, KEY_A, UID)
    with pytest.raises(AuthFailed) as e:
        c.authenticate(key_type, block, key, uid4)
    assert e.value.status == 0x14
    assert c.state == "halted"
    for cmd in (lambda: c.read(4), lambda: c.authenticate(0x60, 4, KEY_A, UID), lambda: c.halt()):
        with pytest.raises(CardTimeout):
            cmd()
    c.select()
    c.authenticate(0x60, 4, KEY_A, UID)
    assert c.read(4) == value_block(100, 4)


def test_memory_access_outside_the_authenticated_sector_is_refused():
    c = sector1_card("000", "001")
    c.authenticate(0x60, 4, KEY_A, UID)
    for blk in (3, 8, 0):
        with pytest.raises(CardNak):
            c.read(blk)
    with pytest.raises(CardNak):
        c.read(64)  # beyond a 1K card


def test_not_authenticated_read_is_a_nak_and_not_selected_is_a_timeout():
    c = ClassicCard(UID)
    with pytest.raises(CardTimeout):
        c.read(4)  # idle: not selected
    c.select()
    with pytest.raises(CardNak) as e:
        c.read(4)
    assert e.value.status == 0x13


# --- blocked sector (MF1S50yyX §8.7.1) -------------------------------------------------------

@pytest.mark.parametrize("bad", ["00 00 00", "FF FF FF", "BB BB CC", "FF 07 81"])
def test_invalid_access_bits_block_the_sector_but_auth_still_works(bad):
    c = ClassicCard(UID)
    c.blocks[7][:] = KEY_A + h(bad) + b"\x69" + KEY_B
    c.blocks[5][:] = value_block(3, 5)
    c.select()
    for key_type, key in ((0x60, KEY_A), (0x61, KEY_B)):
        c.authenticate(key_type, 4, key, UID)
        for op in (lambda: c.read(4), lambda: c.read(7), lambda: c.write(4, bytes(16)),
                   lambda: c.write(7, KEY_A + h("FF 07 80 69") + KEY_B), lambda: c.increment(5, 1),
                   lambda: c.decrement(5, 1), lambda: c.restore(5), lambda: c.transfer(5)):
            with pytest.raises(CardNak):
                op()
    # other sectors are untouched
    c.authenticate(0x60, 8, h("FF FF FF FF FF FF"), UID)
    assert c.read(8) == bytes(16)


def test_writing_invalid_access_bits_blocks_the_sector_for_good():
    c = ClassicCard(UID)
    c.select()
    c.authenticate(0x60, 7, h("FF FF FF FF FF FF"), UID)
    c.write(7, h("FF FF FF FF FF FF 00 00 00 69 FF FF FF FF FF FF"))  # transport: key A writes all
    for _ in range(2):
        with pytest.raises(CardNak):
            c.write(7, h("FF FF FF FF FF FF FF 07 80 69 FF FF FF FF FF FF"))
        c.select()
        c.authenticate(0x60, 7, h("FF FF FF FF FF FF"), UID)


# --- block 0, magic, UIDs, 4K ----------------------------------------------------------------

def test_block_0_is_read_only_even_in_transport_configuration():
    c = ClassicCard(UID)
    c.select()
    c.authenticate(0x60, 0, h("FF FF FF FF FF FF"), UID)
    assert c.read(0) == h("DE AD BE EF 22 08 04 00 00 00 00 00 00 00 00 00")  # BCC 0x22
    with pytest.raises(CardNak):
        c.write(0, h("01 02 03 04 04") + bytes(11))
    c.blocks[1][:] = value_block(1, 1)
    c.restore(1)
    with pytest.raises(CardNak):
        c.transfer(0)
    c.write(1, bytes(16))  # the rest of sector 0 is writable
    assert c.uid == UID


def test_magic_card_block_0_is_writable_and_changes_the_uid():
    c = ClassicCard(UID, magic=True)
    c.select()
    c.authenticate(0x60, 0, h("FF FF FF FF FF FF"), UID)
    clone = h("90 1F 2A A4") + bytes([0x90 ^ 0x1F ^ 0x2A ^ 0xA4]) + h("08 04 00") + bytes(8)
    c.write(0, clone)
    assert c.read(0) == clone
    assert c.uid == h("90 1F 2A A4")
    c.select()
    c.authenticate(0x60, 0, h("FF FF FF FF FF FF"), h("90 1F 2A A4"))


@pytest.mark.parametrize("size, atqa, sak", [("1k", 0x0044, 0x08), ("4k", 0x0042, 0x18)])
def test_7_byte_uid_card(size, atqa, sak):
    uid = h("04 11 22 33 44 55 66")
    c = ClassicCard(uid, size)
    assert (c.atqa, c.sak) == (atqa, sak)
    # block 0 holds the 7 UID bytes (no BCC) [U: figure not read], then SAK and ATQA on-air order
    assert bytes(c.blocks[0]) == uid + bytes([sak, atqa & 0xFF, atqa >> 8]) + bytes(6)
    c.select()
    with pytest.raises(AuthFailed):
        c.authenticate(0x60, 4, h("FF FF FF FF FF FF"), uid[:4])  # not the first 4 bytes
    c.select()
    c.authenticate(0x60, 4, h("FF FF FF FF FF FF"), h("33 44 55 66"))  # the last 4 (CL2)
    assert c.read(4) == bytes(16)


@pytest.mark.parametrize("size, atqa, sak, blocks", [("1k", 0x0004, 0x08, 64), ("4k", 0x0002, 0x18, 256)])
def test_4_byte_uid_atqa_sak_and_size(size, atqa, sak, blocks):
    c = ClassicCard(UID, size)
    assert (c.atqa, c.sak, len(c.blocks)) == (atqa, sak, blocks)
    assert len(c.to_mfd()) == blocks * 16


def test_4k_big_sectors_have_16_blocks_and_5_block_access_groups():
    c = ClassicCard(UID, "4k")
    # sector 32 = blocks 128..143, trailer 143; groups 0..2 cover blocks 0-4, 5-9, 10-14
    c.blocks[143][:] = KEY_A + access_bytes(["000", "010", "111", "011"]) + b"\x00" + KEY_B
    c.select()
    c.authenticate(0x60, 130, KEY_A, UID)
    for blk in range(128, 133):
        c.write(blk, bytes([blk]) * 16)  # group 0: 000
    for blk in range(133, 138):
        assert c.read(blk) == bytes(16)  # group 1: 010 read-only
        with pytest.raises(CardNak):
            c.write(blk, bytes(16))
    for blk in range(138, 143):
        with pytest.raises(CardNak):  # group 2: 111 no access
            c.read(blk)
    assert c.read(143)[6:9] == access_bytes(["000", "010", "111", "011"])
    with pytest.raises(CardNak):
        c.read(127)  # sector 31, not authenticated
    with pytest.raises(AuthFailed):
        c.authenticate(0x60, 143, KEY_B, UID)
    c.select()
    c.authenticate(0x60, 255, h("FF FF FF FF FF FF"), UID)  # last sector 39, transport
    assert c.read(255) == h("00 00 00 00 00 00 FF 07 80 69 FF FF FF FF FF FF")


def test_1k_card_has_no_block_64():
    c = ClassicCard(UID)
    c.select()
    with pytest.raises(AuthFailed):
        c.authenticate(0x60, 64, h("FF FF FF FF FF FF"), UID)


@pytest.mark.parametrize("trailer_cond, key_type, key, key_b_shown", [
    ("001", 0x60, KEY_A, True),  # transport: key B readable with key A
    ("000", 0x60, KEY_A, True),
    ("011", 0x60, KEY_A, False),
    ("011", 0x61, KEY_B, False),
    ("111", 0x61, KEY_B, False),
])
def test_keys_read_back_masked(trailer_cond, key_type, key, key_b_shown):
    c = sector1_card("000", trailer_cond)
    c.authenticate(key_type, 7, key, UID)
    got = c.read(7)
    assert got[0:6] == bytes(6)
    assert got[10:16] == (KEY_B if key_b_shown else bytes(6))
    assert bytes(c.blocks[7][0:6]) == KEY_A  # the real keys are still there (and in the dump)
    assert c.to_mfd()[7 * 16:8 * 16] == bytes(c.blocks[7])


# --- dumps -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size, n", [("1k", 1024), ("4k", 4096)])
def test_mfd_round_trip_with_real_keys(size, n):
    c = ClassicCard(UID, size)
    c.blocks[7][:] = KEY_A + h("7F 07 88 40") + KEY_B
    dump = c.to_mfd()
    assert len(dump) == n
    assert dump[7 * 16:8 * 16] == KEY_A + h("7F 07 88 40") + KEY_B
    assert dump[0:16] == h("DE AD BE EF 22") + bytes([c.sak]) + bytes([c.atqa & 0xFF, c.atqa >> 8]) + bytes(8)
    back = ClassicCard.from_mfd(dump)
    assert (back.uid, back.size, back.to_mfd()) == (UID, size, dump)


def test_mfd_7_byte_uid_and_bad_sizes():
    c = ClassicCard(h("04 11 22 33 44 55 66"))
    back = ClassicCard.from_mfd(c.to_mfd())
    assert back.uid == h("04 11 22 33 44 55 66") and back.atqa == 0x0044
    with pytest.raises(ValueError):
        ClassicCard.from_mfd(bytes(1000))


def test_block_0_matches_the_protocol_builder():
    from icpurse.protocol.mifare.blocks import build_manufacturer_block

    assert bytes(ClassicCard(UID).blocks[0]) == build_manufacturer_block(UID)
    uid7 = h("04 11 22 33 44 55 66")
    assert bytes(ClassicCard(uid7, "4k").blocks[0]) == build_manufacturer_block(uid7, 0x18, h("42 00"))


def test_mfd_files(tmp_path):
    from icpurse.hil.sim import dumps

    c = ClassicCard(h("04 11 22 33 44 55 66"), "4k")
    c.blocks[4][:] = h("01") * 16
    dumps.save(c, tmp_path / "card.mfd")
    assert (tmp_path / "card.mfd").stat().st_size == 4096
    back = dumps.load(tmp_path / "card.mfd", magic=True)
    assert back.to_mfd() == c.to_mfd() and back.magic and back.uid == c.uid
