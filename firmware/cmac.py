"""AES-128-CMAC (NIST SP 800-38B / RFC 4493) and NXP AN10922 AES-128 diversification, MicroPython.

Same results as icpurse.protocol.crypto.cmac / .an10922 on the host. One CMAC object per key: the
AES round keys and the subkeys K1, K2 are computed once, and MACs reuse two 16-byte buffers.
"""
from icpurse.firmware import aes as _aes
from icpurse.protocol.mpy import const

_BLOCK_SIZE = const(16)
_MAX_DIV_INPUT = const(31)  # AN10922: D = 0x01 ‖ M fills at most two blocks
_DIV_CONSTANT_AES128 = const(0x01)


def _double(src):
    """src * x in GF(2^128) (SP 800-38B subkey step): shift left one bit, 0x87 if the MSB fell off."""
    out = bytearray(_BLOCK_SIZE)
    carry = 0
    for i in range(_BLOCK_SIZE - 1, -1, -1):
        b = src[i]
        out[i] = ((b << 1) | carry) & 0xFF
        carry = b >> 7
    if carry:
        out[_BLOCK_SIZE - 1] ^= 0x87
    return out


class CMAC:
    """AES-128-CMAC under one key. `cipher` is an AES class (default: aes.AES128)."""

    def __init__(self, key, cipher=None):
        self._enc = (cipher or _aes.AES128)(key).encrypt_into
        l_block = bytearray(_BLOCK_SIZE)
        self._enc(bytes(_BLOCK_SIZE), l_block)
        self._k1 = _double(l_block)
        self._k2 = _double(self._k1)
        self._x = bytearray(_BLOCK_SIZE)
        self._y = bytearray(_BLOCK_SIZE)

    def subkeys(self):
        return bytes(self._k1), bytes(self._k2)

    def mac(self, msg):
        """16-byte CMAC of `msg`."""
        return self.mac_parts(msg)

    def mac_parts(self, *chunks):
        """16-byte CMAC of the concatenation of `chunks`, without building it."""
        enc = self._enc
        x = self._x
        y = self._y
        for i in range(_BLOCK_SIZE):
            x[i] = 0
        fill = 0
        for chunk in chunks:
            for b in chunk:
                if fill == _BLOCK_SIZE:
                    # A full block that is not the last one: plain CBC step.
                    enc(x, y)
                    x, y = y, x
                    fill = 0
                x[fill] ^= b
                fill += 1
        if fill == _BLOCK_SIZE:
            k = self._k1  # complete last block
        else:
            x[fill] ^= 0x80  # padding 80 00..; an empty message is one padded block
            k = self._k2
        for i in range(_BLOCK_SIZE):
            x[i] ^= k[i]
        enc(x, y)
        return bytes(y)

    def diversify(self, m):
        """AN10922 AES-128 diversified key (16 bytes) for input `m` (1..31 bytes), this key as master.

        D = 0x01 ‖ M is always processed as two blocks: padded 80 00.. to 32 bytes and the second
        block XORed with K2, or with K1 when D is exactly 32 bytes.
        """
        n = len(m)
        if not 1 <= n <= _MAX_DIV_INPUT:
            raise ValueError("AN10922 diversification input must be 1..31 bytes, got %d" % n)
        d = bytearray(2 * _BLOCK_SIZE)
        d[0] = _DIV_CONSTANT_AES128
        d[1:n + 1] = m
        if n + 1 < 2 * _BLOCK_SIZE:
            d[n + 1] = 0x80
            k = self._k2
        else:
            k = self._k1
        x = self._x
        y = self._y
        for i in range(_BLOCK_SIZE):
            x[i] = d[i]
        self._enc(x, y)
        for i in range(_BLOCK_SIZE):
            y[i] ^= d[_BLOCK_SIZE + i] ^ k[i]
        self._enc(y, x)
        return bytes(x)


def aes_cmac(key, msg):
    """One-shot 16-byte AES-128-CMAC (host: icpurse.protocol.crypto.cmac.aes_cmac)."""
    return CMAC(key).mac(msg)


def an10922(master, m):
    """One-shot AN10922 AES-128 diversification (host: an10922.an10922_aes128)."""
    return CMAC(master).diversify(m)
