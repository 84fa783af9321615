"""AES-128-CMAC (NIST SP 800-38B, RFC 4493) on the host, via the `cryptography` package."""
import hmac

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


def _xor(a, b, n):
    """`a` XOR `b` (equal lengths `n`) as one big-integer operation: no per-byte Python loop."""
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(n, "little")


class CmacBatch:
    """AES-128-CMAC of many messages of one length under one key, computed side by side.

    A CMAC is a CBC chain over the message's blocks (the last one padded and XORed with a subkey):
    each message's tag depends only on its own blocks. So block position j of *every* message is
    XORed with the chaining values of position j-1 and encrypted in one AES-ECB call over all the
    messages — a handful of `cryptography` calls for a whole batch instead of one CMAC object (and
    key schedule) per message. The tags are those of `aes_cmac` (tests hold them equal).

    Message i is `prefix` + `messages[i][:length]`: a constant header (e.g. a record MAC header)
    followed by the first `length` bytes of each message.
    """

    def __init__(self, key):
        key = check_key(key)
        self._ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        self._k1, self._k2 = cmac_subkeys(key)

    def tags(self, prefix, messages, length):
        """The full 16-byte tags, concatenated in the order of `messages` (bytes of 16 * n)."""
        prefix = bytes(prefix)
        n = len(messages)
        if n == 0:
            return b""
        total = len(prefix) + length
        blocks = max(1, -(-total // BLOCK_SIZE))
        chain = None
        for j in range(blocks):
            start, end = j * BLOCK_SIZE, min((j + 1) * BLOCK_SIZE, total)
            head = prefix[start:end] if start < len(prefix) else b""
            lo, hi = max(start - len(prefix), 0), end - len(prefix)
            last = j == blocks - 1
            pad = b""
            if last and end - start < BLOCK_SIZE:  # incomplete (or empty) last block: 10* padding
                pad = b"\x80" + bytes(BLOCK_SIZE - (end - start) - 1)
            if hi > lo:  # every block is head + a slice of its message + pad
                column = head + (pad + head).join([m[lo:hi] for m in messages]) + pad
            else:  # the block lies in the prefix: the same for every message
                column = (head + pad) * n
            if last:
                column = _xor(column, (self._k2 if pad else self._k1) * n, BLOCK_SIZE * n)
            if chain is not None:
                column = _xor(column, chain, BLOCK_SIZE * n)
            chain = self._ecb.update(column)
        return chain

    def matches(self, prefix, messages, length, macs):
        """[bool]: does `macs[i]` (a truncated tag: the first len(macs[i]) bytes, all of one length)
        match message i? The whole batch is compared in constant time first; only a batch that
        fails is compared message by message (each in constant time too)."""
        n = len(messages)
        if n == 0:
            return []
        size = len(macs[0])
        if not 0 < size <= BLOCK_SIZE or set(map(len, macs)) != {size}:
            raise ValueError("macs must all be 1..16 bytes of one length")
        tags = self.tags(prefix, messages, length)
        rest = bytes(BLOCK_SIZE - size)
        if size == BLOCK_SIZE:
            ours, theirs = tags, b"".join(macs)
        else:
            mask = (b"\xff" * size + rest) * n
            ours = (int.from_bytes(tags, "little") & int.from_bytes(mask, "little")).to_bytes(BLOCK_SIZE * n, "little")
            theirs = rest.join(macs) + rest
        if hmac.compare_digest(ours, theirs):
            return [True] * n
        return [hmac.compare_digest(tags[i * BLOCK_SIZE:i * BLOCK_SIZE + size], bytes(macs[i])) for i in range(n)]
