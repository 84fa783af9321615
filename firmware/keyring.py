"""Master keys a device holds, per key version, and the per-card keys derived from them.

Role scoping is by construction: a store reader's KeySet has no `sector_b` and no `load_mac`
master, so asking for a key B raises NoKey -- it cannot top up a card even by mistake.
"""
from icpurse.firmware import codec, kdf
from icpurse.protocol.mpy import const

MAD_KEY_A = codec.MAD_KEY_A
_CARDS_KEPT = const(8)
_CRYPTO1_KEY_SIZE = const(6)


class NoKey(Exception):
    """This device does not hold the master needed (role scoping)."""


class KeySet:
    """The masters of one key version (16-byte AES keys; None = not held by this role)."""

    def __init__(self, version, sector_a, purse_mac, sector_b=None, load_mac=None, journal=None):
        for master in (sector_a, purse_mac, sector_b, load_mac):
            if master is not None:
                kdf.check_master(master, version)  # once: per-card derivations skip the checks
        self.version = version
        self.sector_a = sector_a
        self.sector_b = sector_b
        self.purse_mac = purse_mac
        self.load_mac = load_mac
        self.journal = journal

    def role(self):
        return "issuer" if self.sector_b is not None else "reader"


class KeyRing:
    """Key sets by version; a reader holds the current and the previous version during rollover."""

    def __init__(self, keysets=()):
        self._sets = {}
        self._cards = {}  # (uid, version) -> CardKeys: the keys of recent cards, derived once
        self._versions = None
        for ks in keysets:
            self.add(ks)

    def add(self, keyset):
        self._sets[keyset.version] = keyset
        self._cards = {}
        self._versions = None

    def versions(self):
        """Held key versions, newest first (the same list each time until a set is added)."""
        if self._versions is None:
            self._versions = sorted(self._sets, reverse=True)
        return self._versions

    def keyset(self, version):
        try:
            return self._sets[version]
        except KeyError:
            raise NoKey("no key set of version %d" % version)

    def for_card(self, uid, version):
        """The card's keys; the last few cards' stay derived (a card tapped again costs no AES)."""
        k = (bytes(uid), version)
        keys = self._cards.get(k)
        if keys is None:
            keys = CardKeys(self.keyset(version), k[0])
            if len(self._cards) >= _CARDS_KEPT:
                self._cards = {}
            self._cards[k] = keys
        return keys


class CardKeys:
    """Keys of one card, derived on demand and cached for the tap (AN10922, firmware.kdf)."""

    def __init__(self, keyset, uid):
        self.keyset = keyset
        self.uid = uid
        self.version = keyset.version
        self._uid_len, self._uid7 = kdf.card_uid(uid)
        self._sector = {}
        self._mac = None
        self._load = None

    def sector_key(self, sector, key_type):
        if sector == 0 and key_type == codec.MF_AUTH_A:
            return MAD_KEY_A  # the public MAD key: any reader finds the application
        k = (sector, key_type)
        key = self._sector.get(k)
        if key is None:
            master = self.keyset.sector_a if key_type == codec.MF_AUTH_A else self.keyset.sector_b
            if master is None:
                raise NoKey("this device holds no key %s master" % ("A" if key_type == codec.MF_AUTH_A else "B"))
            purpose = codec.PURPOSE_SECTOR_KEY_A if key_type == codec.MF_AUTH_A else codec.PURPOSE_SECTOR_KEY_B
            # = kdf.sector_key(master, uid, sector, key_type, version): inputs checked at load
            key = kdf.derive(master, purpose, self.version, self._uid_len, self._uid7, sector)[:_CRYPTO1_KEY_SIZE]
            self._sector[k] = key
        return key

    @property
    def mac_key(self):
        if self._mac is None:
            # = kdf.purse_mac_key(master, uid, version): inputs checked at load
            self._mac = kdf.derive(self.keyset.purse_mac, codec.PURPOSE_PURSE_MAC, self.version, self._uid_len,
                                   self._uid7, 0)
        return self._mac

    @property
    def load_key(self):
        """Per-card key of the v2 credit record's seal: the issuer's only (NoKey on a reader)."""
        if self._load is None:
            if self.keyset.load_mac is None:
                raise NoKey("this device holds no load MAC master (only the issuer seals credits)")
            self._load = kdf.load_mac_key(self.keyset.load_mac, self.uid, self.version)
        return self._load
