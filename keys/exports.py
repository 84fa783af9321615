"""Role-scoped key exports and key-version rollover: the key sets daily work runs on.

- A **reader** export holds, per version, the sector-A master, the purse-MAC master and the
  reader's own journal key (derived from the journal master for its terminal number): never key B,
  never the load-MAC master, never the journal master.
- A **workstation** export (sale, activation, personalisation, kiosk top-up, card lifecycle) holds
  sector A + B, purse and load MAC masters, and the back-office audit and data keys
  (keys/backoffice.py): it writes cards and the ledger. Never the journal master.
- A **collector** export (journal collection, day close, reconciliation, terminal audits) holds
  only what verifies: the journal master of each version (each terminal's journal key is derived
  from it: reader journals are MAC'd, so verifying a record means recomputing its MAC) and the audit
  key (it books redemptions and findings). No card key, no purse or load MAC master: it can neither
  read nor write a card.

Only the key ceremonies (`keys init / combine / rollover / export`) open the keystore's masters.
`to_keysets()` turns a reader or workstation export into the firmware's `KeySet`s.
"""
from icpurse.keys import backoffice, keystore
from icpurse.keys.hierarchy import MAX_VERSION, Key, KeyVersion
from icpurse.protocol.crypto import kdf

TRANSPORT_ENV = "ICPURSE_TRANSPORT_PASSPHRASE"  # an export's passphrase, when not typed at a prompt
ROLES = {
    "reader": ("sector_a", "purse_mac", "journal"),  # journal = the terminal's derived key
    "workstation": ("sector_a", "sector_b", "purse_mac", "load_mac"),
    "collector": ("journal",),  # journal = the master (verifies every terminal's records)
}
BACKOFFICE = {"reader": (), "workstation": ("audit", "data"), "collector": ("audit",)}
WHAT_FOR = {
    "reader": "a store reader (provisioning)",
    "workstation": "sale, activation, personalisation, kiosk top-up and card lifecycle at a workstation",
    "collector": "journal collection, day close, reconciliation and terminal audits (verification only)",
}


class ExportError(ValueError):
    pass


def _domain(store):
    return getattr(store, "domain", store)  # a KeyDomain, or anything holding one


class RoleExport:
    """The keys one role receives: {version: {name: Key}}. Prints as KCVs only."""

    def __init__(self, role, issuer, current, versions, terminal=None, demo=False, backoffice_keys=None):
        if role not in ROLES:
            raise ExportError("unknown role %r (%s)" % (role, ", ".join(sorted(ROLES))))
        for version, keys in versions.items():
            if set(keys) != set(ROLES[role]):
                raise ExportError("a %s export holds exactly %s (version %d has %s)"
                                  % (role, ", ".join(ROLES[role]), version, ", ".join(sorted(keys))))
        backoffice_keys = dict(backoffice_keys or {})
        if set(backoffice_keys) != set(BACKOFFICE[role]):
            raise ExportError("a %s export holds the back-office keys %s, not %s" % (
                role, ", ".join(BACKOFFICE[role]) or "none", ", ".join(sorted(backoffice_keys)) or "none"))
        if role == "reader" and terminal is None:
            raise ExportError("a reader export is for one terminal number")
        self.backoffice = backoffice_keys  # name -> backoffice.BackOfficeKey
        self.role = role
        self.issuer = issuer
        self.current = current
        self.versions = versions
        self.terminal = terminal
        self.demo = demo

    def audit_key(self):
        """The audit chain's key (bytes), or None (a reader export)."""
        k = self.backoffice.get("audit")
        return k.material if k is not None else None

    def data_key(self):
        """The ledger data key (bytes), or None (reader and collector exports)."""
        k = self.backoffice.get("data")
        return k.material if k is not None else None

    def journal_keys(self, terminal):
        """{key_version: `terminal`'s journal key} for every version (a collector export)."""
        return terminal_journal_keys(self, terminal)

    def to_keysets(self):
        """firmware.keyring.KeySet per version, newest first (a reader's has no sector_b/load_mac)."""
        from icpurse.firmware.keyring import KeySet

        if self.role == "collector":
            raise ExportError("a collector export holds no card keys: it cannot read or write a card")
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
                             for v, keys in self.versions.items()},
                "backoffice": {n: k.material.hex() for n, k in self.backoffice.items()}}

    @classmethod
    def from_secret_dict(cls, d):
        versions = {int(v): {n: Key(bytes.fromhex(h)) for n, h in keys.items()}
                    for v, keys in d["versions"].items()}
        bo = {n: backoffice.BackOfficeKey(bytes.fromhex(h)) for n, h in (d.get("backoffice") or {}).items()}
        return cls(d["role"], d["issuer"], d["current"], versions, d.get("terminal"), bool(d.get("demo")), bo)

    def summary(self):
        out = {"role": self.role, "issuer": self.issuer, "terminal": self.terminal, "current": self.current,
               "versions": [{"version": v, "status": "current" if v == self.current else "",
                             "kcv": {n: k.kcv for n, k in self.versions[v].items()}}
                            for v in sorted(self.versions)],
               "backoffice": {n: k.kcv for n, k in self.backoffice.items()}}
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
    """A store reader's keys for `terminal_number`: current and previous version by default. `store`
    may be that reader's own export (returned as it is)."""
    if isinstance(store, RoleExport):
        if store.role != "reader" or store.terminal != terminal_number:
            raise ExportError("a %s export is not the key set of terminal %08d" % (store.role, terminal_number))
        return store
    domain = _domain(store)
    out = {}
    for v in _versions(domain, versions):
        kv = domain.version(v)
        out[v] = {"sector_a": kv["sector_a"], "purse_mac": kv["purse_mac"],
                  "journal": Key(kdf.journal_key(kv["journal"].material, terminal_number, v))}
    return RoleExport("reader", domain.issuer, domain.current, out, terminal_number, domain.demo)


def _backoffice(domain, role):
    return {name: backoffice.derive(domain, name) for name in BACKOFFICE[role]}


def workstation_keyset(store, versions=None):
    """An issuance workstation's keys: every version by default (old cards are re-keyed at top-up),
    and the audit and data keys."""
    domain = _domain(store)
    chosen = sorted(domain.versions, reverse=True) if versions is None else _versions(domain, versions)
    out = {v: {n: domain.version(v)[n] for n in ROLES["workstation"]} for v in chosen}
    return RoleExport("workstation", domain.issuer, domain.current, out, None, domain.demo,
                      _backoffice(domain, "workstation"))


def collector_keyset(store, versions=None):
    """The back office's verification keys: the journal master of every version (journals of cards
    and readers of any version are collected) and the audit key."""
    domain = _domain(store)
    chosen = sorted(domain.versions, reverse=True) if versions is None else _versions(domain, versions)
    out = {v: {"journal": domain.version(v)["journal"]} for v in chosen}
    return RoleExport("collector", domain.issuer, domain.current, out, None, domain.demo,
                      _backoffice(domain, "collector"))


def keyset(store, role, terminal=None, versions=None):
    """The export of `role` ('reader' needs `terminal`) made from a KeyDomain."""
    if role == "reader":
        return reader_keyset(store, terminal, versions)
    if role == "workstation":
        return workstation_keyset(store, versions)
    if role == "collector":
        return collector_keyset(store, versions)
    raise ExportError("unknown role %r (%s)" % (role, ", ".join(sorted(ROLES))))


def terminal_journal_keys(store, terminal):
    """{key_version: journal key of `terminal`} for every version of a KeyDomain or a collector export."""
    if isinstance(store, RoleExport):
        if store.role != "collector":
            raise ExportError("a %s export cannot verify reader journals: use a collector export" % store.role)
        masters = {v: keys["journal"] for v, keys in store.versions.items()}
    else:
        domain = _domain(store)
        masters = {v: domain.version(v)["journal"] for v in domain.versions}
    return {v: kdf.journal_key(m.material, terminal, v) for v, m in masters.items()}


def rollover(store):
    """Make version n+1 (fresh masters) current; n becomes the previous version. Returns n+1."""
    domain = _domain(store)
    new = max(domain.versions) + 1
    if new > MAX_VERSION:
        raise ExportError("no key version left (the card field is one byte; %d is the last)" % MAX_VERSION)
    domain.add_version(KeyVersion.generate(new))
    return new


EXPORT_CONTENTS = tuple("%s-export" % r for r in ROLES)


def save_export(path, export, passphrase, n=keystore.DEFAULT_N):
    """Write an export encrypted under a transport passphrase (the keystore envelope)."""
    keystore.write_envelope(path, keystore.seal(export.to_secret_dict(), passphrase,
                                                "%s-export" % export.role, n=n, demo=export.demo))


def load_export(path, passphrase):
    envelope = keystore.read_envelope(path)
    content = envelope.get("content") if isinstance(envelope, dict) else None
    if content not in EXPORT_CONTENTS:
        raise keystore.KeystoreError("%s is not a key export" % path)
    payload = keystore.unseal(envelope, passphrase, content)
    try:
        return RoleExport.from_secret_dict(payload)
    except ExportError as e:
        raise keystore.KeystoreError("%s: %s; make it again with `icpurse keys export`" % (path, e)) from None
    except (KeyError, TypeError, ValueError):
        raise keystore.Corrupted("corrupted export: malformed payload") from None
