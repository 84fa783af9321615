"""INSECURE DEMO KEYS: a fixed keyset derived from a public string, for the demo and tests only.

Anyone can recompute these keys from this file. A card personalised with them is worth nothing.
Everything built from them (domain, exports, CLI output) says "INSECURE DEMO KEYS".
"""
import hashlib
import logging

from icpurse.keys.hierarchy import MASTERS, Key, KeyDomain, KeyVersion

WARNING = "INSECURE DEMO KEYS"
SEED = "icpurse INSECURE DEMO KEYS - public, never for real cards"
DEMO_ISSUER = 0xD0
DEMO_PASSPHRASE = "insecure-demo"  # the demo keystore's passphrase: public like the keys in it
_log = logging.getLogger(__name__)


def demo_master(name, version):
    return Key(hashlib.sha256(("%s|%s|v%d" % (SEED, name, version)).encode("ascii")).digest()[:16])


def demo_domain(versions=1):
    """The demo domain with key versions 1..`versions` (the last is current)."""
    _log.warning("%s in use (issuer %d): for demos and tests only", WARNING, DEMO_ISSUER)
    kvs = [KeyVersion(v, {name: demo_master(name, v) for name in MASTERS}, created="2000-01-01T00:00:00+00:00")
           for v in range(1, versions + 1)]
    return KeyDomain(DEMO_ISSUER, kvs, versions, name=WARNING, custodians=2, threshold=2, demo=True)
