"""Typed access to a parsed TOML table with error messages that name the file and key path."""
from __future__ import annotations

_MISSING = object()


class TomlShapeError(ValueError):
    """A TOML document with a missing, unknown or wrongly typed setting."""


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Reader:
    def __init__(self, data: dict, where: str, path: str = ""):
        self.data, self.where, self.path = data, where, path

    def _key(self, key):
        return "%s.%s" % (self.path, key) if self.path else key

    def fail(self, key, message):
        raise TomlShapeError("%s: %s: %s" % (self.where, self._key(key), message))

    def has(self, key):
        return key in self.data

    def allow(self, *keys):
        unknown = sorted(set(self.data) - set(keys))
        if unknown:
            raise TomlShapeError("%s: unknown setting%s %s%s (known: %s)" % (
                self.where, "s" if len(unknown) > 1 else "", ", ".join(self._key(k) for k in unknown),
                "", ", ".join(keys)))

    def _get(self, key, default):
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self.fail(key, "missing")
        return default

    def raw(self, key, default=_MISSING):
        return self._get(key, default)

    def str(self, key, default=_MISSING):
        v = self._get(key, default)
        if v is not default and not isinstance(v, str):
            self.fail(key, "must be text, got %r" % (v,))
        return v

    def bool(self, key, default=_MISSING):
        v = self._get(key, default)
        if v is not default and not isinstance(v, bool):
            self.fail(key, "must be true or false, got %r" % (v,))
        return v

    def int(self, key, default=_MISSING):
        v = self._get(key, default)
        if v is not default and (not _is_int(v) or v < 0):
            self.fail(key, "must be a whole number >= 0, got %r" % (v,))
        return v

    def fen(self, key, default=_MISSING):
        """Money: an integer number of fen; a float (e.g. 200.0) is refused, never rounded."""
        v = self._get(key, default)
        if v is not default and (not _is_int(v) or v < 0):
            self.fail(key, "must be an integer number of fen >= 0 (100 fen = 1 yuan), got %r" % (v,))
        return v

    def fen_list(self, key, default=_MISSING):
        v = self._get(key, default)
        if v is default:
            return v
        if not isinstance(v, list):
            self.fail(key, "must be a list of integer amounts in fen, got %r" % (v,))
        for i, item in enumerate(v):
            if not _is_int(item) or item <= 0:
                self.fail("%s[%d]" % (key, i), "must be a positive integer number of fen, got %r" % (item,))
        return list(v)

    def str_list(self, key, default=_MISSING):
        v = self._get(key, default)
        if v is default:
            return v
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.fail(key, "must be a list of text values, got %r" % (v,))
        return list(v)

    def table(self, key, required=False):
        v = self.data.get(key, _MISSING)
        if v is _MISSING:
            if required:
                self.fail(key, "missing table")
            v = {}
        if not isinstance(v, dict):
            self.fail(key, "must be a table, got %r" % (v,))
        return Reader(v, self.where, self._key(key))
