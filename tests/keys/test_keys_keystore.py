"""Encrypted keystore: round trip, refusals with nothing changed, atomic 0600 writes."""
import json
import os
import stat

import pytest

from icpurse.keys import demo as demo_keys
from icpurse.keys import keystore
from icpurse.keys.hierarchy import KeyDomain
from icpurse.keys.keystore import KeystoreError, WrongPassphrase

from keyhelpers import FAST_N, assert_no_material


@pytest.fixture
def saved(tmp_path, domain):
    path = tmp_path / "ks.json"
    keystore.save_keystore(str(path), domain, "correct horse", n=FAST_N)
    return path


def test_round_trip(saved, domain):
    again = keystore.load_keystore(str(saved), "correct horse")
    assert again.version(1).masters == domain.version(1).masters
    assert (again.issuer, again.current, again.name) == (domain.issuer, 1, "test")


def test_envelope_format_and_no_plaintext(saved, domain):
    text = saved.read_text()
    env = json.loads(text)
    assert env["format"] == "icpurse-keystore" and env["version"] == 1 and env["content"] == "domain"
    assert env["kdf"]["name"] == "scrypt" and env["kdf"]["n"] == FAST_N
    assert env["cipher"]["name"] == "aes-256-gcm"
    assert {"salt", "n", "r", "p"} <= set(env["kdf"]) and "nonce" in env["cipher"] and env["ciphertext"]
    assert_no_material(text, domain)
    assert "issuer" not in text  # even the domain metadata is inside the ciphertext


def test_default_and_minimum_cost_is_2_17():
    assert keystore.DEFAULT_N == keystore.MIN_N == 2 ** 17


def test_a_weak_cost_is_refused_outside_the_demo(tmp_path, monkeypatch):
    """Without the test-only switch, a keystore below N = 2^17 is neither written nor read; the
    INSECURE DEMO KEYS (public anyway) are."""
    monkeypatch.delenv(keystore.TEST_ENV)
    domain = KeyDomain.generate(7)
    with pytest.raises(keystore.KeystoreError, match="below the minimum"):
        keystore.save_keystore(str(tmp_path / "weak.json"), domain, "pass phrase", n=2)
    assert not (tmp_path / "weak.json").exists()
    with monkeypatch.context() as m:  # a file made weak (by a test-only writer) is refused when read
        m.setenv(keystore.TEST_ENV, "1")
        keystore.save_keystore(str(tmp_path / "weak.json"), domain, "pass phrase", n=2 ** 10)
    with pytest.raises(keystore.KeystoreError, match="below the minimum"):
        keystore.load_keystore(str(tmp_path / "weak.json"), "pass phrase")
    demo = demo_keys.demo_domain()
    keystore.save_keystore(str(tmp_path / "demo.json"), demo, demo_keys.DEMO_PASSPHRASE, n=2 ** 4)
    assert keystore.load_keystore(str(tmp_path / "demo.json"), demo_keys.DEMO_PASSPHRASE).demo


def test_a_legacy_2_14_keystore_is_read_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(keystore.TEST_ENV, "1")
    domain = KeyDomain.generate(7)
    keystore.save_keystore(str(tmp_path / "old.json"), domain, "pass phrase", n=keystore.LEGACY_N)
    monkeypatch.delenv(keystore.TEST_ENV)
    keystore._warned.clear()
    assert keystore.load_keystore(str(tmp_path / "old.json"), "pass phrase").issuer == 7
    assert "below the policy 2^17" in caplog.text


def test_file_mode_0600_and_no_temp_left(saved, tmp_path):
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["ks.json"]


def test_fresh_salt_and_nonce_each_save(tmp_path, domain):
    a, b = tmp_path / "a", tmp_path / "b"
    keystore.save_keystore(str(a), domain, "pw", n=FAST_N)
    keystore.save_keystore(str(b), domain, "pw", n=FAST_N)
    ea, eb = json.loads(a.read_text()), json.loads(b.read_text())
    assert ea["kdf"]["salt"] != eb["kdf"]["salt"] and ea["cipher"]["nonce"] != eb["cipher"]["nonce"]


def test_wrong_passphrase(saved):
    before = saved.read_bytes()
    with pytest.raises(WrongPassphrase, match="wrong passphrase or corrupted keystore"):
        keystore.load_keystore(str(saved), "Correct horse")
    assert saved.read_bytes() == before


@pytest.mark.parametrize("cut", [0, 1, 40, -30, -2])
def test_truncated_file(saved, cut):
    data = saved.read_bytes()
    saved.write_bytes(data[:cut])
    with pytest.raises(KeystoreError, match="corrupted keystore|wrong passphrase"):
        keystore.load_keystore(str(saved), "correct horse")


def _edit(path, fn):
    env = json.loads(path.read_text())
    fn(env)
    path.write_text(json.dumps(env))


def test_flipped_ciphertext_byte(saved):
    def flip(env):
        ct = bytearray(keystore.base64.b64decode(env["ciphertext"]))
        ct[5] ^= 1
        env["ciphertext"] = keystore.base64.b64encode(bytes(ct)).decode()
    _edit(saved, flip)
    with pytest.raises(WrongPassphrase):
        keystore.load_keystore(str(saved), "correct horse")


def test_header_is_authenticated(saved):
    # lowering the cost in the header must not go unnoticed
    _edit(saved, lambda env: env["kdf"].update(p=2))
    with pytest.raises(WrongPassphrase):
        keystore.load_keystore(str(saved), "correct horse")


@pytest.mark.parametrize("edit, message", [
    (lambda env: env.update(format="other"), "not an icpurse-keystore"),
    (lambda env: env.update(version=99), "unsupported keystore version"),
    (lambda env: env.pop("kdf"), "malformed header"),
    (lambda env: env["kdf"].update(n=3), "out-of-range"),
    (lambda env: env["kdf"].update(n=2 ** 30), "out-of-range"),
    (lambda env: env.update(ciphertext="***"), "not base64"),
    (lambda env: env.update(content="reader-export"), "holds 'reader-export'"),
])
def test_malformed_envelopes(saved, edit, message):
    _edit(saved, edit)
    with pytest.raises(KeystoreError, match=message):
        keystore.load_keystore(str(saved), "correct horse")


def test_missing_file(tmp_path):
    with pytest.raises(KeystoreError, match="no such keystore"):
        keystore.load_keystore(str(tmp_path / "nope.json"), "pw")


def test_rewrite_replaces_atomically(saved, domain, monkeypatch):
    before = saved.read_bytes()

    def boom(*a):
        raise OSError("disk full")
    monkeypatch.setattr(keystore.os, "replace", boom)
    with pytest.raises(OSError):
        keystore.save_keystore(str(saved), domain, "other", n=FAST_N)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == ["ks.json"]


def test_empty_passphrase_refused(tmp_path, domain):
    with pytest.raises(KeystoreError, match="empty passphrase"):
        keystore.save_keystore(str(tmp_path / "x"), domain, "", n=FAST_N)


def test_payload_must_be_a_json_object():
    with pytest.raises(KeystoreError, match="bad payload"):
        keystore.unseal(keystore.seal([1, 2], "pw", "domain", n=FAST_N), "pw")
