"""The PC/SC face of the virtual rig: a PC/SC part 3 storage-card persona like ACS ACR122U / ACR1252U.

Pure APDU logic, no sockets: `StorageCardPersona.transmit(apdu) -> rapdu` drives the ClassicCard that
sits in the deck's field, the way an ACS reader's firmware drives the card through its PN532.
`hil/sim/vpcd.py` carries these APDUs to and from pcscd.

Facts: the ACS ACR122U / ACR1252U API manuals and PC/SC part 3 (APDUs, status words, ATRs), as
docs/simulator.md lists them. Where the manuals are silent (marked [U] there) the choices are
documented in docs/simulator.md and next to the code below.
CPython only.
"""
from icpurse.host import codec
from icpurse.hil.sim.card import CardError
from icpurse.hil.sim.clock import SELECT
from icpurse.hil.sim.deck import REMOVE
from icpurse.protocol.mifare import geometry
from icpurse.protocol.mifare.blocks import InvalidValueBlock, decode_value_block, encode_value_block

SW_OK = b"\x90\x00"
SW_FAILED = b"\x63\x00"  # ACS: "the operation is failed" — every card/auth/access failure
SW_END_OF_DATA = b"\x62\x82"  # fewer bytes than Le (GET DATA UID)
SW_NOT_SUPPORTED = b"\x6a\x81"  # GET DATA ATS on a MIFARE Classic
SW_WRONG_LENGTH = b"\x67\x00"  # malformed APDU (Lc does not match the data)
SW_INS_UNKNOWN = b"\x6d\x00"
SW_CLA_UNKNOWN = b"\x6e\x00"

CLA_STORAGE = 0xFF
INS_GET_DATA = 0xCA
INS_LOAD_KEY = 0x82
INS_GENERAL_AUTH = 0x86
INS_AUTH_OBSOLETE = 0x88
INS_READ_BINARY = 0xB0
INS_READ_VALUE = 0xB1
INS_UPDATE_BINARY = 0xD6
INS_VALUE_OP = 0xD7

KEY_A, KEY_B = 0x60, 0x61
VB_STORE, VB_INCREMENT, VB_DECREMENT, VB_RESTORE = 0x00, 0x01, 0x02, 0x03
KEY_STRUCTURE_VOLATILE = 0x00  # ACR122U: the only key structure; 0x20 (non-volatile) is ACR128 only
KEY_SLOTS = 2  # ACR122U volatile key numbers 0x00..0x01
BLOCK = geometry.BLOCK_SIZE

# Card names in the PC/SC ATR (C0 C1), chosen from the SAK as ACS readers do
# (docs/chip-facts.md "PC/SC ATR").
_CARD_NAMES = {0x08: b"\x00\x01", 0x18: b"\x00\x02", 0x09: b"\x00\x26"}
# 3B 8F 80 01 | 80 4F 0C | RID A0 00 00 03 06 | SS 03 = ISO 14443 A part 3 | C0 C1 | 00 00 00 00 | TCK
_ATR_HEAD = bytes.fromhex("3B8F8001804F0CA000000306") + b"\x03"

class _Fail(Exception):
    """Answer with this status word (default 63 00) and nothing else."""

    def __init__(self, sw=SW_FAILED):
        Exception.__init__(self, sw.hex())
        self.sw = sw


def storage_atr(sak):
    """PC/SC part 3 ATR of an ISO 14443-3 storage card with this SAK; TCK = XOR of T0..last byte."""
    name = _CARD_NAMES.get(sak, bytes([0xFF, sak]))
    body = _ATR_HEAD + name + b"\x00\x00\x00\x00"
    tck = 0
    for b in body[1:]:
        tck ^= b
    return body + bytes([tck])


def parse_apdu(apdu):
    """Short APDU -> (cla, ins, p1, p2, data, le) with le None when absent (0 means 256 on the wire)."""
    if len(apdu) < 4:
        raise _Fail(SW_WRONG_LENGTH)
    cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
    body = apdu[4:]
    if not body:
        return cla, ins, p1, p2, b"", None
    if len(body) == 1:
        return cla, ins, p1, p2, b"", body[0]
    lc = body[0]
    if lc == 0 or len(body) not in (1 + lc, 2 + lc):  # extended APDUs: ACS storage commands do not use them
        raise _Fail(SW_WRONG_LENGTH)
    data = bytes(body[1:1 + lc])
    le = body[1 + lc] if len(body) == 2 + lc else None
    return cla, ins, p1, p2, data, le


class StorageCardPersona:
    """What an ACS ACR122U-style reader makes of the MIFARE Classic card in the field.

    Session model: the card in the field when the ATR is asked for is "the" card until it leaves the
    field (or is swapped); `card_changed()` tells the transport to report a removal. Loaded keys live
    in reader memory, so they survive card sessions (volatile = until the reader loses power).
    """

    def __init__(self, deck, clock=None):
        self.deck = deck
        self.clock = clock
        self.keys = [None] * KEY_SLOTS
        self.card = None  # card of the current session
        self._lost = False  # the session card left the field (even if it is back already)
        self._needs_select = False  # powered up / attached, not selected yet
        deck.add_listener(self._on_deck)

    def _on_deck(self, event, name, card):
        if event == REMOVE and card is self.card:
            self._lost = True

    # ---- presence / power (vpcd control codes) ---------------------------------------------------

    def card_changed(self):
        """True when the session's card left the field or another card replaced it."""
        return self.card is not None and (self._lost or self.deck.in_field is not self.card)

    def end_session(self):
        self.card = None
        self._lost = False
        self._needs_select = False

    def attach(self):
        """Start a session with the card now in the field (the transport connected for it)."""
        self.end_session()
        self.card = self.deck.in_field
        self._needs_select = self.card is not None
        return self.card

    def atr(self):
        """ATR of the card in the field, b"" when the field is empty (vpcd takes that as removal).
        Presence polls do not touch the card: it is selected before the first APDU."""
        if self.card_changed():
            self.end_session()
        if self.card is None and self.attach() is None:
            return b""
        return storage_atr(self.card.sak)

    def power_on(self):
        if self.atr():
            self._needs_select = True

    def reset(self):
        self.power_on()

    def power_off(self):
        # The reader keeps its RF field for the next connect; the card just loses its session.
        if self.card is not None and not self.card_changed():
            self._needs_select = True
            try:
                self.card.halt()
            except CardError:
                pass

    def _activate(self):
        self._needs_select = False
        self._tick(SELECT)
        self.card.select()

    def _tick(self, kind):
        # Card time only (clock.card_op: docs/chip-facts.md "Timings"). The USB/CCID leg of a real
        # ACS reader is not modelled: there are no figures for it.
        if self.clock is not None:
            self.clock.card_op(kind, len(self.card.uid))

    # ---- APDUs ---------------------------------------------------------------------------------

    def transmit(self, apdu):
        """One C-APDU (bytes) -> R-APDU (data + SW)."""
        try:
            apdu = bytes(apdu)
            if apdu[:2] == bytes([CLA_STORAGE, INS_AUTH_OBSOLETE]):
                return self._auth_obsolete(apdu)
            cla, ins, p1, p2, data, le = parse_apdu(apdu)
            if cla != CLA_STORAGE:
                raise _Fail(SW_CLA_UNKNOWN)
            handler = self._HANDLERS.get(ins)
            if handler is None:
                raise _Fail(SW_INS_UNKNOWN)
            return handler(self, p1, p2, data, le)
        except _Fail as fail:
            return fail.sw
        except CardError:
            return SW_FAILED

    def _card(self):
        if self.card_changed():
            self.end_session()
        if self.card is None:
            raise _Fail()
        if self._needs_select:
            self._activate()  # a CardError here answers 63 00 like any other card failure
        return self.card

    def _block(self, p1, p2):
        block = (p1 << 8) | p2
        if not 0 <= block < self._geometry().block_count:
            raise _Fail()
        return block

    def _geometry(self):
        return geometry.CLASSIC_4K if self._card().size == "4k" else geometry.CLASSIC_1K

    def _sector_run(self, block, nbytes):
        """Blocks covered by `nbytes` from `block`: one block (a trailer too), or — ACS "multiple
        blocks mode" — several data blocks of one sector (never its trailer)."""
        if nbytes == 0 or nbytes % BLOCK:
            raise _Fail()
        count = nbytes // BLOCK
        if count == 1:
            return [block]
        geo = self._geometry()
        sector = geometry.sector_of_block(block, geo)
        data_blocks = geometry.data_blocks(sector, geo)
        run = list(range(block, block + count))
        if run[-1] not in data_blocks or run[0] not in data_blocks:
            raise _Fail()
        return run

    # GET DATA: FF CA 00 00 Le -> UID; FF CA 01 00 Le -> ATS (none on a MIFARE Classic)
    def _get_data(self, p1, p2, data, le):
        card = self._card()
        if p1 == 0x01:
            raise _Fail(SW_NOT_SUPPORTED)
        if p1 != 0x00 or p2 != 0x00 or data:
            raise _Fail(SW_NOT_SUPPORTED)
        uid = bytes(card.uid)
        if le is None or le == 0:
            return uid + SW_OK
        if le < len(uid):
            return b"\x6c" + bytes([len(uid)])
        if le > len(uid):
            return uid + SW_END_OF_DATA
        return uid + SW_OK

    # LOAD KEY: FF 82 <structure> <number> 06 <key>
    def _load_key(self, p1, p2, data, le):
        if p1 != KEY_STRUCTURE_VOLATILE or p2 >= KEY_SLOTS or len(data) != 6:
            raise _Fail()
        self.keys[p2] = bytes(data)
        return SW_OK

    # GENERAL AUTHENTICATE: FF 86 00 00 05 01 00 <block> <key type> <key number>
    def _general_auth(self, p1, p2, data, le):
        if p1 or p2 or len(data) != 5 or data[0] != 0x01:
            raise _Fail()
        return self._authenticate((data[1] << 8) | data[2], data[3], data[4])

    # AUTHENTICATE (PC/SC 2.01, obsolete): FF 88 00 <block> <key type> <key number> — not an ISO
    # case: the key type sits where Lc would be, so it is taken apart by hand.
    def _auth_obsolete(self, apdu):
        if len(apdu) != 6 or apdu[2] != 0x00:
            raise _Fail()
        return self._authenticate(apdu[3], apdu[4], apdu[5])

    def _authenticate(self, block, key_type, key_number):
        card = self._card()
        block = self._block(block >> 8, block & 0xFF)
        if key_type not in (KEY_A, KEY_B) or key_number >= KEY_SLOTS or self.keys[key_number] is None:
            raise _Fail()
        if card.state not in ("active", "authenticated"):
            # A failed authentication halts the card; ACS readers re-select it transparently.
            self._activate()
        self._tick(codec.MF_AUTH_A)
        card.authenticate(key_type, block, self.keys[key_number], card.uid4)
        return SW_OK

    # READ BINARY: FF B0 00 <block> <Le = 16 × n>
    def _read_binary(self, p1, p2, data, le):
        card = self._card()
        block = self._block(p1, p2)
        if data:
            raise _Fail()
        # Le absent or 00: one block (ACS documents Le = 10; [U] for 00).
        nbytes = BLOCK if not le else le
        out = b""
        for b in self._sector_run(block, nbytes):
            self._tick(codec.MF_READ)
            out += bytes(card.read(b))
        return out + SW_OK

    # UPDATE BINARY: FF D6 00 <block> <Lc = 16 × n> <data>
    def _update_binary(self, p1, p2, data, le):
        card = self._card()
        block = self._block(p1, p2)
        run = self._sector_run(block, len(data))
        for i, b in enumerate(run):
            self._tick(codec.MF_WRITE)
            card.write(b, data[i * BLOCK:(i + 1) * BLOCK])
        return SW_OK

    # VALUE BLOCK OPERATION: FF D7 00 <block> 05 <op> <value MSB first>; RESTORE: FF D7 00 <src> 02 03 <dst>
    def _value_op(self, p1, p2, data, le):
        card = self._card()
        block = self._block(p1, p2)
        if len(data) == 2 and data[0] == VB_RESTORE:
            target = self._block(0, data[1])
            geo = self._geometry()
            if geometry.sector_of_block(block, geo) != geometry.sector_of_block(target, geo):
                raise _Fail()  # ACS: "source and target value blocks must be in the same sector"
            self._tick(codec.MF_RESTORE)
            card.restore(block)
            self._tick(codec.MF_TRANSFER)
            card.transfer(target)
            return SW_OK
        if len(data) != 5:
            raise _Fail()
        op = data[0]
        value = int.from_bytes(data[1:5], "big", signed=True)
        if op == VB_STORE:
            if geometry.is_trailer(block, self._geometry()):
                # A value block in a trailer would brick the sector; the ACS manuals only speak of
                # value blocks in data blocks, so refusing is our reading [U].
                raise _Fail()
            # Which address byte ACS writes is [U]; the block's own number is what libnfc/MCT tools use.
            self._tick(codec.MF_WRITE)
            card.write(block, encode_value_block(value, block & 0xFF))
        elif op in (VB_INCREMENT, VB_DECREMENT):
            self._tick(codec.MF_INCREMENT if op == VB_INCREMENT else codec.MF_DECREMENT)
            if op == VB_INCREMENT:
                card.increment(block, value)
            else:
                card.decrement(block, value)
            self._tick(codec.MF_TRANSFER)
            card.transfer(block)
        else:
            raise _Fail()
        return SW_OK

    # READ VALUE BLOCK: FF B1 00 <block> 04 (or 00)
    def _read_value(self, p1, p2, data, le):
        card = self._card()
        block = self._block(p1, p2)
        if data or le not in (None, 0, 4):
            raise _Fail()
        self._tick(codec.MF_READ)
        raw = bytes(card.read(block))
        try:
            value, _addr = decode_value_block(raw)
        except InvalidValueBlock:
            raise _Fail()
        return value.to_bytes(4, "big", signed=True) + SW_OK

    _HANDLERS = {
        INS_GET_DATA: _get_data,
        INS_LOAD_KEY: _load_key,
        INS_GENERAL_AUTH: _general_auth,
        INS_READ_BINARY: _read_binary,
        INS_UPDATE_BINARY: _update_binary,
        INS_VALUE_OP: _value_op,
        INS_READ_VALUE: _read_value,
    }
