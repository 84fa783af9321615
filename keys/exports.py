"""Role-scoped key exports and key-version rollover.

A reader export holds, per version, the sector-A master, the purse-MAC master and the reader's own
journal key (derived from the journal master for its terminal number): never key B, never the
load-MAC master, never the journal master. A workstation export holds sector A + B, purse and load
MAC masters. `to_keysets()` turns an export into the firmware's `KeySet`s.
"""
from icpurse.keys import keystore
from icpurse.keys.hierarchy import MAX_VERSION, Key, KeyVersion
from icpurse.protocol.crypto import kdf

TRANSPORT_ENV = "ICPURSE_TRANSPORT_PASSPHRASE"  # an export's passphrase, when not typed at a prompt
ROLES = {
    "reader": ("sector_a", "purse_mac", "journal"),  # journal = the terminal's derived key
    "workstation": ("sector_a", "sector_b", "purse_mac", "load_mac"),
}


class ExportError(ValueError):
    pass


def _domain(store):
    return getattr(store, "domain", store)  # a KeyDomain, or anything holding one


class RoleExport:
    """The keys one role receives: {version: {name: Key}}. Prints as KCVs only."""

    def __init__(self, role, issuer, current, versions, terminal=None, demo=False):
        if role not in ROLES:
            raise ExportError("unknown role %r (reader or workstation)" % (role,))
        for version, keys in versions.items():
            if set(keys) != set(ROLES[role]):
                raise ExportError("a %s export holds exactly %s (version %d has %s)"
                                  % (role, ", ".join(ROLES[role]), version, ", ".join(sorted(keys))))
        if role == "reader" and terminal is None:
            raise ExportError("a reader export is for one terminal number")
        self.role = role
        self.issuer = issuer
        self.current = current
        self.versions = versions
        self.terminal = terminal
        self.demo = demo

    def to_keysets(self):
        """firmware.keyring.KeySet per version, newest first (a reader's has no sector_b/load_mac)."""
        from icpurse.firmware.keyring import KeySet
        out = []
        for version in sorted(self.versions, reverse=True):
            k = {name: key.material for name, key in self.versions[version].items()}
            out.append(KeySet(version, k["sector_a"], k["purse_mac"], sector_b=k.get("sector_b"),
                              load_mac=k.get("load_mac"), journal=k.get("journal")))
        return out

    def to_keyring(self):
        from icpurse.firmware.keyring import KeyRing
        return KeyRing(self.to_keysets())

    def to_secret_dict(self):
        return {"role": self.role, "issuer": self.issuer, "current": self.current,
                "terminal": self.terminal, "demo": self.demo,
                "versions": {str(v): {n: k.material.hex() for n, k in keys.items()}
                             for v, keys in self.versions.items()}}

    @classmethod
    def from_secret_dict(cls, d):
        versions = {int(v): {n: Key(bytes.fromhex(h)) for n, h in keys.items()}
                    for v, keys in d["versions"].items()}
        return cls(d["role"], d["issuer"], d["current"], versions, d.get("terminal"), bool(d.get("demo")))

    def summary(self):
        out = {"role": self.role, "issuer": self.issuer, "terminal": self.terminal, "current": self.current,
               "versions": [{"version": v, "status": "current" if v == self.current else "",
                             "kcv": {n: k.kcv for n, k in self.versions[v].items()}}
                            for v in sorted(self.versions)]}
        if self.demo:
            out["warning"] = "INSECURE DEMO KEYS"
        return out

    def __repr__(self):
        return "RoleExport(%s, issuer=%d%s, versions=%s%s)" % (
            self.role, self.issuer, "" if self.terminal is None else ", terminal=%08d" % self.terminal,
            sorted(self.versions), ", INSECURE DEMO KEYS" if self.demo else "")


def _versions(domain, versions):
    if versions is None:
        return [v for v in (domain.current, domain.previous) if v is not None]
    for v in versions:
        domain.version(v)  # KeyError naming the version if absent
    return sorted(set(versions), reverse=True)


def reader_keyset(store, terminal_number, versions=None):
    """A store reader's keys for `terminal_number`: current and previous version by default."""
    domain = _domain(store)
    out = {}
    for v in _versions(domain, versions):
        kv = domain.version(v)
        out[v] = {"sector_a": kv["sector_a"], "purse_mac": kv["purse_mac"],
                  "journal": Key(kdf.journal_key(kv["journal"].material, terminal_number, v))}
    return RoleExport("reader", domain.issuer, domain.current, out, terminal_number, domain.demo)


def workstation_keyset(store, versions=None):
    """An issuance workstation's keys: every version by default (old cards are re-keyed at top-up)."""
    domain = _domain(store)
    chosen = sorted(domain.versions, reverse=True) if versions is None else _versions(domain, versions)
    out = {v: {n: domain.version(v)[n] for n in ROLES["workstation"]} for v in chosen}
    return RoleExport("workstation", domain.issuer, domain.current, out, None, domain.demo)


def rollover(store):
    """Make version n+1 (fresh masters) current; n becomes the previous version. Returns n+1."""
    domain = _domain(store)
    new = max(domain.versions) + 1
    if new > MAX_VERSION:
        raise ExportError("no key version left (the card field is one byte; %d is the last)" % MAX_VERSION)
    domain.add_version(KeyVersion.generate(new))
    return new


def save_export(path, export, passphrase, n=keystore.DEFAULT_N):
    """Write an export encrypted under a transport passphrase (the keystore envelope)."""
    keystore.write_envelope(path, keystore.seal(export.to_secret_dict(), passphrase,
                                                "%s-export" % export.role, n=n))


def load_export(path, passphrase):
    envelope = keystore.read_envelope(path)
    content = envelope.get("content") if isinstance(envelope, dict) else None
    if content not in ("reader-export", "workstation-export"):
        raise keystore.KeystoreError("%s is not a key export" % path)
    payload = keystore.unseal(envelope, passphrase, content)
    try:
        return RoleExport.from_secret_dict(payload)
    except (KeyError, TypeError, ValueError):
        raise keystore.Corrupted("corrupted export: malformed payload") from None
