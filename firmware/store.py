"""What a reader keeps across reboots: keys in NVS (never a plain file), settings and the
blacklist in small files replaced atomically (temp file + rename).

NVS entries: "kv" = [current version, previous version]; "k<version>" = sector_a ‖ purse_mac ‖
journal key (16 bytes each) -- the debit role's keys only.
"""
import json
import os

from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.protocol.mpy import const

_KEYSET_SIZE = const(48)
_ENTRY = const(6)  # blacklist entry: card number, 6 BCD bytes
_RUN = const(64)  # entries read at once by blacklisted()


def _atomic_write(fs, open_fn, path, data):
    tmp = path + ".tmp"
    with open_fn(tmp, "wb") as f:
        f.write(data)
    fs.rename(tmp, path)


class Store:
    def __init__(self, nvs, root="/icpurse", fs=os, open_fn=open):
        self.nvs = nvs
        self.root = root
        self.fs = fs
        self.open_fn = open_fn
        self._buf = bytearray(_KEYSET_SIZE)
        self._entry = bytearray(_ENTRY)
        self._bl = None  # the blacklist file, open for blacklisted()
        self._bl_count = 0
        self._bl_index = b""  # every _RUN-th entry
        self._bl_run = bytearray(_RUN * _ENTRY)
        try:
            fs.mkdir(root)
        except OSError:
            pass

    def path(self, name):
        return self.root + "/" + name

    # --- keys ---------------------------------------------------------------------------------
    def key_versions(self):
        """(current, previous); 0 = none."""
        n = self.nvs.get_blob("kv", self._buf)
        if not n:
            return 0, 0
        return self._buf[0], self._buf[1]

    def save_keys(self, version, sector_a, purse_mac, journal, make_current=True):
        if not 1 <= version <= 255:
            raise ValueError("key version must be 1..255")
        for k in (sector_a, purse_mac, journal):
            if len(k) != 16:
                raise ValueError("keys are 16 bytes")
        self.nvs.set_blob("k%d" % version, bytes(sector_a) + bytes(purse_mac) + bytes(journal))
        current, previous = self.key_versions()
        if make_current and version != current:
            previous, current = current, version
        elif not current:
            current = version
        self.nvs.set_blob("kv", bytes((current, previous)))

    def erase_keys(self):
        """Every key set from NVS (the lab jumper: the reader becomes blank)."""
        for v in range(1, 256):
            self.nvs.erase("k%d" % v)
        self.nvs.erase("kv")

    def _keyset(self, version):
        if not version or not self.nvs.get_blob("k%d" % version, self._buf):
            return None
        b = bytes(self._buf)
        return b[:16], b[16:32], b[32:48]

    def keyring(self):
        """(KeyRing of the debit role, {version: journal key}, current version)."""
        ring = KeyRing()
        journal = {}
        current, previous = self.key_versions()
        for v in (current, previous):
            ks = self._keyset(v)
            if ks:
                ring.add(KeySet(v, ks[0], ks[1]))
                journal[v] = ks[2]
        return ring, journal, current

    # --- settings -----------------------------------------------------------------------------
    def load_config(self):
        try:
            with self.open_fn(self.path("config.json"), "rb") as f:
                return json.loads(f.read())
        except (OSError, ValueError):
            return {}

    def save_config(self, config):
        _atomic_write(self.fs, self.open_fn, self.path("config.json"), json.dumps(config).encode())

    # --- blacklist ----------------------------------------------------------------------------
    def blacklist(self):
        """(version, sorted entries as one bytes object)."""
        try:
            with self.open_fn(self.path("blacklist.bin"), "rb") as f:
                data = f.read()
        except OSError:
            return 0, b""
        if len(data) < 4 or (len(data) - 4) % _ENTRY:
            return 0, b""
        return int.from_bytes(data[:4], "little"), data[4:]

    def blacklisted(self, card_number):
        """Is `card_number` (6 BCD bytes) on the blacklist? The sorted file is searched where it
        lies: a small index in RAM (every 64th entry, read once) picks one run of 64 entries, read
        with one seek + readinto into a buffer kept for it. The heap does not grow with the list;
        a tap costs one flash read."""
        f = self._bl
        if f is None:
            if not self._open_blacklist():
                return False
            f = self._bl
        index, run = self._bl_index, self._bl_run
        lo, hi = 0, len(index) // _ENTRY  # the last indexed entry <= card_number
        while lo < hi:
            mid = (lo + hi) // 2
            if index[mid * _ENTRY:(mid + 1) * _ENTRY] <= card_number:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return False
        first = (lo - 1) * _RUN
        count = self._bl_count - first
        if count > _RUN:
            count = _RUN
        f.seek(4 + first * _ENTRY)
        f.readinto(memoryview(run)[:count * _ENTRY])
        lo, hi = 0, count
        while lo < hi:
            mid = (lo + hi) // 2
            e = run[mid * _ENTRY:(mid + 1) * _ENTRY]
            if e == card_number:
                return True
            if e < card_number:
                lo = mid + 1
            else:
                hi = mid
        return False

    def prepare(self):
        """At boot: open the blacklist and read its index, so the first tap allocates nothing for it."""
        if self._bl is None:
            self._open_blacklist()

    def _open_blacklist(self):
        try:
            f = self.open_fn(self.path("blacklist.bin"), "rb")
        except OSError:
            return False
        size = f.seek(0, 2)
        if size < 4 or (size - 4) % _ENTRY:
            f.close()
            return False
        count = (size - 4) // _ENTRY
        index = bytearray(((count + _RUN - 1) // _RUN) * _ENTRY)
        for i in range(len(index) // _ENTRY):
            f.seek(4 + i * _RUN * _ENTRY)
            f.readinto(memoryview(index)[i * _ENTRY:(i + 1) * _ENTRY])
        self._bl, self._bl_count, self._bl_index = f, count, bytes(index)
        return True

    def _close_blacklist(self):
        if self._bl is not None:
            self._bl.close()
            self._bl = None

    def stage_blacklist_chunk(self, offset, entries):
        """Append a received chunk to the staging file (offset 0 starts it afresh)."""
        path = self.path("blacklist.new")
        with self.open_fn(path, "wb" if offset == 0 else "ab") as f:
            f.write(entries)

    def commit_blacklist(self, version, total):
        """Sort the staged list and make it the blacklist, atomically; False if it is incomplete."""
        path = self.path("blacklist.new")
        try:
            with self.open_fn(path, "rb") as f:
                data = f.read()
        except OSError:
            return False
        if len(data) != total * _ENTRY:
            return False
        entries = sorted(data[i:i + _ENTRY] for i in range(0, len(data), _ENTRY))
        self._close_blacklist()
        _atomic_write(self.fs, self.open_fn, self.path("blacklist.bin"),
                      version.to_bytes(4, "little") + b"".join(entries))
        self.fs.remove(path)
        self.prepare()
        return True

