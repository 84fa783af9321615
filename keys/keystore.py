"""The encrypted keystore file: a versioned JSON envelope, scrypt + AES-256-GCM.

    {"format": "icpurse-keystore", "version": 1, "content": "domain" | "reader-export" | ...,
     "kdf": {"name": "scrypt", "n": 16384, "r": 8, "p": 1, "salt": <b64>},
     "cipher": {"name": "aes-256-gcm", "nonce": <b64>}, "ciphertext": <b64>}

Everything but the ciphertext is authenticated as associated data, so a changed header (say a
weaker `n`) fails like a wrong passphrase. Role exports use the same envelope with a transport
passphrase. Files are written atomically (temp file + rename) with mode 0600.

Cost: scrypt N = 2^17 (r = 8, p = 1: 128 MiB, a fraction of a second) by default and at least;
a weaker N is refused when a file is written and when one is read — except the INSECURE DEMO KEYS
(public keys under a public passphrase: the cost protects nothing there) and files written before
this policy at the earlier default 2^14 (read with a warning; `keys rollover` rewrites them at the
policy cost). Test-only low cost: `ICPURSE_TEST_WEAK_KDF=1` (set by tests/conftest.py, with a
warning logged the first time) lets any N >= 2 through. Never set it anywhere else.
"""
import base64
import binascii
import json
import logging
import os
import secrets
import tempfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from icpurse.keys.hierarchy import KeyDomain

FORMAT = "icpurse-keystore"
FORMAT_VERSION = 1
DEFAULT_N = MIN_N = 2 ** 17
LEGACY_N = 2 ** 14  # the default before MIN_N: such files are still read, with a warning
PASSPHRASE_ENV = "ICPURSE_KEYSTORE_PASSPHRASE"
TEST_ENV = "ICPURSE_TEST_WEAK_KDF"
_MAX_N = 2 ** 20  # refuse a file that would make us spend minutes and a gigabyte deriving
_MAXMEM = 2 ** 31  # scrypt memory limit: 128 * r * N bytes at _MAX_N and r = 8 is 1 GiB (+ slack)
_log = logging.getLogger(__name__)
_warned = set()


def _warn_once(what, message, *args):
    if what not in _warned:
        _warned.add(what)
        _log.warning(message, *args)


def weak_kdf_allowed():
    """True under the test-only low cost (ICPURSE_TEST_WEAK_KDF=1; module docstring)."""
    on = os.environ.get(TEST_ENV) == "1"
    if on:
        _warn_once("test", "%s=1: scrypt costs below 2^17 accepted (tests only, never in production)", TEST_ENV)
    return on


def check_cost(n, demo=False):
    """Refuse a scrypt N below the policy (module docstring)."""
    if n < 2 or n & (n - 1) or n > _MAX_N:
        raise ValueError("scrypt n must be a power of two, 2..%d" % _MAX_N)
    if n < MIN_N and not demo and not weak_kdf_allowed():
        raise KeystoreError("scrypt N = %d is below the minimum 2^17 (%d) for a file holding keys: use the "
                            "default --kdf-n" % (n, MIN_N))


class KeystoreError(Exception):
    """A keystore or export file that cannot be opened (messages never carry key material).
    `exit_code`: the icpurse command's exit code for it (1 refused; `Corrupted`: 5, integrity)."""

    exit_code = 1


class Corrupted(KeystoreError):
    """The file is damaged or not a keystore at all: an integrity problem, not a wrong input."""

    exit_code = 5


class WrongPassphrase(KeystoreError):
    def __init__(self):
        super().__init__("wrong passphrase or corrupted keystore")


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _unb64(text, what):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise Corrupted("corrupted keystore: %s is not base64" % what) from None


def _derive(passphrase, kdf):
    if not passphrase:
        raise KeystoreError("empty passphrase")
    return Scrypt(salt=kdf["salt"], length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
        passphrase.encode("utf-8"))


def _aad(header):
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(payload, passphrase, content, n=DEFAULT_N, r=8, p=1, demo=False):
    """The envelope (a dict) holding `payload` (a JSON-able dict) encrypted under `passphrase`.
    `demo`: the INSECURE DEMO KEYS (any cost accepted)."""
    check_cost(n, demo)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = {"format": FORMAT, "version": FORMAT_VERSION, "content": content,
              "kdf": {"name": "scrypt", "n": n, "r": r, "p": p, "salt": _b64(salt)},
              "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)}}
    key = _derive(passphrase, dict(salt=salt, n=n, r=r, p=p))
    plaintext = json.dumps(payload, sort_keys=True).encode("utf-8")
    return dict(header, ciphertext=_b64(AESGCM(key).encrypt(nonce, plaintext, _aad(header))))


def _header(envelope):
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise Corrupted("corrupted keystore: not an %s file" % FORMAT)
    if envelope.get("version") != FORMAT_VERSION:
        raise KeystoreError("unsupported keystore version %r (this icpurse reads %d)"
                            % (envelope.get("version"), FORMAT_VERSION))
    try:
        header = {k: envelope[k] for k in ("format", "version", "content", "kdf", "cipher")}
        kdf, cipher = header["kdf"], header["cipher"]
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p)):
            raise TypeError("scrypt parameters must be integers")  # "16384" or 16384.0 would reach Scrypt
        ok = (kdf["name"] == "scrypt" and cipher["name"] == "aes-256-gcm" and 2 <= n <= _MAX_N
              and not n & (n - 1) and 1 <= r <= 32 and 1 <= p <= 16 and "ciphertext" in envelope)
    except (KeyError, TypeError, ValueError):
        raise Corrupted("corrupted keystore: missing or malformed header fields") from None
    if not ok:
        raise Corrupted("corrupted keystore: unsupported or out-of-range kdf/cipher parameters")
    return header


def unseal(envelope, passphrase, content=None):
    """The payload dict of an envelope; WrongPassphrase / KeystoreError on any problem."""
    header = _header(envelope)
    if content is not None and header["content"] != content:
        raise KeystoreError("this file holds %r, not %r" % (header["content"], content))
    kdf = dict(header["kdf"], salt=_unb64(header["kdf"]["salt"], "salt"))
    nonce = _unb64(header["cipher"]["nonce"], "nonce")
    ciphertext = _unb64(envelope["ciphertext"], "ciphertext")
    if len(nonce) != 12 or len(kdf["salt"]) < 16:
        raise Corrupted("corrupted keystore: bad salt or nonce length")
    try:
        plaintext = AESGCM(_derive(passphrase, kdf)).decrypt(nonce, ciphertext, _aad(header))
    except InvalidTag:
        raise WrongPassphrase() from None
    try:
        payload = json.loads(plaintext)
    except ValueError:  # not raised in here: a JSONDecodeError carries the whole plaintext (.doc)
        payload = None
    if not isinstance(payload, dict):
        raise Corrupted("corrupted keystore: bad payload")
    n = kdf["n"]
    if n < MIN_N and not payload.get("demo") and not weak_kdf_allowed():
        if n < LEGACY_N:
            raise KeystoreError("this file is encrypted with scrypt N = %d, below the minimum 2^17: it is refused; "
                                "rebuild it at the default cost (`icpurse keys combine` from the components, or "
                                "`keys export` again)" % n)
        _warn_once(("legacy", n), "keystore encrypted with scrypt N = %d, below the policy 2^17: rewrite it "
                   "(`icpurse keys rollover` does, or `keys export` again)", n)
    return payload


def read_envelope(path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        raise KeystoreError("no such keystore: %s" % path) from None
    except (ValueError, UnicodeDecodeError):
        raise Corrupted("corrupted keystore: %s is not a complete JSON envelope (truncated?)" % path) from None


def write_atomic(path, data):
    """Write `data` to `path` via a 0600 temp file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".keystore-", dir=folder)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_envelope(path, envelope):
    write_atomic(path, (json.dumps(envelope, indent=1) + "\n").encode("utf-8"))


def save_keystore(path, domain, passphrase, n=DEFAULT_N):
    write_envelope(path, seal(domain.to_secret_dict(), passphrase, "domain", n=n, demo=domain.demo))


def load_keystore(path, passphrase):
    payload = unseal(read_envelope(path), passphrase, "domain")
    try:
        return KeyDomain.from_secret_dict(payload)
    except (KeyError, TypeError, ValueError):
        raise Corrupted("corrupted keystore: the key domain inside is malformed") from None


def keystore_n(path):
    """The scrypt cost of an existing file (re-used when it is rewritten)."""
    return int(_header(read_envelope(path))["kdf"]["n"])
