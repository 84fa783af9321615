"""AES-128-CMAC (NIST SP 800-38B / RFC 4493) and NXP AN10922 AES-128 diversification, MicroPython.

Same results as icpurse.protocol.crypto.cmac / .an10922 on the host. One CMAC object per key: the
AES key schedule and the subkeys K1, K2 are computed once. A MAC is the message laid out once in a
buffer the object keeps (padded, last block XORed with K1 or K2), then ONE AES-CBC pass over it
(IV = 0) whose last block is the MAC: with `cryptolib` (the ESP32) a single call into C, instead
of a Python loop per byte.
"""
from icpurse.firmware import aes as _aes
from icpurse.protocol.mpy import const

_BLOCK_SIZE = const(16)
_MAX_DIV_INPUT = const(31)  # AN10922: D = 0x01 ‖ M fills at most two blocks
_DIV_CONSTANT_AES128 = const(0x01)
_BUF = const(64)  # the records the reader MACs fit (header + 32-byte record = 3 blocks)


_MASK128 = (1 << 128) - 1
_ZEROS = memoryview(bytes(_BUF))  # padding is copied from here (one slice copy, not a loop)


def _double(v):
    """v * x in GF(2^128) (SP 800-38B subkey step): shift left one bit, 0x87 if the MSB fell off.
    (One 128-bit integer: a few C operations instead of a loop over 16 bytes.)"""
    return ((v << 1) & _MASK128) ^ (0x87 if v >> 127 else 0)


class CMAC:
    """AES-128-CMAC under one key. `cipher` is an AES class (default: aes.AES128)."""

    def __init__(self, key, cipher=None):
        self._cipher = (cipher or _aes.AES128)(key)
        self._out = bytearray(_BLOCK_SIZE)
        self._cipher.encrypt_into(_ZEROS[:_BLOCK_SIZE], self._out)
        # the subkeys as integers: the last block is XORed with one in a few C operations
        self._k1i = _double(int.from_bytes(self._out, "big"))
        self._k2i = _double(self._k1i)
        self._buf = bytearray(_BUF)

    def subkeys(self):
        return self._k1i.to_bytes(_BLOCK_SIZE, "big"), self._k2i.to_bytes(_BLOCK_SIZE, "big")

    def mac(self, msg):
        """16-byte CMAC of `msg`."""
        return self.mac_parts(msg)

    def _mac_of(self, n):
        """CMAC of the first `n` bytes laid out in self._buf (which has room for the padding)."""
        buf = self._buf
        if n and n % _BLOCK_SIZE == 0:
            k = self._k1i  # complete last block
            end = n
        else:
            end = (n // _BLOCK_SIZE + 1) * _BLOCK_SIZE  # an empty message is one padded block
            buf[n] = 0x80
            buf[n + 1:end] = _ZEROS[:end - n - 1]
            k = self._k2i
        last = end - _BLOCK_SIZE
        buf[last:end] = (int.from_bytes(buf[last:end], "big") ^ k).to_bytes(_BLOCK_SIZE, "big")
        self._cipher.cbc_last(memoryview(buf)[:end], self._out)
        return bytes(self._out)

    def mac_parts(self, *chunks):
        """16-byte CMAC of the concatenation of `chunks`, without building it as a new object."""
        n = 0
        for chunk in chunks:
            n += len(chunk)
        if n + _BLOCK_SIZE > len(self._buf):
            self._buf = bytearray(n + _BLOCK_SIZE)
        buf = self._buf
        pos = 0
        for chunk in chunks:
            k = len(chunk)
            buf[pos:pos + k] = chunk
            pos += k
        return self._mac_of(n)

    def diversify(self, m):
        """AN10922 AES-128 diversified key (16 bytes) for input `m` (1..31 bytes), this key as master.

        D = 0x01 ‖ M is always processed as two blocks: padded 80 00.. to 32 bytes and the second
        block XORed with K2, or with K1 when D is exactly 32 bytes.
        """
        n = len(m)
        if not 1 <= n <= _MAX_DIV_INPUT:
            raise ValueError("AN10922 diversification input must be 1..31 bytes, got %d" % n)
        buf = self._buf
        buf[0] = _DIV_CONSTANT_AES128
        buf[1:n + 1] = m
        if n + 1 < 2 * _BLOCK_SIZE:
            buf[n + 1] = 0x80
            buf[n + 2:2 * _BLOCK_SIZE] = _ZEROS[:2 * _BLOCK_SIZE - n - 2]
            k = self._k2i
        else:
            k = self._k1i
        buf[_BLOCK_SIZE:2 * _BLOCK_SIZE] = (int.from_bytes(buf[_BLOCK_SIZE:2 * _BLOCK_SIZE], "big") ^ k).to_bytes(
            _BLOCK_SIZE, "big")
        self._cipher.cbc_last(memoryview(buf)[:2 * _BLOCK_SIZE], self._out)
        return bytes(self._out)


def aes_cmac(key, msg):
    """One-shot 16-byte AES-128-CMAC (host: icpurse.protocol.crypto.cmac.aes_cmac)."""
    return CMAC(key).mac(msg)


def an10922(master, m):
    """One-shot AN10922 AES-128 diversification (host: an10922.an10922_aes128)."""
    return CMAC(master).diversify(m)
