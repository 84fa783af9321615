"""PC/SC readers through pyscard: PC/SC part 3 storage-card APDUs as ACS ACR122U/ACR1252U speak them
(docs/simulator.md, "PC/SC: the storage-card persona"). `PcscTag` implements the tag contract (firmware/tag.py), so the purse
protocol and personalisation run unchanged on a PC/SC reader.

Value operations: the reader's `FF D7` APDUs combine a card INCREMENT/DECREMENT with a TRANSFER to
the same block, and RESTORE with a TRANSFER to another block of the sector. The tag interface has
the card's separate steps; `decrement`/`increment`/`restore` are therefore held until `transfer`
names the destination, then sent as one APDU — or, for a decrement into another block, as a
copy (restore + transfer) followed by a decrement of the destination, which ends in the same state.
"""
import time

from icpurse.host.codec import MF_AUTH_A, MF_BLOCK_SIZE, ST_AUTH_ERROR, ST_INVALID_FRAME, ST_TIMEOUT
from icpurse.firmware.tag import AccessDenied, AuthError, Tag, TagGone

OK = (0x90, 0x00)
KEY_SLOT = 0x00
# Historical bytes C0 C1 of the storage-card ATR (docs/chip-facts.md "PC/SC ATR"): card name.
ATR_CARD_NAMES = {(0x00, 0x01): ("1k", 0x08), (0x00, 0x02): ("4k", 0x18)}


class ReaderError(Exception):
    """No such reader, or the PC/SC service is not available."""


def _smartcard():
    try:
        import smartcard.System  # noqa: F401
        from smartcard import Exceptions
        from smartcard.System import readers
    except ImportError as e:  # pragma: no cover - pyscard is a dependency
        raise ReaderError("pyscard is not installed (pip install pyscard): %s" % e)
    return readers, Exceptions


def reader_names():
    readers, exc = _smartcard()
    try:
        return [str(r) for r in readers()]
    except exc.ListReadersException:
        return []
    except Exception as e:  # pcscd not running
        raise ReaderError("PC/SC service unavailable (is pcscd running?): %s" % e)


def card_kind_from_atr(atr):
    """('1k' | '4k', SAK) for a PC/SC storage-card ATR of MIFARE Classic, else None."""
    atr = bytes(atr)
    # 3B 8F 80 01 | 80 | 4F 0C A0 00 00 03 06 | SS=03 (ISO 14443A part 3) | C0 C1 | 00 00 00 00 | TCK
    if len(atr) >= 16 and atr[5:13] == bytes.fromhex("4F0CA00000030603"):
        return ATR_CARD_NAMES.get((atr[13], atr[14]))
    return None


class PcscReader:
    def __init__(self, name=None):
        self.requested = name
        names = reader_names()
        if not names:
            raise ReaderError("no PC/SC reader found (is the reader plugged in and pcscd running?)")
        if name is None:
            self.name = names[0]
        else:
            matches = [n for n in names if n == name] or [n for n in names if name.lower() in n.lower()]
            if not matches:
                raise ReaderError("no PC/SC reader matches %r; readers: %s" % (name, ", ".join(names)))
            self.name = matches[0]
        self.caps = {}  # what this reader was found to support (PcscTag.multi_block)

    def __str__(self):
        return "pcsc:%s" % self.name

    def wait_for_card(self, timeout=10.0):
        """Connect to the card on the reader, waiting up to `timeout` seconds; returns a PcscTag."""
        readers, exc = _smartcard()
        deadline = time.monotonic() + timeout
        last = None
        while True:
            reader = next((r for r in readers() if str(r) == self.name), None)
            if reader is None:
                raise ReaderError("reader %s disappeared" % self.name)
            conn = reader.createConnection()
            try:
                conn.connect()
                return PcscTag(conn, self.caps)
            except (exc.NoCardException, exc.CardConnectionException) as e:
                last = e
            if time.monotonic() >= deadline:
                raise TagGone(ST_TIMEOUT, "no card on %s (%s)" % (self.name, last))
            time.sleep(0.1)


class PcscTag(Tag):
    """The tag contract over PC/SC storage-card APDUs. `atqa` is None: PC/SC does not report it;
    `sak` comes from the ATR's card name. The reader re-selects a halted card itself."""

    def __init__(self, connection, reader_caps=None):
        self.conn = connection
        self._caps = {} if reader_caps is None else reader_caps  # shared by the tags of one reader
        atr = bytes(connection.getATR())
        kind = card_kind_from_atr(atr)
        if kind is None:
            raise AccessDenied(ST_INVALID_FRAME, "not a MIFARE Classic card (ATR %s)" % atr.hex(" ").upper())
        self.size, self.sak = kind
        self.atqa = None
        self._loaded_key = None
        self._pending = None  # held value operation: (op, block, operand)
        self._session = None  # (block, key, key type) of the last successful authentication

        data = self._apdu([0xFF, 0xCA, 0x00, 0x00, 0x00], TagGone, "UID")
        self.uid = bytes(data)

    def _apdu(self, apdu, error, what):
        from smartcard import Exceptions as exc

        try:
            data, sw1, sw2 = self.conn.transmit(list(apdu))
        except (exc.CardConnectionException, exc.NoCardException) as e:
            raise TagGone(ST_TIMEOUT, "card left the reader during %s: %s" % (what, e))
        if (sw1, sw2) != OK:
            status = {AuthError: ST_AUTH_ERROR, TagGone: ST_TIMEOUT}.get(error, ST_INVALID_FRAME)
            raise error(status, "%s refused (SW %02X %02X)" % (what, sw1, sw2))
        return bytes(data)

    def authenticate(self, block, key, key_type=MF_AUTH_A):
        self._check_auth(block, key, key_type)
        key = bytes(key)
        self._pending = None
        if key != self._loaded_key:
            self._apdu([0xFF, 0x82, 0x00, KEY_SLOT, 0x06] + list(key), AccessDenied, "load key")
            self._loaded_key = key
        self._session = None
        self._apdu([0xFF, 0x86, 0x00, 0x00, 0x05, 0x01, 0x00, block, key_type, KEY_SLOT], AuthError,
                   "authenticate block %d" % block)
        self._session = (block, key, key_type)

    def read_block(self, block):
        self._check_block(block)
        data = self._apdu([0xFF, 0xB0, 0x00, block, 0x10], AccessDenied, "read block %d" % block)
        if len(data) != 16:
            raise AccessDenied(ST_INVALID_FRAME, "read block %d returned %d bytes" % (block, len(data)))
        return data

    @property
    def multi_block(self):
        """Does the reader read several blocks with one READ BINARY? True / False once a read
        showed it (remembered for the reader's later cards), None until then."""
        return self._caps.get("multi_block")

    @multi_block.setter
    def multi_block(self, value):
        self._caps["multi_block"] = value

    def read_blocks_into(self, block, count, buf):
        """One READ BINARY with Le = 16 x `count` where the reader has "multiple blocks mode"
        (ACS ACR1252U / ACR1255U-J1 / ACM1252U: data blocks of one sector; docs/simulator.md). The
        first multi-block read on a reader finds out: a reader that refuses it while the same
        blocks then read one by one is taken not to have the mode (`multi_block` False) and is
        sent single-block reads from then on; the card is authenticated again before those, as a
        refused command may have ended its session."""
        self._check_run(block, count)
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        if count == 1 or self.multi_block is False:
            return Tag.read_blocks_into(self, block, count, buf)
        size = count * MF_BLOCK_SIZE
        try:
            data = self._apdu([0xFF, 0xB0, 0x00, block, size], AccessDenied, "read blocks %d..%d" % (
                block, block + count - 1))
            if len(data) != size:
                raise AccessDenied(ST_INVALID_FRAME, "read blocks %d..%d returned %d bytes" % (
                    block, block + count - 1, len(data)))
        except AccessDenied:
            if self.multi_block or self._session is None:
                raise
            self.authenticate(*self._session)
            Tag.read_blocks_into(self, block, count, buf)  # raises if the card itself refuses
            self.multi_block = False
            return buf
        self.multi_block = True
        mv[:size] = data
        return buf

    def write_block(self, block, data):
        self._check_data(block, data)
        data = bytes(data)
        self._apdu([0xFF, 0xD6, 0x00, block, 0x10] + list(data), AccessDenied, "write block %d" % block)

    def _hold(self, op, block, operand):
        self._check_operand(block, operand)
        self._pending = (op, block, operand)

    def increment(self, block, amount):
        self._hold(0x01, block, amount)

    def decrement(self, block, amount):
        self._hold(0x02, block, amount)

    def restore(self, block):
        self._hold(0x03, block, 0)

    def _value_apdu(self, op, block, operand):
        self._apdu([0xFF, 0xD7, 0x00, block, 0x05, op] + list(operand.to_bytes(4, "big")), AccessDenied,
                   "value operation on block %d" % block)

    def transfer(self, block):
        self._check_block(block)
        if self._pending is None:
            raise AccessDenied(ST_INVALID_FRAME, "transfer without a value operation")
        op, source, operand = self._pending
        self._pending = None
        if op == 0x03 or (source != block):
            # copy source -> block (FF D7 ... 03 target), then apply the operation on the target
            self._apdu([0xFF, 0xD7, 0x00, source, 0x02, 0x03, block], AccessDenied,
                       "copy block %d to %d" % (source, block))
            if op == 0x03 or operand == 0:
                return
        self._value_apdu(op, block, operand)
