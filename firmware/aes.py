"""AES-128 block encryption for CMAC and AN10922 (encrypt only: neither needs the inverse cipher).

On the ESP32 `cryptolib` does the work. The WebAssembly MicroPython build (tests) has no cryptolib,
so a small pure-Python AES (FIPS-197) stands in: byte tables, round keys expanded once per key
object, the state held in 16 locals so the hot loop allocates nothing.
"""
try:
    import cryptolib as _cryptolib
except ImportError:  # WebAssembly build, CPython
    _cryptolib = None

from icpurse.protocol.mpy import const

_BLOCK_SIZE = const(16)
_KEY_SIZE = const(16)
_MODE_ECB = const(1)  # cryptolib's mode numbers
_MODE_CBC = const(2)
_ZERO_IV = bytes(16)

HAVE_CRYPTOLIB = _cryptolib is not None


def _check_key(key):
    if len(key) != _KEY_SIZE:
        raise ValueError("AES-128 key must be 16 bytes, got %d" % len(key))


# FIPS-197 Fig. 7 S-box; with the xtime table built only when the pure-Python cipher is first used
# (a device with cryptolib never pays for them).
_SBOX_HEX = (
    "637c777bf26b6fc53001672bfed7ab76ca82c97dfa5947f0add4a2af9ca472c0"
    "b7fd9326363ff7cc34a5e5f171d8311504c723c31896059a071280e2eb27b275"
    "09832c1a1b6e5aa0523bd6b329e32f8453d100ed20fcb15b6acbbe394a4c58cf"
    "d0efaafb434d338545f9027f503c9fa851a3408f929d38f5bcb6da2110fff3d2"
    "cd0c13ec5f974417c4a77e3d645d197360814fdc222a908846eeb814de5e0bdb"
    "e0323a0a4906245cc2d3ac629195e479e7c8376d8dd54ea96c56f4ea657aae08"
    "ba78252e1ca6b4c6e8dd741f4bbd8b8a703eb5664803f60e613557b986c11d9e"
    "e1f8981169d98e949b1e87e9ce5528df8ca1890dbfe6426841992d0fb054bb16"
)
_tables = []  # type: list  # [SBOX, MUL2] once built


def _get_tables():
    if not _tables:
        mul2 = bytearray(256)
        for i in range(256):
            mul2[i] = ((i << 1) ^ (0x1B if i & 0x80 else 0)) & 0xFF  # xtime: multiply by x in GF(2^8)
        _tables.append(bytes.fromhex(_SBOX_HEX))
        _tables.append(bytes(mul2))
    return _tables[0], _tables[1]


class PyAES128:
    """Pure-Python AES-128 encryption. `src` and `dst` of encrypt_into may be the same buffer."""

    def __init__(self, key):
        _check_key(key)
        sbox, mul2 = _get_tables()
        self._sbox = sbox
        self._mul2 = mul2
        # FIPS-197 §5.2 key expansion: 11 round keys, 176 bytes.
        w = bytearray(176)
        w[0:16] = key
        rcon = 1
        for i in range(16, 176, 4):
            t0 = w[i - 4]
            t1 = w[i - 3]
            t2 = w[i - 2]
            t3 = w[i - 1]
            if i % 16 == 0:  # RotWord, SubWord, Rcon
                t0, t1, t2, t3 = sbox[t1] ^ rcon, sbox[t2], sbox[t3], sbox[t0]
                rcon = mul2[rcon]
            w[i] = w[i - 16] ^ t0
            w[i + 1] = w[i - 15] ^ t1
            w[i + 2] = w[i - 14] ^ t2
            w[i + 3] = w[i - 13] ^ t3
        self._rk = w

    def encrypt_into(self, src, dst):
        S = self._sbox
        M2 = self._mul2
        rk = self._rk
        # State byte (row r, column c) is s[4c + r], as in FIPS-197 §3.4.
        s0 = src[0] ^ rk[0]
        s1 = src[1] ^ rk[1]
        s2 = src[2] ^ rk[2]
        s3 = src[3] ^ rk[3]
        s4 = src[4] ^ rk[4]
        s5 = src[5] ^ rk[5]
        s6 = src[6] ^ rk[6]
        s7 = src[7] ^ rk[7]
        s8 = src[8] ^ rk[8]
        s9 = src[9] ^ rk[9]
        s10 = src[10] ^ rk[10]
        s11 = src[11] ^ rk[11]
        s12 = src[12] ^ rk[12]
        s13 = src[13] ^ rk[13]
        s14 = src[14] ^ rk[14]
        s15 = src[15] ^ rk[15]
        for r in range(16, 160, 16):
            # Each column: SubBytes + ShiftRows pick a0..a3; MixColumns as
            # b_i = a_i ^ (a0^a1^a2^a3) ^ xtime(a_i ^ a_(i+1)); then AddRoundKey.
            a0 = S[s0]
            a1 = S[s5]
            a2 = S[s10]
            a3 = S[s15]
            t = a0 ^ a1 ^ a2 ^ a3
            n0 = a0 ^ t ^ M2[a0 ^ a1] ^ rk[r]
            n1 = a1 ^ t ^ M2[a1 ^ a2] ^ rk[r + 1]
            n2 = a2 ^ t ^ M2[a2 ^ a3] ^ rk[r + 2]
            n3 = a3 ^ t ^ M2[a3 ^ a0] ^ rk[r + 3]
            a0 = S[s4]
            a1 = S[s9]
            a2 = S[s14]
            a3 = S[s3]
            t = a0 ^ a1 ^ a2 ^ a3
            n4 = a0 ^ t ^ M2[a0 ^ a1] ^ rk[r + 4]
            n5 = a1 ^ t ^ M2[a1 ^ a2] ^ rk[r + 5]
            n6 = a2 ^ t ^ M2[a2 ^ a3] ^ rk[r + 6]
            n7 = a3 ^ t ^ M2[a3 ^ a0] ^ rk[r + 7]
            a0 = S[s8]
            a1 = S[s13]
            a2 = S[s2]
            a3 = S[s7]
            t = a0 ^ a1 ^ a2 ^ a3
            n8 = a0 ^ t ^ M2[a0 ^ a1] ^ rk[r + 8]
            n9 = a1 ^ t ^ M2[a1 ^ a2] ^ rk[r + 9]
            n10 = a2 ^ t ^ M2[a2 ^ a3] ^ rk[r + 10]
            n11 = a3 ^ t ^ M2[a3 ^ a0] ^ rk[r + 11]
            a0 = S[s12]
            a1 = S[s1]
            a2 = S[s6]
            a3 = S[s11]
            t = a0 ^ a1 ^ a2 ^ a3
            s12 = a0 ^ t ^ M2[a0 ^ a1] ^ rk[r + 12]
            s13 = a1 ^ t ^ M2[a1 ^ a2] ^ rk[r + 13]
            s14 = a2 ^ t ^ M2[a2 ^ a3] ^ rk[r + 14]
            s15 = a3 ^ t ^ M2[a3 ^ a0] ^ rk[r + 15]
            # Column 3 went straight into s12..s15: every input it needed was read above.
            s0 = n0
            s1 = n1
            s2 = n2
            s3 = n3
            s4 = n4
            s5 = n5
            s6 = n6
            s7 = n7
            s8 = n8
            s9 = n9
            s10 = n10
            s11 = n11
        # Final round: no MixColumns.
        dst[0] = S[s0] ^ rk[160]
        dst[1] = S[s5] ^ rk[161]
        dst[2] = S[s10] ^ rk[162]
        dst[3] = S[s15] ^ rk[163]
        dst[4] = S[s4] ^ rk[164]
        dst[5] = S[s9] ^ rk[165]
        dst[6] = S[s14] ^ rk[166]
        dst[7] = S[s3] ^ rk[167]
        dst[8] = S[s8] ^ rk[168]
        dst[9] = S[s13] ^ rk[169]
        dst[10] = S[s2] ^ rk[170]
        dst[11] = S[s7] ^ rk[171]
        dst[12] = S[s12] ^ rk[172]
        dst[13] = S[s1] ^ rk[173]
        dst[14] = S[s6] ^ rk[174]
        dst[15] = S[s11] ^ rk[175]

    def encrypt_block(self, block):
        if len(block) != _BLOCK_SIZE:
            raise ValueError("AES block must be 16 bytes, got %d" % len(block))
        out = bytearray(_BLOCK_SIZE)
        self.encrypt_into(block, out)
        return bytes(out)

    def cbc_last(self, msg, out):
        """The last block of AES-CBC(IV = 0) over `msg` (whole blocks) into `out` (16 bytes): a
        CBC-MAC. Chains in `out`; `msg` is not changed."""
        for i in range(_BLOCK_SIZE):
            out[i] = 0
        for off in range(0, len(msg), _BLOCK_SIZE):
            for i in range(_BLOCK_SIZE):
                out[i] ^= msg[off + i]
            self.encrypt_into(out, out)
        return out


class CryptolibAES128:
    """AES-128 encryption by the port's `cryptolib` (ESP32: mbedTLS / the AES peripheral).

    Callers pass distinct `src` and `dst` buffers: in-place use is not promised by every port.
    """

    def __init__(self, key):
        _check_key(key)
        self._key = bytes(key)
        self._aes = _cryptolib.aes(self._key, _MODE_ECB)
        self._tmp = bytearray(4 * _BLOCK_SIZE)  # CBC output of the records a reader MACs

    def encrypt_into(self, src, dst):
        self._aes.encrypt(src, dst)

    def cbc_last(self, msg, out):
        """One cryptolib call: AES-CBC (IV = 0) over `msg`, its last block into `out`."""
        n = len(msg)
        if n > len(self._tmp):
            self._tmp = bytearray(n)
        tmp = memoryview(self._tmp)[:n]
        _cryptolib.aes(self._key, _MODE_CBC, _ZERO_IV).encrypt(msg, tmp)
        out[:_BLOCK_SIZE] = tmp[n - _BLOCK_SIZE:n]
        return out

    def encrypt_block(self, block):
        if len(block) != _BLOCK_SIZE:
            raise ValueError("AES block must be 16 bytes, got %d" % len(block))
        return bytes(self._aes.encrypt(block))


# The cipher everything else uses: hardware-backed where the port has it.
AES128 = CryptolibAES128 if HAVE_CRYPTOLIB else PyAES128
