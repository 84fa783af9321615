"""Corrupt and truncated keystores: `icpurse keys show / rollover` say what is wrong (exit 5 for a
damaged file, 1 for a wrong passphrase), print no traceback, and leave the file as it was."""
import base64
import json

import pytest
from click.testing import CliRunner

from icpurse.keys import keystore
from icpurse.host.keys_cmd import keys
from icpurse.keys.hierarchy import KeyDomain

PW = "correct horse"
N = 2 ** 10  # scrypt cost for tests: the format, not the cost, is under test


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("ks") / "keystore.json"
    keystore.save_keystore(str(path), KeyDomain.generate(issuer=7, name="t", custodians=3, threshold=2), PW, n=N)
    return path.read_bytes()


def _run(args, path):
    return CliRunner().invoke(keys, [*args, "--keystore", str(path)],
                              env={"ICPURSE_KEYSTORE_PASSPHRASE": PW})


def _assert_refused(tmp_path, content, code, words, commands=(("show",), ("rollover",))):
    path = tmp_path / "keystore.json"
    path.write_bytes(content)
    for cmd in commands:
        r = _run(cmd, path)
        assert r.exit_code == code, (cmd, r.output, r.exception)
        assert "Traceback" not in r.output
        for w in words:
            assert w in r.output, (w, r.output)
        assert path.read_bytes() == content  # rollover did not rewrite it
    assert [p.name for p in tmp_path.iterdir()] == ["keystore.json"]  # no temp file left


def test_good_keystore_opens(tmp_path, good_bytes):
    path = tmp_path / "keystore.json"
    path.write_bytes(good_bytes)
    r = _run(("show",), path)
    assert r.exit_code == 0 and "issuer 7" in r.output


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -200, -40, -2])
def test_truncated_keystore(tmp_path, good_bytes, cut):
    _assert_refused(tmp_path, good_bytes[:cut], 5, ["corrupted keystore", "truncated?"])


def _edit(good_bytes, fn):
    env = json.loads(good_bytes)
    fn(env)
    return json.dumps(env).encode()


def _set(*path_and_value):
    *path, value = path_and_value

    def fn(env):
        t = env
        for k in path[:-1]:
            t = t[k]
        t[path[-1]] = value
    return fn


@pytest.mark.parametrize("edit,words", [
    (_set("kdf", "n", "16384"), ["malformed header"]),  # was a TypeError from scrypt
    (_set("kdf", "n", 1024.0), ["malformed header"]),
    (_set("kdf", "r", 1.5), ["malformed header"]),
    (_set("kdf", "n", 2 ** 30), ["out-of-range"]),
    (_set("kdf", "salt", "!!!"), ["salt is not base64"]),
    (_set("kdf", "salt", 5), ["salt is not base64"]),
    (_set("cipher", "nonce", base64.b64encode(b"short").decode()), ["nonce"]),
    (_set("kdf", "cipher"), ["malformed header"]),
    (_set("format", "something-else"), ["not an icpurse-keystore file"]),
    (lambda env: env.pop("ciphertext"), ["out-of-range"]),
])
def test_damaged_header(tmp_path, good_bytes, edit, words):
    _assert_refused(tmp_path, _edit(good_bytes, edit), 5, ["corrupted keystore"] + words)


def test_changed_authenticated_header_or_ciphertext_fails_like_a_wrong_passphrase(tmp_path, good_bytes):
    def flip(env):
        ct = bytearray(base64.b64decode(env["ciphertext"]))
        ct[len(ct) // 2] ^= 1
        env["ciphertext"] = base64.b64encode(bytes(ct)).decode()

    for edit in (flip, _set("cipher", "nonce", base64.b64encode(bytes(12)).decode()), _set("kdf", "n", 2 ** 11)):
        _assert_refused(tmp_path, _edit(good_bytes, edit), 1, ["wrong passphrase or corrupted keystore"])
        (tmp_path / "keystore.json").unlink()


@pytest.mark.parametrize("content", [b"[]", b"null", b"\"icpurse\"", b"\xff\xfe\x00", b"{}"])
def test_not_a_keystore(tmp_path, content):
    _assert_refused(tmp_path, content, 5, ["corrupted keystore"])


def test_unsupported_version(tmp_path, good_bytes):
    _assert_refused(tmp_path, _edit(good_bytes, _set("version", 2)), 1, ["unsupported keystore version 2"])


def test_missing_keystore(tmp_path):
    r = _run(("show",), tmp_path / "absent.json")
    assert r.exit_code == 1 and "no such keystore" in r.output
    assert list(tmp_path.iterdir()) == []
