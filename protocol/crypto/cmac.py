"""AES-128-CMAC (NIST SP 800-38B, RFC 4493) on the host, via the `cryptography` package."""
from cryptography.hazmat.primitives import cmac as _cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 16
KEY_SIZE = 16  # AES-128 only: the cards' keys and the firmware fallback are AES-128
_RB = 0x87  # SP 800-38B constant R_128


def check_key(key, name="key"):
    """Bytes of an AES-128 key, or ValueError."""
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError("%s must be bytes, got %s" % (name, type(key).__name__))
    key = bytes(key)
    if len(key) != KEY_SIZE:
        raise ValueError("%s must be %d bytes (AES-128), got %d" % (name, KEY_SIZE, len(key)))
    return key


def aes_encrypt_block(key, block):
    """One AES-128 block encryption (ECB): the primitive SP 800-38B builds everything on."""
    key = check_key(key)
    if len(block) != BLOCK_SIZE:
        raise ValueError("block must be %d bytes, got %d" % (BLOCK_SIZE, len(block)))
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(bytes(block)) + enc.finalize()


def _double(block):
    """Multiply by x in GF(2^128): shift left one bit, reduce with R_128 when the MSB falls off."""
    n = int.from_bytes(block, "big") << 1
    if n >> 128:
        n = (n ^ _RB) & ((1 << 128) - 1)
    return n.to_bytes(BLOCK_SIZE, "big")


def cmac_subkeys(key):
    """(K1, K2) of SP 800-38B §6.1, from L = AES_K(0^128).

    `cryptography` keeps them internal; AN10922 and the firmware parity tests need them.
    """
    k1 = _double(aes_encrypt_block(key, bytes(BLOCK_SIZE)))
    return k1, _double(k1)


def aes_cmac(key, msg):
    """Full 16-byte AES-128-CMAC of `msg` (any length, including empty)."""
    c = _cmac.CMAC(algorithms.AES(check_key(key)))
    c.update(bytes(msg))
    return c.finalize()
