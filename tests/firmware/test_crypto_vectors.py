"""Firmware crypto (AES-128, CMAC, AN10922, icpurse KDF) against published vectors.

Dual-run: pytest (CPython) and MicroPython (tests/micropython/run.mjs). Plain asserts only. AES:
FIPS-197 App. B and C.1. CMAC: RFC 4493 §4 (= SP 800-38B). AN10922: NXP AN10922 §2.2.1 and AN10957
(docs/chip-facts.md "AN10922 diversification"). The icpurse KDF/MAC vectors were computed with the
HOST implementation (icpurse.protocol.crypto, built on the `cryptography` package and construct,
code independent of firmware/) and pasted in here.
"""
import mpytest

from icpurse.firmware import aes, cmac, codec, kdf

h = bytes.fromhex

RFC_KEY = h("2b7e151628aed2a6abf7158809cf4f3c")
RFC_MSG64 = h(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)
RFC_MACS = (
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
)

# KDF vectors: master key, UIDs (4- and 7-byte) -- expected values from the host implementation.
MASTER = h("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
UID7 = h("04a1b2c3d4e5f6")
UID4 = h("deadbeef")


def _ciphers():
    # The pure-Python fallback always; the port's cryptolib too where it exists (ESP32).
    out = [aes.PyAES128]
    if aes.HAVE_CRYPTOLIB:
        out.append(aes.CryptolibAES128)
    return out


def test_aes_fips197_c1():
    for cipher in _ciphers():
        c = cipher(h("000102030405060708090a0b0c0d0e0f"))
        assert c.encrypt_block(h("00112233445566778899aabbccddeeff")) == h("69c4e0d86a7b0430d8cdb78070b4c55a")


def test_aes_fips197_appendix_b():
    for cipher in _ciphers():
        c = cipher(RFC_KEY)
        assert c.encrypt_block(h("3243f6a8885a308d313198a2e0370734")) == h("3925841d02dc09fbdc118597196a0b32")


def test_aes_default_cipher_matches_fips197():
    c = aes.AES128(h("000102030405060708090a0b0c0d0e0f"))
    assert c.encrypt_block(h("00112233445566778899aabbccddeeff")) == h("69c4e0d86a7b0430d8cdb78070b4c55a")


def test_aes_encrypt_into_may_work_in_place():
    buf = bytearray(h("3243f6a8885a308d313198a2e0370734"))
    aes.PyAES128(RFC_KEY).encrypt_into(buf, buf)
    assert bytes(buf) == h("3925841d02dc09fbdc118597196a0b32")


def test_aes_key_object_is_reusable():
    c = aes.PyAES128(RFC_KEY)
    first = c.encrypt_block(h("3243f6a8885a308d313198a2e0370734"))
    c.encrypt_block(bytes(16))
    assert c.encrypt_block(h("3243f6a8885a308d313198a2e0370734")) == first


def test_aes_rejects_bad_sizes():
    with mpytest.raises(ValueError):
        aes.PyAES128(bytes(15))
    with mpytest.raises(ValueError):
        aes.AES128(bytes(24))  # AES-128 only
    with mpytest.raises(ValueError):
        aes.PyAES128(RFC_KEY).encrypt_block(bytes(15))


def test_cmac_rfc4493_subkeys():
    for cipher in _ciphers():
        k1, k2 = cmac.CMAC(RFC_KEY, cipher).subkeys()
        assert k1 == h("fbeed618357133667c85e08f7236a8de")
        assert k2 == h("f7ddac306ae266ccf90bc11ee46d513b")
    # L = AES_K(0^128), the value the subkeys come from.
    assert aes.PyAES128(RFC_KEY).encrypt_block(bytes(16)) == h("7df76b0c1ab899b33e42f047b91b546f")


def test_cmac_rfc4493_examples():
    for cipher in _ciphers():
        c = cmac.CMAC(RFC_KEY, cipher)
        for n, expected in RFC_MACS:
            assert c.mac(RFC_MSG64[:n]) == h(expected), n
    for n, expected in RFC_MACS:
        assert cmac.aes_cmac(RFC_KEY, RFC_MSG64[:n]) == h(expected), n


def test_cmac_parts_equal_whole_message():
    c = cmac.CMAC(RFC_KEY)
    for n, expected in RFC_MACS:
        msg = RFC_MSG64[:n]
        for cut in (0, 1, 15, 16, 17, n):
            if cut <= n:
                assert c.mac_parts(msg[:cut], msg[cut:]) == h(expected), (n, cut)
        assert c.mac_parts(memoryview(msg), b"") == h(expected)
    assert c.mac_parts() == h("bb1d6929e95937287fa37d129b756746")


def test_an10922_vector():
    m = h("04782E21801D80" "3042F5" "4E585020416275")  # UID ‖ AID ‖ "NXP Abu"
    assert cmac.an10922(h("00112233445566778899AABBCCDDEEFF"), m) == h("A8DD63A3B89D54B37CA802473FDA9175")


def test_an10922_short_input_pads_to_two_blocks():
    key = h("F3F9377698707B688EAF84ABE39E3791")
    assert cmac.an10922(key, h("04DEADBEEFFEED")) == h("0BB408BAFF98B6EE9F2E1585777F6A51")
    # Plain CMAC of D = 01 ‖ M pads to one block only: a different key.
    assert cmac.aes_cmac(key, h("0104DEADBEEFFEED")) == h("721E2C01E81AF85D815633969CEA2607")


def test_an10922_input_length_limits():
    c = cmac.CMAC(RFC_KEY)
    with mpytest.raises(ValueError):
        c.diversify(b"")
    with mpytest.raises(ValueError):
        c.diversify(bytes(32))
    # 31 bytes: D fills both blocks exactly (K1); that equals plain CMAC of the 32-byte D.
    m = RFC_MSG64[:31]
    assert c.diversify(m) == c.mac(b"\x01" + m)


def test_sector_keys():
    assert kdf.sector_key(MASTER, UID4, 1, "A", 1) == h("fa660bbe17f7")
    assert kdf.sector_key(MASTER, UID4, 1, "B", 1) == h("e5aa52a2b842")
    assert kdf.sector_key(MASTER, UID4, 1, codec.MF_AUTH_A, 1) == h("fa660bbe17f7")
    assert kdf.sector_key(MASTER, UID7, 39, 0x60, 2) == h("7064e6dcca29")
    assert kdf.sector_key(MASTER, UID7, 0, 0x61, 0) == h("d549f8a96d1e")


def test_card_mac_keys():
    assert kdf.purse_mac_key(MASTER, UID7, 1) == h("df171413e804c877c4e1941707e8b838")
    assert kdf.purse_mac_key(MASTER, UID4, 255) == h("fa3d1c0c3568cc8f020240e59a9c3b07")
    assert kdf.load_mac_key(MASTER, UID7, 1) == h("16d816d21bb9cfa103f1c86f7d39e34c")


def test_journal_key():
    assert kdf.journal_key(MASTER, 12345678, 1) == h("74eb2de9e94d04e752a2d5ac232f25c6")


def _slot_body():
    # seq 42, balance 1234.56 yuan, day 9000, spent 15.00, DEBIT 15.00 at terminal 31000001, txn 77
    rec = codec.encode_purse_slot(42, 123456, 9000, 1500, codec.TXN_DEBIT, 1500, 31000001, 77, bytes(8))
    body = rec[:24]
    assert body == h("2a00000040e201002823dc050003dc0500c105d9014d0000")
    return body


def test_record_macs():
    key = h("df171413e804c877c4e1941707e8b838")  # purse MAC key of UID7, version 1
    body = _slot_body()
    assert kdf.record_mac(key, codec.REC_SLOT, UID7, 1, body) == h("a99ab69e4cad5def")
    assert kdf.record_mac(key, codec.REC_LOG, UID7, 1, body) == h("48ace0789e23984c")
    assert kdf.record_mac(key, codec.REC_SLOT, UID4, 1, body) == h("19face55fc985c2c")
    assert kdf.record_mac(key, codec.REC_SLOT, UID7, 1, body, 2) == h("10990e973b43b3ab")


def test_verify_record_mac():
    key = h("df171413e804c877c4e1941707e8b838")
    body = _slot_body()
    good = h("a99ab69e4cad5def")
    assert kdf.verify_record_mac(key, codec.REC_SLOT, UID7, 1, body, good)
    assert kdf.verify_record_mac(key, codec.REC_SLOT, UID7, 1, bytearray(body), bytearray(good))
    bad = bytearray(good)
    bad[7] ^= 0x01
    assert not kdf.verify_record_mac(key, codec.REC_SLOT, UID7, 1, body, bad)
    assert not kdf.verify_record_mac(key, codec.REC_SLOT, UID7, 1, body, good[:7])
    assert not kdf.verify_record_mac(key, codec.REC_SLOT, UID7, 2, body, good)
    assert not kdf.verify_record_mac(key, codec.REC_LOG, UID7, 1, body, good)
    tampered = bytearray(body)
    tampered[4] ^= 0x80  # balance
    assert not kdf.verify_record_mac(key, codec.REC_SLOT, UID7, 1, tampered, good)


def test_kdf_rejects_bad_inputs():
    with mpytest.raises(ValueError):
        kdf.purse_mac_key(MASTER[:15], UID7, 1)
    with mpytest.raises(ValueError):
        kdf.purse_mac_key(MASTER, UID7 + b"\x00", 1)  # 8-byte UID
    with mpytest.raises(ValueError):
        kdf.purse_mac_key(MASTER, UID7, 256)
    with mpytest.raises(ValueError):
        kdf.sector_key(MASTER, UID7, 40, "A", 1)
    with mpytest.raises(ValueError):
        kdf.sector_key(MASTER, UID7, 1, "C", 1)
    with mpytest.raises(ValueError):
        kdf.sector_key(MASTER, UID7, 1, 0x62, 1)
    with mpytest.raises(ValueError):
        kdf.journal_key(MASTER, 100000000, 1)  # 9 digits
    with mpytest.raises(ValueError):
        kdf.record_mac(MASTER, 0x00, UID7, 1, bytes(24))
    with mpytest.raises(TypeError):
        kdf.sector_key(MASTER, UID7, "1", "A", 1)
