"""NXP AN10922 AES-128 key diversification (§2.2): the diversified key is a CMAC-like MAC over
D = 0x01 ‖ M that is *always two blocks*: short inputs are padded to 32 bytes, not to 16, so for
len(D) <= 16 the result differs from plain AES-CMAC(K, D)."""
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from icpurse.protocol.crypto.cmac import BLOCK_SIZE, check_key, cmac_subkeys

DIV_CONSTANT_AES128 = 0x01
MAX_INPUT = 31  # D = constant ‖ M fills at most the two blocks


def an10922_aes128(master_key, m):
    """16-byte AES-128 key diversified from `master_key` with diversification input `m` (1..31 bytes)."""
    master_key = check_key(master_key, "master key")
    m = bytes(m)
    if not 1 <= len(m) <= MAX_INPUT:
        raise ValueError(
            "AN10922 diversification input must be 1..%d bytes, got %d" % (MAX_INPUT, len(m)))
    k1, k2 = cmac_subkeys(master_key)
    d = bytes([DIV_CONSTANT_AES128]) + m
    if len(d) < 2 * BLOCK_SIZE:
        d += b"\x80" + bytes(2 * BLOCK_SIZE - len(d) - 1)
        last_key = k2
    else:
        last_key = k1
    d = d[:BLOCK_SIZE] + bytes(a ^ b for a, b in zip(d[BLOCK_SIZE:], last_key))
    enc = Cipher(algorithms.AES(master_key), modes.CBC(bytes(BLOCK_SIZE))).encryptor()
    return (enc.update(d) + enc.finalize())[BLOCK_SIZE:]
