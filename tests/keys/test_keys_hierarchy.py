"""Key hierarchy: AES/KCV vectors, CSPRNG generation, keys that never print themselves."""
import json
import pickle

import pytest

from icpurse.keys import hierarchy
from icpurse.keys.hierarchy import MASTERS, Key, KeyDomain, KeyVersion, kcv
from icpurse.protocol.crypto.cmac import aes_encrypt_block

from keyhelpers import assert_no_material


def test_aes_ecb_fips197_c1():
    # FIPS-197 appendix C.1 (AES-128)
    key = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    pt = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert aes_encrypt_block(key, pt).hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


def test_kcv_published_vectors():
    # AES-128 of the zero block under the zero key is 66e94bd4ef8a2c3b884cfa59ca342b2e
    # (e.g. GCM spec test case 1, H = E(K, 0^128)); KCV = first 3 bytes
    assert kcv(bytes(16)) == "66E94B"
    # the FIPS-197 C.1 key encrypting the zero block: c6a13b37878f5b826f4f8162a1c8d879 (a widely
    # published AES-128 known answer)
    assert kcv(bytes(range(16))) == "C6A13B"


def test_kcv_refuses_wrong_length_without_echoing_it():
    with pytest.raises(ValueError) as e:
        Key(b"\x11" * 15)
    assert "11" not in str(e.value).replace("(AES-128)", "")


def test_generate_uses_the_csprng(monkeypatch):
    calls = []

    def fake_token_bytes(n):
        calls.append(n)
        return bytes([len(calls)]) * n

    monkeypatch.setattr(hierarchy.secrets, "token_bytes", fake_token_bytes)
    kv = KeyVersion.generate(1)
    assert calls == [16] * len(MASTERS)
    assert [kv[n].material for n in MASTERS] == [bytes([i]) * 16 for i in range(1, 6)]


def test_generated_masters_are_distinct_and_complete():
    d = KeyDomain.generate(issuer=7)
    kv = d.version(1)
    assert set(kv.masters) == {"sector_a", "sector_b", "purse_mac", "load_mac", "journal"}
    materials = {k.material for k in kv.masters.values()}
    assert len(materials) == 5 and all(len(m) == 16 for m in materials)
    assert d.current == 1 and d.previous is None


def test_repr_str_format_show_kcv_only(domain):
    key = domain.version(1)["sector_b"]
    for text in (repr(key), str(key), "%s" % key, "{}".format(key), f"{key:>40}", repr(domain),
                 repr(domain.version(1)), json.dumps(domain.summary())):
        assert_no_material(text, domain)
    assert repr(key) == "Key(kcv=%s)" % kcv(key.material)


def test_key_cannot_be_pickled(domain):
    with pytest.raises(TypeError):
        pickle.dumps(domain.version(1)["sector_a"])


def test_key_equality_is_by_value():
    assert Key(bytes(16)) == Key(bytes(16))
    assert Key(bytes(16)) != Key(b"\x01" * 16)


def test_summary_lists_kcvs_and_roles(domain):
    s = domain.summary()
    assert s["versions"][0]["kcv"] == {n: kcv(domain.version(1)[n].material) for n in MASTERS}
    assert s["roles"]["sector_b"] == ["workstation"] and "reader" not in s["roles"]["load_mac"]
    assert "warning" not in s


def test_secret_dict_round_trip(domain):
    again = KeyDomain.from_secret_dict(json.loads(json.dumps(domain.to_secret_dict())))
    assert again.version(1).masters == domain.version(1).masters
    assert (again.issuer, again.current, again.threshold, again.custodians) == (7, 1, 2, 3)


@pytest.mark.parametrize("version", [0, 256, True, "1"])
def test_version_range(version):
    with pytest.raises(ValueError):
        KeyVersion(version, {n: Key(bytes(16)) for n in MASTERS})


def test_missing_master_refused():
    with pytest.raises(ValueError, match="missing masters"):
        KeyVersion(1, {"sector_a": Key(bytes(16))})
