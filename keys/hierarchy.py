"""The key hierarchy of one issuer domain: versioned AES-128 masters, made from a CSPRNG.

Every per-card and per-terminal key is an AN10922 diversification of one of these masters
(`icpurse.protocol.crypto.kdf`). A `Key` never shows its bytes: repr/str give the key check
value (KCV) only, so a key that lands in a log line, an exception or a traceback leaks nothing.
"""
import hmac
import secrets
from datetime import datetime, timezone

from icpurse.protocol.crypto.cmac import KEY_SIZE, aes_encrypt_block, check_key

MAX_VERSION = 255  # the cards carry the key version in one byte
MAX_ISSUER = 0xFFFF  # identity record: issuer u16

# Master name -> (what it keys, which roles hold it). Order = display order.
MASTERS = {
    "sector_a": ("key A of every application sector", ("reader", "workstation")),
    "sector_b": ("key B of every sector (write, increment, trailers)", ("workstation",)),
    "purse_mac": ("identity, purse slot and log MACs", ("reader", "workstation")),
    "load_mac": ("issuer-only top-up evidence MACs", ("workstation",)),
    # per terminal: journal, link (USB link MACs), configuration (signed day configurations) and the
    # one-off transport key of the lab ceremony -- host/terminals/keys.py, docs/reader.md
    "journal": ("master of the readers' journal, link, configuration and transport keys (a reader gets "
                "only its own derived keys)", ("back office",)),
}


def kcv(material):
    """Key check value: the first 3 bytes of AES-ECB(key, 0^16), as upper-case hex."""
    return aes_encrypt_block(check_key(material), bytes(16))[:3].hex().upper()


class Key:
    """16 bytes of AES-128 key material that never prints itself."""

    __slots__ = ("_material",)

    def __init__(self, material):
        self._material = check_key(material)  # error messages name the length, never the bytes

    @classmethod
    def generate(cls):
        return cls(secrets.token_bytes(KEY_SIZE))

    @property
    def material(self):
        """The key bytes: hand them only to a cipher, a KDF or an encrypted file."""
        return self._material

    @property
    def kcv(self):
        return kcv(self._material)

    def __eq__(self, other):
        return isinstance(other, Key) and hmac.compare_digest(self._material, other._material)

    __hash__ = None  # keys are not dictionary keys; equality is constant-time

    def __repr__(self):
        return "Key(kcv=%s)" % self.kcv

    __str__ = __repr__

    def __format__(self, spec):
        return format(repr(self), spec)

    def __reduce__(self):  # no pickling: a pickle would carry the bytes in the clear
        raise TypeError("Key objects cannot be pickled")


def _check_version(version):
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        raise ValueError("key version must be 1..%d, got %r" % (MAX_VERSION, version))
    return version


class KeyVersion:
    """The five masters of one key version."""

    def __init__(self, version, masters, created=None):
        self.version = _check_version(version)
        missing = set(MASTERS) - set(masters)
        extra = set(masters) - set(MASTERS)
        if missing or extra:
            raise ValueError("key version %d: missing masters %s, unknown masters %s"
                             % (version, sorted(missing), sorted(extra)))
        self.masters = {name: masters[name] if isinstance(masters[name], Key) else Key(masters[name])
                        for name in MASTERS}
        self.created = created or datetime.now(timezone.utc).replace(microsecond=0).isoformat()

    @classmethod
    def generate(cls, version):
        return cls(version, {name: Key.generate() for name in MASTERS})

    def __getitem__(self, name):
        return self.masters[name]

    def kcvs(self):
        return {name: key.kcv for name, key in self.masters.items()}

    def __repr__(self):
        return "KeyVersion(%d, %s)" % (self.version, " ".join("%s=%s" % kv for kv in self.kcvs().items()))


class KeyDomain:
    """An issuer's key versions and which one is current (what the keystore holds)."""

    def __init__(self, issuer, versions, current, name="", custodians=3, threshold=2, demo=False):
        if not isinstance(issuer, int) or not 0 < issuer <= MAX_ISSUER:
            raise ValueError("issuer must be 1..%d, got %r" % (MAX_ISSUER, issuer))
        self.issuer = issuer
        self.name = name
        self.versions = {kv.version: kv for kv in versions}
        if current not in self.versions:
            raise ValueError("current key version %r is not in the domain" % (current,))
        self.current = current
        self.custodians = custodians
        self.threshold = threshold
        self.demo = demo

    @classmethod
    def generate(cls, issuer, name="", custodians=3, threshold=2):
        return cls(issuer, [KeyVersion.generate(1)], 1, name, custodians, threshold)

    def version(self, number):
        try:
            return self.versions[number]
        except KeyError:
            raise KeyError("the domain holds no key version %r" % (number,)) from None

    @property
    def previous(self):
        """The version before the current one (still on cards not yet re-keyed), or None."""
        older = [v for v in self.versions if v < self.current]
        return max(older) if older else None

    def add_version(self, key_version, make_current=True):
        if key_version.version in self.versions:
            raise ValueError("key version %d already exists" % key_version.version)
        self.versions[key_version.version] = key_version
        if make_current:
            self.current = key_version.version

    # The plaintext form lives only inside an encrypted envelope (keystore.py).
    def to_secret_dict(self):
        return {
            "issuer": self.issuer, "name": self.name, "current": self.current,
            "custodians": self.custodians, "threshold": self.threshold, "demo": self.demo,
            "versions": [{"version": kv.version, "created": kv.created,
                          "keys": {n: k.material.hex() for n, k in kv.masters.items()}}
                         for kv in sorted(self.versions.values(), key=lambda kv: kv.version)],
        }

    @classmethod
    def from_secret_dict(cls, d):
        versions = [KeyVersion(v["version"], {n: Key(bytes.fromhex(h)) for n, h in v["keys"].items()},
                               v.get("created")) for v in d["versions"]]
        return cls(d["issuer"], versions, d["current"], d.get("name", ""), d.get("custodians", 3),
                   d.get("threshold", 2), bool(d.get("demo", False)))

    def summary(self):
        """Versions, KCVs and roles: everything about the domain that is safe to print or --json."""
        out = {
            "issuer": self.issuer, "name": self.name, "current": self.current, "previous": self.previous,
            "custodians": self.custodians, "threshold": self.threshold,
            "versions": [{"version": kv.version, "created": kv.created,
                          "status": ("current" if kv.version == self.current else
                                     "previous" if kv.version == self.previous else "older"),
                          "kcv": kv.kcvs()}
                         for kv in sorted(self.versions.values(), key=lambda kv: kv.version)],
            "roles": {n: list(roles) for n, (_, roles) in MASTERS.items()},
        }
        if self.demo:
            out["warning"] = "INSECURE DEMO KEYS"
        return out

    def __repr__(self):
        return "KeyDomain(issuer=%d, current=%d, versions=%s%s)" % (
            self.issuer, self.current, sorted(self.versions), ", INSECURE DEMO KEYS" if self.demo else "")
