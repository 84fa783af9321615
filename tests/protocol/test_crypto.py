"""Host crypto (icpurse.protocol.crypto): RFC 4493 CMAC, AN10922, icpurse derivations and record MACs,
and their agreement with the firmware's MicroPython implementation (icpurse.firmware.*) on random
inputs. Expected values are the published vectors (docs/chip-facts.md "AES-CMAC and AN10922") or
literal bytes."""
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from icpurse.firmware import aes as fw_aes
from icpurse.firmware import cmac as fw_cmac
from icpurse.firmware import kdf as fw_kdf
from icpurse.protocol.crypto import kdf
from icpurse.protocol.crypto.an10922 import an10922_aes128
from icpurse.protocol.crypto.cmac import aes_cmac, aes_encrypt_block, cmac_subkeys
from icpurse.protocol.crypto.inputs import Purpose
from icpurse.protocol.records import PurseSlot, RecordType

h = bytes.fromhex

RFC_KEY = h("2b7e151628aed2a6abf7158809cf4f3c")
RFC_MSG64 = h(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)
MASTER = h("000102030405060708090a0b0c0d0e0f")
UID7 = h("04112233445566")
UID4 = h("a1b2c3d4")

keys = st.binary(min_size=16, max_size=16)
uids = st.one_of(st.binary(min_size=4, max_size=4), st.binary(min_size=7, max_size=7))
versions = st.integers(0, 255)
sectors = st.integers(0, 39)
record_types = st.sampled_from(
    [RecordType.IDENTITY, RecordType.SLOT, RecordType.LOG, RecordType.JOURNAL])


# --- AES-CMAC (RFC 4493 §4) ---------------------------------------------------------------------

def test_rfc4493_subkeys():
    assert aes_encrypt_block(RFC_KEY, bytes(16)) == h("7df76b0c1ab899b33e42f047b91b546f")  # L
    k1, k2 = cmac_subkeys(RFC_KEY)
    assert k1 == h("fbeed618357133667c85e08f7236a8de")
    assert k2 == h("f7ddac306ae266ccf90bc11ee46d513b")


@pytest.mark.parametrize("length, expected", [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
])
def test_rfc4493_macs(length, expected):
    assert aes_cmac(RFC_KEY, RFC_MSG64[:length]) == h(expected)
    assert fw_cmac.CMAC(RFC_KEY, fw_aes.PyAES128).mac(RFC_MSG64[:length]) == h(expected)


def test_subkey_msb_carry_branch():
    # RFC 4493's L has MSB 0 and K1 MSB 1: both branches of the doubling are covered by the vector;
    # check the doubling itself on a key whose L has its MSB set.
    key = next(k for k in (bytes([i]) * 16 for i in range(256)) if aes_encrypt_block(k, bytes(16))[0] & 0x80)
    l_int = int.from_bytes(aes_encrypt_block(key, bytes(16)), "big")
    k1 = ((l_int << 1) ^ 0x87) & ((1 << 128) - 1)
    assert cmac_subkeys(key)[0] == k1.to_bytes(16, "big")


def test_cmac_rejects_non_aes128_keys():
    with pytest.raises(ValueError, match="16 bytes"):
        aes_cmac(bytes(32), b"")
    with pytest.raises(TypeError):
        aes_cmac("0" * 16, b"")


# --- AN10922 ------------------------------------------------------------------------------------

def test_an10922_nxp_vector():
    m = h("04782E21801D80" "3042F5" "4E585020416275")
    assert an10922_aes128(h("00112233445566778899AABBCCDDEEFF"), m) == h("A8DD63A3B89D54B37CA802473FDA9175")


def test_an10922_short_input_is_not_plain_cmac():
    key = h("F3F9377698707B688EAF84ABE39E3791")
    div = an10922_aes128(key, h("04DEADBEEFFEED"))
    assert div == h("0BB408BAFF98B6EE9F2E1585777F6A51")
    plain = aes_cmac(key, h("0104DEADBEEFFEED"))
    assert plain == h("721E2C01E81AF85D815633969CEA2607")
    assert div != plain


@pytest.mark.parametrize("length", [0, 32, 40])
def test_an10922_rejects_bad_input_lengths(length):
    with pytest.raises(ValueError, match="1..31"):
        an10922_aes128(MASTER, bytes(length))


def test_an10922_rejects_bad_master_key():
    with pytest.raises(ValueError, match="16 bytes"):
        an10922_aes128(bytes(15), b"\x01")


@given(key=keys, m=st.binary(min_size=16, max_size=31))
def test_an10922_equals_cmac_for_two_block_inputs(key, m):
    # AN10922 §2.2: for 17 <= len(0x01 ‖ M) <= 32 the construction is exactly AES-CMAC(K, 0x01 ‖ M).
    assert an10922_aes128(key, m) == aes_cmac(key, b"\x01" + m)


@given(key=keys, m=st.binary(min_size=1, max_size=15))
def test_an10922_short_inputs_pad_to_32_bytes(key, m):
    # Independent statement of the rule: CBC over 01 ‖ M ‖ 80 00.. (32 bytes), second block ⊕ K2.
    k2 = cmac_subkeys(key)[1]
    d = b"\x01" + m + b"\x80" + bytes(30 - len(m))
    d = d[:16] + bytes(a ^ b for a, b in zip(d[16:], k2))
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    assert an10922_aes128(key, m) == enc.update(d)[16:]


# --- derivations: byte layout pinned with literal inputs ------------------------------------------

def test_sector_key_input_layout():
    # purpose 0x10 (key A) ‖ key_version 1 ‖ uid_len 7 ‖ uid ‖ sector 5
    m = h("10" "01" "07" "04112233445566" "05")
    assert kdf.sector_key(MASTER, UID7, 5, "A", 1) == an10922_aes128(MASTER, m)[:6]
    m = h("11" "02" "04" "a1b2c3d4000000" "27")  # key B, version 2, 4-byte UID zero-padded, sector 39
    assert kdf.sector_key(MASTER, UID4, 39, 0x61, 2) == an10922_aes128(MASTER, m)[:6]


def test_card_mac_key_input_layout():
    assert kdf.purse_mac_key(MASTER, UID7, 3) == an10922_aes128(MASTER, h("20" "03" "07" "04112233445566" "00"))
    assert kdf.load_mac_key(MASTER, UID4, 3) == an10922_aes128(MASTER, h("21" "03" "04" "a1b2c3d4000000" "00"))


def test_journal_key_input_layout():
    # terminal 12345678 = 0x00BC614E, big-endian, as a 4-byte "UID"
    m = h("30" "01" "04" "00bc614e000000" "00")
    assert kdf.journal_key(MASTER, 12345678, 1) == an10922_aes128(MASTER, m)


def test_record_mac_input_layout():
    key = h("00112233445566778899aabbccddeeff")
    body = bytes(range(24))
    header = h("53" "07" "04112233445566" "01" "09")  # SLOT, uid_len, uid, layout 1, key_version 9
    assert kdf.record_mac(key, RecordType.SLOT, UID7, 9, body) == aes_cmac(key, header + body)[:8]
    header = h("49" "04" "a1b2c3d4000000" "02" "09")
    assert kdf.record_mac(key, RecordType.IDENTITY, UID4, 9, body, layout_version=2) == \
        aes_cmac(key, header + body)[:8]


def test_sector_key_accepts_both_key_type_spellings():
    assert kdf.sector_key(MASTER, UID7, 3, "A", 1) == kdf.sector_key(MASTER, UID7, 3, 0x60, 1)
    assert kdf.sector_key(MASTER, UID7, 3, "B", 1) == kdf.sector_key(MASTER, UID7, 3, 0x61, 1)
    assert len(kdf.sector_key(MASTER, UID7, 3, "A", 1)) == 6


# --- derivations: separation properties ---------------------------------------------------------

def test_every_purpose_gives_a_different_key():
    derived = [
        kdf.sector_key(MASTER, UID7, 0, "A", 1),
        kdf.sector_key(MASTER, UID7, 0, "B", 1),
        kdf.purse_mac_key(MASTER, UID7, 1)[:6],
        kdf.load_mac_key(MASTER, UID7, 1)[:6],
    ]
    assert len(set(derived)) == len(derived)
    assert kdf.purse_mac_key(MASTER, UID7, 1) != kdf.load_mac_key(MASTER, UID7, 1)


def test_every_sector_gives_a_different_key():
    derived = {kdf.sector_key(MASTER, UID7, s, t, 1) for s in range(40) for t in "AB"}
    assert len(derived) == 80


def test_version_uid_and_master_separate_keys():
    base = kdf.purse_mac_key(MASTER, UID7, 1)
    assert kdf.purse_mac_key(MASTER, UID7, 2) != base
    assert kdf.purse_mac_key(MASTER, h("04112233445567"), 1) != base
    assert kdf.purse_mac_key(bytes(16), UID7, 1) != base
    # A 4-byte UID and the same bytes zero-padded to 7 differ through uid_len.
    assert kdf.purse_mac_key(MASTER, UID4, 1) != kdf.purse_mac_key(MASTER, UID4 + bytes(3), 1)


def test_journal_keys_differ_per_terminal_and_from_card_keys():
    assert kdf.journal_key(MASTER, 31000001, 1) != kdf.journal_key(MASTER, 31000002, 1)
    assert kdf.journal_key(MASTER, 31000001, 1) != kdf.journal_key(MASTER, 31000001, 2)
    # Same 4 "UID" bytes as a card UID: the purpose byte keeps them apart.
    assert kdf.journal_key(MASTER, 12345678, 1) != kdf.purse_mac_key(MASTER, h("00bc614e"), 1)


# --- record MACs ----------------------------------------------------------------------------------

def _slot_body(**changes):
    fields = dict(seq=7, balance=5000, day=9100, day_spent=0, kind=2, amount=5000, terminal=0,
                  txn=1, mac=bytes(8))
    fields.update(changes)
    return PurseSlot.build(fields)[:24]


def test_record_mac_binds_everything():
    key = kdf.purse_mac_key(MASTER, UID7, 1)
    body = _slot_body()
    mac = kdf.record_mac(key, RecordType.SLOT, UID7, 1, body)
    assert len(mac) == 8
    assert kdf.verify_record_mac(key, RecordType.SLOT, UID7, 1, body, mac)
    others = [
        kdf.record_mac(key, RecordType.LOG, UID7, 1, body),  # record type
        kdf.record_mac(key, RecordType.SLOT, h("04112233445567"), 1, body),  # UID
        kdf.record_mac(key, RecordType.SLOT, UID7, 2, body),  # key version
        kdf.record_mac(key, RecordType.SLOT, UID7, 1, body, layout_version=2),  # layout version
        kdf.record_mac(key, RecordType.SLOT, UID7, 1, _slot_body(seq=8)),  # sequence counter
        kdf.record_mac(key, RecordType.SLOT, UID7, 1, _slot_body(balance=5001)),  # balance
        kdf.record_mac(kdf.load_mac_key(MASTER, UID7, 1), RecordType.SLOT, UID7, 1, body),  # key
    ]
    assert mac not in others
    assert len(set(others)) == len(others)


def test_verify_record_mac_rejects_tampering():
    key = kdf.purse_mac_key(MASTER, UID7, 1)
    body = _slot_body()
    mac = kdf.record_mac(key, RecordType.SLOT, UID7, 1, body)
    for i in range(8):
        bad = bytearray(mac)
        bad[i] ^= 0x01
        assert not kdf.verify_record_mac(key, RecordType.SLOT, UID7, 1, body, bad)
    assert not kdf.verify_record_mac(key, RecordType.SLOT, UID7, 1, body, mac[:7])
    assert not kdf.verify_record_mac(key, RecordType.SLOT, UID7, 1, body, mac + b"\x00")
    assert not kdf.verify_record_mac(key, RecordType.SLOT, UID7, 1, _slot_body(balance=99999), mac)


def test_verify_uses_constant_time_compare(monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(kdf.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    key = kdf.purse_mac_key(MASTER, UID7, 1)
    kdf.verify_record_mac(key, RecordType.SLOT, UID7, 1, bytes(24), bytes(8))
    assert calls


def test_firmware_compare_is_correct():
    assert fw_kdf.equal_ct(b"\x01\x02", b"\x01\x02")
    assert not fw_kdf.equal_ct(b"\x01\x02", b"\x01\x03")
    assert not fw_kdf.equal_ct(b"\x01\x02", b"\x01")
    assert fw_kdf.equal_ct(b"", b"")


# --- input validation (host and firmware raise the same exception types) -------------------------

BAD_CALLS = [
    ("sector_key", (bytes(15), UID7, 1, "A", 1), ValueError),
    ("sector_key", (MASTER, UID7, 40, "A", 1), ValueError),
    ("sector_key", (MASTER, UID7, -1, "A", 1), ValueError),
    ("sector_key", (MASTER, UID7, 1, "C", 1), ValueError),
    ("sector_key", (MASTER, UID7, 1, 0x62, 1), ValueError),
    ("sector_key", (MASTER, UID7, 1, True, 1), ValueError),
    ("sector_key", (MASTER, UID7, 1, "a", 1), ValueError),
    ("sector_key", (MASTER, UID7, "1", "A", 1), TypeError),
    ("sector_key", (MASTER, UID7, 1, "A", 256), ValueError),
    ("purse_mac_key", (MASTER, bytes(5), 1), ValueError),
    ("purse_mac_key", (MASTER, bytes(10), 1), ValueError),
    ("purse_mac_key", (MASTER, "0411223", 1), TypeError),
    ("purse_mac_key", (MASTER, UID7, -1), ValueError),
    ("purse_mac_key", (MASTER, UID7, 1.0), TypeError),
    ("purse_mac_key", ("0" * 16, UID7, 1), TypeError),
    ("load_mac_key", (bytes(17), UID7, 1), ValueError),
    ("journal_key", (MASTER, 100000000, 1), ValueError),
    ("journal_key", (MASTER, -1, 1), ValueError),
    ("journal_key", (MASTER, 12345678, 256), ValueError),
    ("record_mac", (MASTER, 0x00, UID7, 1, bytes(24)), ValueError),
    ("record_mac", (MASTER, RecordType.SLOT, UID7, 1, "body"), TypeError),
    ("record_mac", (MASTER, RecordType.SLOT, UID7, 1, bytes(24), 256), ValueError),
    ("record_mac", (bytes(8), RecordType.SLOT, UID7, 1, bytes(24)), ValueError),
]


@pytest.mark.parametrize("name, args, exc", BAD_CALLS, ids=[
    "%s-%d" % (c[0], i) for i, c in enumerate(BAD_CALLS)])
def test_bad_inputs_rejected_by_host_and_firmware(name, args, exc):
    with pytest.raises(exc):
        getattr(kdf, name)(*args)
    with pytest.raises(exc):
        getattr(fw_kdf, name)(*args)


# --- host == firmware on random inputs ------------------------------------------------------------

def test_tests_run_the_cryptolib_path_through_the_stand_in():
    # CPython has no cryptolib: tests/firmware/cryptolib.py (on the tests' path) stands in with the
    # port's API, so the firmware's cryptolib path (one CBC call per MAC) is what runs here; the
    # pure-Python fallback is checked on its own below.
    import cryptolib

    assert fw_aes.HAVE_CRYPTOLIB and fw_aes.AES128 is fw_aes.CryptolibAES128
    assert cryptolib.__file__.replace("\\", "/").endswith("tests/firmware/cryptolib.py")


@settings(max_examples=200)
@given(key=keys, block=st.binary(min_size=16, max_size=16))
def test_firmware_aes_matches_cryptography(key, block):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    assert fw_aes.PyAES128(key).encrypt_block(block) == enc.update(block) + enc.finalize()


@settings(max_examples=200)
@given(key=keys, msg=st.binary(min_size=0, max_size=80), cut=st.integers(0, 80))
def test_firmware_cmac_matches_host(key, msg, cut):
    c = fw_cmac.CMAC(key, fw_aes.PyAES128)
    expected = aes_cmac(key, msg)
    assert c.mac(msg) == expected
    assert c.mac_parts(msg[:cut], msg[cut:]) == expected
    assert c.subkeys() == cmac_subkeys(key)


@given(key=keys, m=st.binary(min_size=1, max_size=31))
def test_firmware_an10922_matches_host(key, m):
    assert fw_cmac.an10922(key, m) == an10922_aes128(key, m)


@given(master=keys, uid=uids, sector=sectors, key_type=st.sampled_from(["A", "B", 0x60, 0x61]),
       version=versions)
def test_firmware_sector_key_matches_host(master, uid, sector, key_type, version):
    assert fw_kdf.sector_key(master, uid, sector, key_type, version) == \
        kdf.sector_key(master, uid, sector, key_type, version)


@given(master=keys, uid=uids, version=versions)
def test_firmware_card_mac_keys_match_host(master, uid, version):
    assert fw_kdf.purse_mac_key(master, uid, version) == kdf.purse_mac_key(master, uid, version)
    assert fw_kdf.load_mac_key(master, uid, version) == kdf.load_mac_key(master, uid, version)


@given(master=keys, terminal=st.integers(0, 99999999), version=versions)
def test_firmware_journal_key_matches_host(master, terminal, version):
    assert fw_kdf.journal_key(master, terminal, version) == kdf.journal_key(master, terminal, version)


@given(key=keys, rtype=record_types, uid=uids, version=versions, layout=versions,
       body=st.binary(min_size=0, max_size=48), flip=st.integers(0, 63))
def test_firmware_record_mac_matches_host(key, rtype, uid, version, layout, body, flip):
    mac = kdf.record_mac(key, rtype, uid, version, body, layout)
    assert fw_kdf.record_mac(key, rtype, uid, version, body, layout) == mac
    assert fw_kdf.verify_record_mac(key, rtype, uid, version, body, mac, layout)
    bad = bytearray(mac)
    bad[flip % 8] ^= 1 << (flip // 8)
    assert not fw_kdf.verify_record_mac(key, rtype, uid, version, body, bad, layout)
    assert not kdf.verify_record_mac(key, rtype, uid, version, body, bad, layout)


def test_purpose_codes_are_distinct():
    codes = [Purpose.SECTOR_KEY_A, Purpose.SECTOR_KEY_B, Purpose.PURSE_MAC, Purpose.LOAD_MAC,
             Purpose.JOURNAL]
    assert len(set(codes)) == len(codes)
