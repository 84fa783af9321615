"""The tag contract: what one MIFARE Classic card in a reader's field offers to the code above it.

Written in the manner of nfcpy's `Device`: the docstrings of `Tag` are the contract, and every tag
implementation subclasses `Tag` and follows them:

    firmware.mifare.ClassicTag      the reader's PN532 (InDataExchange)
    host.readers.pcsc.PcscTag       a PC/SC reader (ACS ACR122U-style storage-card APDUs)
    host.readers.serial.SerialTag   the icpurse reader over USB (transparent CARD_* commands)
    hil.sim.tag.CardTag             a simulated card, driven directly (no PN532 frames)
    host.dumps.tag.DumpTag          a dump file, read-only (`icpurse audit card --dump`; its reads are
                                    held to the contract in tests/audit/test_audit_dump.py)

The purse protocol (firmware/purse.py), personalisation and the issuer tools use nothing else, so
they run unchanged on each. tests/sim/test_tag_contract.py holds every implementation to it.

Errors. Card failures raise a `MifareError`; its `status` is the PN532 status byte naming the cause
(0x14 `AuthError`, 0x13 `AccessDenied`, 0x01 `TagGone`), whatever the reader's own way of saying
it. Mistakes of the caller (a key that is not 6 bytes, data that is not 16 bytes, an operand out of
range, a block number that is not a byte) raise `ValueError` before anything reaches the card.
Failures of the reader itself (a PN532 that does not answer, a USB link that broke) raise that
reader's own errors (`PN532Error` subclasses, `ReaderLinkError` / `LinkTimeout`, pyscard's).

State after a failure. A card that answered with an error has lost its crypto session (a failed
authentication HALTs it; a refused command ends the session). The tag brings it back: the next
`authenticate` selects the card again first when needed (PN532: InListPassiveTarget; a PC/SC
reader and the icpurse reader do it inside their own authentication). So after any `MifareError`
the caller authenticates again and carries on; until then other commands fail with a
`MifareError`. If a different card answers the re-selection, or none, that is `TagGone`.
"""
from icpurse.firmware.codec import (
    MF_AUTH_A,
    MF_AUTH_B,
    MF_BLOCK_SIZE,
    MF_KEY_SIZE,
    ST_AUTH_ERROR,
    ST_INVALID_FRAME,
    ST_TIMEOUT,
)
from icpurse.firmware.pn532 import PN532Error
from icpurse.protocol.mifare.blocks import InvalidValueBlock, encode_value_block, value_of
from icpurse.protocol.mifare.geometry import sector_of_block, trailer_block
from icpurse.protocol.mpy import const

_OPERAND_MAX = const(0x7FFFFFFF)


class MifareError(PN532Error):
    """A card command failed; `status` is the PN532 status byte of the cause."""


class AuthError(MifareError):
    """Wrong key or key type for the sector, or no such block (status 0x14); the card is halted
    and the next `authenticate` selects it again."""


class AccessDenied(MifareError):
    """The card refused the command (status 0x13): access conditions, not a value block, no
    authenticated session for that sector, ..."""


class TagGone(MifareError):
    """The card did not answer (status 0x01), left the field, or is not the card that was selected."""


ValueBlockError = InvalidValueBlock  # 16 bytes that are not in value-block format (a ValueError)

_ERRORS = {ST_AUTH_ERROR: AuthError, ST_INVALID_FRAME: AccessDenied, ST_TIMEOUT: TagGone}


def card_error(status, message):
    """The MifareError for a PN532 status byte (AuthError, AccessDenied, TagGone, else MifareError)."""
    return _ERRORS.get(status, MifareError)(status, message)


class Tag:
    """One MIFARE Classic card in a reader's field, selected.

    Attributes (read-only):
      uid   bytes, 4 or 7: the card's UID (a 7-byte UID authenticates with its last 4 bytes)
      sak   int, the SAK the card answered the selection with (0x08 1K, 0x18 4K), or None when the
            reader does not tell
      atqa  int, the ATQA as the PN532 reports it (first byte on air in the high byte: 0x0004 for a
            1K card with a 4-byte UID), or None when the reader does not tell (PC/SC)

    Blocks are numbered as on the card (0..63 on a 1K, 0..255 on a 4K). Every memory command needs
    an authenticated session for the block's sector; commands of a sector need no new
    authentication until a block of another sector is used.
    """

    uid = None  # type: bytes
    sak = None  # type: int
    atqa = None  # type: int

    def authenticate(self, block, key, key_type=MF_AUTH_A):
        """Open a session for the sector of `block` with `key` (6 bytes) as key A (MF_AUTH_A, 0x60)
        or key B (MF_AUTH_B, 0x61).

        Raises AuthError when the key is wrong for that sector or the card has no such block (the
        card is then halted; the next `authenticate` selects it again), TagGone when the card does
        not answer or another card answers the re-selection. ValueError for a key that is not
        6 bytes or a key type that is neither A nor B."""
        raise NotImplementedError

    def read_block(self, block):
        """The 16 bytes of `block` (bytes). In a sector trailer key A reads as zeros, and key B
        too unless the access conditions let the key used read it.

        Raises AccessDenied when the access conditions refuse the read or the sector is not the
        authenticated one, TagGone when the card does not answer."""
        raise NotImplementedError

    def read_block_into(self, block, buf):
        """`read_block` into the first 16 bytes of `buf` (a bytearray, or a memoryview slice of
        a larger buffer); returns `buf`. Readers with their own buffers (the PN532) allocate
        nothing; the errors are those of `read_block`."""
        self._check_block(block)
        buf[:MF_BLOCK_SIZE] = self.read_block(block)
        return buf

    def read_blocks_into(self, block, count, buf):
        """`count` consecutive blocks from `block` into the first 16 * `count` bytes of `buf` (a
        bytearray or memoryview); returns `buf`. The blocks lie in one sector, and a sector trailer
        is only read on its own (`count` 1). Readers that read several blocks with one command
        (PC/SC storage-card READ BINARY with Le = 16 x n, "multiple blocks mode") do so; the others
        read block by block. The errors are those of `read_block` (AccessDenied for any refused
        block: the blocks before it may have been read into `buf`); ValueError for blocks that
        leave the sector or take in its trailer."""
        self._check_run(block, count)
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        for i in range(count):
            self.read_block_into(block + i, mv[i * MF_BLOCK_SIZE:(i + 1) * MF_BLOCK_SIZE])
        return buf

    def write_block(self, block, data):
        """Write 16 bytes to `block`. Block 0 is read-only on a genuine card.

        Raises AccessDenied when the access conditions refuse the write, TagGone when the card does
        not answer (the block may or may not have been written: read it back on the next tap).
        ValueError unless `data` is 16 bytes."""
        raise NotImplementedError

    def increment(self, block, amount):
        """Value of `block` + `amount` (0..0x7FFFFFFF) into the card's transfer buffer; `transfer`
        writes it. Nothing else may come between the two: the buffer lives only as long as the
        session. On PC/SC readers the pair goes out as one command at `transfer`, so an error of
        this step may be raised by `transfer` instead.

        Raises AccessDenied when `block` is not a value block or the access conditions refuse the
        operation, TagGone when the card does not answer. ValueError for an operand out of range."""
        raise NotImplementedError

    def decrement(self, block, amount):
        """Value of `block` - `amount` (0..0x7FFFFFFF) into the transfer buffer; as `increment`."""
        raise NotImplementedError

    def restore(self, block):
        """Value of `block` into the transfer buffer unchanged (to copy a value block with
        `transfer`); as `increment`."""
        raise NotImplementedError

    def transfer(self, block):
        """Write the transfer buffer to the value block `block` (same sector as the operation that
        filled it); the address bytes of `block` are kept.

        Raises AccessDenied when the buffer is empty or the access conditions refuse it (and, on
        PC/SC readers, for the errors of the operation before it), TagGone when the card does not
        answer: then the block holds either the old or the new value, or is not a value block any
        more (a torn write)."""
        raise NotImplementedError

    # --- on top of the primitives ------------------------------------------------------------
    def read_value(self, block):
        """The value of a value block; ValueBlockError (a ValueError) if `block` holds none."""
        return value_of(self.read_block(block))

    def write_value(self, block, value, addr=None):
        """Write a value block holding `value` with address byte `addr` (default: `block`)."""
        self.write_block(block, encode_value_block(value, block if addr is None else addr))

    # --- argument checks every implementation makes before talking to the card -----------------
    def _check_block(self, block):
        if not 0 <= block <= 0xFF:
            raise ValueError("block number out of range: %r" % (block,))

    def _check_auth(self, block, key, key_type):
        self._check_block(block)
        if key_type != MF_AUTH_A and key_type != MF_AUTH_B:
            raise ValueError("key type must be MF_AUTH_A or MF_AUTH_B")
        if len(key) != MF_KEY_SIZE:
            raise ValueError("a MIFARE key is 6 bytes")

    def _check_run(self, block, count):
        self._check_block(block)
        if count < 1:
            raise ValueError("block count must be at least 1, got %r" % (count,))
        if count > 1:
            sector = sector_of_block(block)
            last = block + count - 1
            if last > 0xFF or sector_of_block(last) != sector or last >= trailer_block(sector):
                raise ValueError("blocks %d..%d are not data blocks of one sector" % (block, last))

    def _check_data(self, block, data):
        self._check_block(block)
        if len(data) != MF_BLOCK_SIZE:
            raise ValueError("a block is 16 bytes, got %d" % len(data))

    def _check_operand(self, block, operand):
        self._check_block(block)
        if not 0 <= operand <= _OPERAND_MAX:
            raise ValueError("operand out of range: %r" % (operand,))
