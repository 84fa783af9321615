"""The back office's own keys, derived from the issuer's masters: the audit key (keys the ledger's
audit chain) and the ledger data key (encrypts holder ID numbers).

Both are HKDF-SHA256 of the journal master of the domain's *first* key version (so they survive
key rollovers: the audit chain and the encrypted ID numbers outlive every card key version), each
with its own label. They are 32 bytes, held by the exports that need them (a workstation export:
both; a collector export: the audit key only; a reader export: neither) and print as a check value
only: `BackOfficeKey` never shows its bytes.
"""
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIZE = 32
LABELS = {
    "audit": b"icpurse audit log key",  # the audit chain's HMAC key (host/ledger/audit.py)
    "data": b"icpurse ledger data key",  # holder ID numbers (host/ledger/holder_crypto.py)
}


class BackOfficeKey:
    """32 bytes of key material that print as their check value only."""

    __slots__ = ("_material",)

    def __init__(self, material):
        material = bytes(material)
        if len(material) != SIZE:
            raise ValueError("a back-office key is %d bytes, got %d" % (SIZE, len(material)))
        self._material = material

    @property
    def material(self):
        return self._material

    @property
    def kcv(self):
        """First 3 bytes of HMAC-SHA256(key, 'kcv'), upper-case hex: tells keys apart, reveals nothing."""
        return hmac.new(self._material, b"kcv", hashlib.sha256).digest()[:3].hex().upper()

    def __eq__(self, other):
        return isinstance(other, BackOfficeKey) and hmac.compare_digest(self._material, other._material)

    __hash__ = None

    def __repr__(self):
        return "BackOfficeKey(kcv=%s)" % self.kcv

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("key objects cannot be pickled")


def derive(domain, name) -> BackOfficeKey:
    """The back-office key `name` ('audit' or 'data') of a KeyDomain."""
    master = domain.version(min(domain.versions))["journal"].material
    return BackOfficeKey(HKDF(algorithm=hashes.SHA256(), length=SIZE, salt=None, info=LABELS[name]).derive(master))


def audit_key(domain) -> BackOfficeKey:
    return derive(domain, "audit")


def data_key(domain) -> BackOfficeKey:
    return derive(domain, "data")
