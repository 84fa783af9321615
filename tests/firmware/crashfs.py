"""A fake filesystem that loses power on cue, for the journal's power-loss tests (dual-run).

It offers the part of `os` the journal uses (listdir, mkdir, remove, rename) and `open` (modes rb,
wb, ab), keeps every byte as soon as it is written (no cache: the harshest model), and counts the
calls that change something: creating or truncating a file, write, rename, remove, mkdir.
`arm(at, keep)` makes call number `at` (counted from the last reboot) lose power: a write keeps
only its first `keep` bytes (a seeded prefix with `seed`), any other call does nothing; then
PowerLoss is raised and every later call raises it too, until `reboot()` -- which invalidates
the files that were open, as a real power cycle does.
"""


class PowerLoss(BaseException):
    """Power failed: nothing after this point ran. BaseException so no `except Exception` eats it."""


_ENOENT = 2
_EEXIST = 17
_EBADF = 9
_EISDIR = 21


def prefix_length(seed, n):
    """A deterministic length in 1..n-1 (0 if n < 2) for a torn write of n bytes."""
    if n < 2:
        return 0
    x = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return 1 + (x >> 8) % (n - 1)


def _parent(path):
    i = path.rfind("/")
    return "/" if i <= 0 else path[:i]


class CrashFS:
    def __init__(self):
        self.files = {}  # path -> bytearray: what is on flash
        self.dirs = {"/": True}
        self.ops = 0  # changing calls since the last reboot
        self.log = []  # (call, path, bytes) of each changing call, for planning a sweep
        self.dead = False
        self._at = -1
        self._keep = 0
        self._seed = None
        self._generation = 0

    # ---- control -----------------------------------------------------------------------------

    def arm(self, at, keep=0, seed=None):
        """Lose power at changing call number `at`; a write there keeps `keep` bytes (None: all of
        them, the write completes and power fails before the call returns) or, with `seed`, a
        seeded strict prefix."""
        self._at = at
        self._keep = keep
        self._seed = seed

    def copy(self):
        """A powered-up filesystem holding the same bytes (to replay from one flash state)."""
        other = CrashFS()
        for path in self.files:
            other.files[path] = bytearray(self.files[path])
        for path in self.dirs:
            other.dirs[path] = True
        return other

    def reboot(self):
        self.dead = False
        self._at = -1
        self.ops = 0
        self.log = []
        self._generation += 1
        return self

    def _changing(self, call, path, nbytes=0):
        """Count one changing call; True when power fails at it."""
        if self.dead:
            raise PowerLoss("power is off")
        i = self.ops
        self.ops += 1
        self.log.append((call, path, nbytes))
        return i == self._at

    def _die(self):
        self.dead = True
        raise PowerLoss("power lost")

    def _alive(self):
        if self.dead:
            raise PowerLoss("power is off")

    # ---- os ----------------------------------------------------------------------------------

    def listdir(self, path):
        self._alive()
        path = path.rstrip("/") or "/"
        if path not in self.dirs:
            raise OSError(_ENOENT, path)
        prefix = path if path == "/" else path + "/"
        out = []
        for p in list(self.files) + list(self.dirs):
            if p != path and p.startswith(prefix) and "/" not in p[len(prefix):]:
                out.append(p[len(prefix):])
        out.sort()
        return out

    def mkdir(self, path):
        self._alive()
        path = path.rstrip("/") or "/"
        if path in self.dirs or path in self.files:
            raise OSError(_EEXIST, path)
        if _parent(path) not in self.dirs:
            raise OSError(_ENOENT, path)
        if self._changing("mkdir", path):
            self._die()
        self.dirs[path] = True

    def remove(self, path):
        self._alive()
        if path not in self.files:
            raise OSError(_ENOENT, path)
        if self._changing("remove", path):
            self._die()
        del self.files[path]

    def rename(self, old, new):
        """Atomic, and replaces an existing `new` (LittleFS semantics)."""
        self._alive()
        if old not in self.files:
            raise OSError(_ENOENT, old)
        if new in self.dirs or _parent(new) not in self.dirs:
            raise OSError(_EISDIR if new in self.dirs else _ENOENT, new)
        if self._changing("rename", new):
            self._die()
        self.files[new] = self.files.pop(old)

    def stat(self, path):
        self._alive()
        if path in self.dirs:
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if path in self.files:
            return (0x8000, 0, 0, 0, 0, 0, len(self.files[path]), 0, 0, 0)
        raise OSError(_ENOENT, path)

    def open(self, path, mode="r"):
        self._alive()
        if path in self.dirs:
            raise OSError(_EISDIR, path)
        if "r" in mode:
            if path not in self.files:
                raise OSError(_ENOENT, path)
        elif "w" in mode or "a" in mode:
            if _parent(path) not in self.dirs:
                raise OSError(_ENOENT, path)
            if "w" in mode or path not in self.files:
                if self._changing("create", path):
                    self._die()
                self.files[path] = bytearray()
        else:
            raise ValueError("mode %r not supported" % mode)
        return _File(self, path, "r" in mode)


class _File:
    def __init__(self, fs, path, reading):
        self._fs = fs
        self._path = path
        self._reading = reading
        self._pos = 0
        self._generation = fs._generation
        self._closed = False

    def _data(self):
        fs = self._fs
        if self._closed or fs._generation != self._generation:
            raise OSError(_EBADF, self._path)
        fs._alive()
        data = fs.files.get(self._path)
        if data is None:
            raise OSError(_ENOENT, self._path)  # deleted while open
        return data

    def readinto(self, buf):
        data = self._data()
        if not self._reading:
            raise OSError(_EBADF, "not open for reading")
        n = min(len(buf), len(data) - self._pos)
        if n <= 0:
            return 0
        buf[:n] = data[self._pos:self._pos + n]
        self._pos += n
        return n

    def read(self, n=-1):
        data = self._data()
        if not self._reading:
            raise OSError(_EBADF, "not open for reading")
        end = len(data) if n is None or n < 0 else min(len(data), self._pos + n)
        out = bytes(data[self._pos:end])
        self._pos = max(self._pos, end)
        return out

    def seek(self, offset, whence=0):
        self._data()
        if whence == 1:
            offset += self._pos
        elif whence == 2:
            offset += len(self._fs.files[self._path])
        self._pos = max(0, offset)
        return self._pos

    def write(self, buf):
        data = self._data()
        if self._reading:
            raise OSError(_EBADF, "not open for writing")
        fs = self._fs
        buf = bytes(buf)
        if fs._changing("write", self._path, len(buf)):
            keep = fs._keep
            if keep is None:
                keep = len(buf)
            elif fs._seed is not None:
                keep = prefix_length(fs._seed, len(buf))
            data.extend(buf[:min(keep, len(buf))])
            fs._die()
        data.extend(buf)  # appends only: the journal never writes inside a file
        return len(buf)

    def flush(self):
        self._data()

    def close(self):
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False
