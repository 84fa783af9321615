# micropython: yes
"""A virtual MIFARE Classic 1K / 4K card, as strict as the datasheet (docs/chip-facts.md,
"MIFARE Classic").

Permissions come from icpurse.protocol.mifare.access (tables 7 and 8 of MF1S50yyX), geometry from
icpurse.protocol.mifare.geometry; this module only decides *when* to ask them. Choices where the
facts are uncertain [U] are marked and listed in docs/simulator.md.
"""
from icpurse.host import codec
from icpurse.hil.sim import faults as _faults
from icpurse.protocol.mifare import access, blocks, geometry
from icpurse.protocol.mifare.access import Key, Op

BLOCK_SIZE = codec.MF_BLOCK_SIZE
KEY_SIZE = codec.MF_KEY_SIZE
TRANSPORT_TRAILER = b"\xff" * 6 + b"\xff\x07\x80\x69" + b"\xff" * 6  # keys FF.., access FF 07 80, GPB 69

IDLE = "idle"
READY = "ready"  # answered REQA/WUPA, anticollision / select in progress (raw frames only)
ACTIVE = "active"
AUTHENTICATED = "authenticated"
HALTED = "halted"
BACKDOOR = "backdoor"  # a Gen1a clone after its 0x40 / 0x43 unlock: every block, no authentication

# Clone ("magic") card kinds, docs/simulator.md "Magic cards". None is a genuine NXP card.
GEN1A = "gen1a"  # backdoor unlock (7-bit 0x40, then 0x43), then READ / WRITE of any block, no auth
CUID = "cuid"  # Gen2 / "direct write": block 0 writable with a normal authenticated WRITE
FUID = "fuid"  # write-once: block 0 writable (authenticated) until the first write, then locked
MAGIC_KINDS = (GEN1A, CUID, FUID)

_GEOMETRIES = {"1k": geometry.CLASSIC_1K, "4k": geometry.CLASSIC_4K}
_ATQA = {("1k", 4): codec.TG_ATQA_1K_4B, ("1k", 7): codec.TG_ATQA_1K_7B,
         ("4k", 4): codec.TG_ATQA_4K_4B, ("4k", 7): codec.TG_ATQA_4K_7B}
_SAK = {"1k": codec.TG_SAK_CLASSIC_1K, "4k": codec.TG_SAK_CLASSIC_4K}

# Trailer write policy. The datasheet gives rights per trailer part but does not say what a
# 16-byte write does when only some parts are writable [U]. STRICT (default, the lead's choice):
# NAK the whole write unless every part is writable with the key used, so firmware that relies on
# a partial trailer write fails here rather than on a real card. PARTIAL (proxmark mifaresim's
# model): write the permitted parts, keep the others, NAK only if no part is writable.
STRICT = "strict"
PARTIAL = "partial"


class CardError(Exception):
    status = codec.ST_TIMEOUT  # PN532 status byte a reader reports for this error


class CardTimeout(CardError):
    """No answer: card gone, halted, not selected, or RF timeout."""
    status = codec.ST_TIMEOUT


class CardNak(CardError):
    """The card NAKed: access violation, not a value block, blocked sector, bad address."""
    status = codec.ST_INVALID_FRAME


class AuthFailed(CardError):
    """Authentication failed; the card is HALTed and must be re-selected."""
    status = codec.ST_AUTH_ERROR


def manufacturer_block(uid, sak, atqa):
    """Block 0 of a card with this UID, SAK and ATQA (the chip's int: first byte on air low), by
    icpurse.protocol.mifare.blocks (UID, BCC of a 4-byte UID, SAK, ATQA in on-air order, zeros)."""
    return bytearray(blocks.build_manufacturer_block(uid, sak, bytes((atqa & 0xFF, atqa >> 8))))


def _s32(raw):
    v = int.from_bytes(bytes(raw), "little")
    return v - 0x100000000 if v & 0x80000000 else v


def _u32_bytes(v):
    return (v & 0xFFFFFFFF).to_bytes(4, "little")


def _operand(operand):
    """The 4 operand bytes as a signed 32-bit int; accepts -2**31 .. 2**32-1."""
    if not -0x80000000 <= operand <= 0xFFFFFFFF:
        raise ValueError("operand does not fit 4 bytes: %r" % (operand,))
    return _s32(_u32_bytes(operand))


def magic_kind(magic):
    """`magic` argument -> kind: None/False genuine, True the historical "magic" (= CUID)."""
    if magic is None or magic is False:
        return None
    if magic is True:
        return CUID
    if magic not in MAGIC_KINDS:
        raise ValueError("magic card kind %r: expected one of %s" % (magic, ", ".join(MAGIC_KINDS)))
    return magic


class ClassicCard:
    trailer_write_policy = STRICT
    # Value operations where the datasheets say nothing [U] (docs/simulator.md): the operand is "a
    # 4 byte signed integer" and nothing says what happens to a negative one or to a result beyond
    # 32 bits. Default: signed operands, two's-complement wrap (the most an attacker could get).
    # The HIL scenario "value operand" measures a real card; the reader-key model check
    # (hil/modelcheck.py) runs against both settings.
    negative_operands = True  # False: an operand with bit 31 set is NAKed
    value_wraps = True  # False: a result outside the signed 32-bit range is NAKed
    # Whether a new authentication empties the transfer buffer [U]. Default: it does (a new crypto
    # session); True lets a value taken in one sector be transferred into another.
    tb_survives_auth = False

    def __init__(self, uid, size="1k", magic=False, blocks=None, faults=None):
        uid = bytes(uid)
        if len(uid) not in (4, 7):
            raise ValueError("MIFARE Classic UIDs are 4 or 7 bytes, got %d" % len(uid))
        if size not in _GEOMETRIES:
            raise ValueError("size must be '1k' or '4k', got %r" % (size,))
        self.uid = uid
        self.size = size
        self.geometry = _GEOMETRIES[size]
        # clone card kind (None: genuine); clones answer with the UID in block 0 once it is written
        self.magic = magic_kind(magic)
        self.fuid_locked = False  # FUID: block 0 already written once (kept while the process runs)
        self.sak = _SAK[size]
        self.atqa = _ATQA[(size, len(uid))]
        self.faults = faults
        self.on_removed = None  # set by the Deck: called when a fault pulls the card away
        self.on_stored = None  # called with the card after every block it stores (to persist it)
        self.powered = True  # in an RF field
        n = self.geometry.block_count
        if blocks is None:
            blocks = [bytearray(BLOCK_SIZE) for _ in range(n)]
            blocks[0][:] = manufacturer_block(uid, self.sak, self.atqa)
            for s in self.geometry.sectors():
                blocks[geometry.trailer_block(s, self.geometry)][:] = TRANSPORT_TRAILER
        if len(blocks) != n:
            raise ValueError("a %s card has %d blocks, got %d" % (size, n, len(blocks)))
        self.blocks = [bytearray(b) for b in blocks]
        for b in self.blocks:
            if len(b) != BLOCK_SIZE:
                raise ValueError("blocks are 16 bytes")
        self.state = IDLE
        self.cascade = 0  # anticollision level while READY (raw frames)
        self._from_halt = False  # READY was reached by WUPA from HALT (errors fall back to HALT)
        self._reset_session()

    def __repr__(self):
        return "ClassicCard(%s %s, %s)" % (self.size, self.uid.hex(), self.state)

    @property
    def uid4(self):
        """The UID bytes that go into AUTH: the last 4 (CL2 bytes for a 7-byte UID)."""
        return self.uid[-4:]

    def _reset_session(self, power_lost=False):
        self._auth_sector = -1
        self._auth_key = 0
        if power_lost or not self.tb_survives_auth:
            self._tb = None  # transfer buffer: signed value, or None when not valid
        self.air_pending = None  # raw-frame protocol state (hil/sim/air.py): part 2 awaited
        self._magic_step = 0  # Gen1a: 1 after the 7-bit 0x40 was acknowledged

    # --- field / states ---------------------------------------------------------------------
    def enter_field(self):
        self.powered = True
        self.reset()

    def reset(self):
        """RF power cycle of a card in the field: back to IDLE, volatile state lost."""
        self.state = IDLE
        self._reset_session(True)

    def leave_field(self):
        """Power lost: all volatile state (crypto session, transfer buffer) is gone."""
        self.powered = False
        self.state = IDLE
        self._reset_session(True)

    def _removed_by_fault(self):
        self.leave_field()
        if self.on_removed is not None:
            self.on_removed(self)

    def _begin(self, need_state=None):
        """Gate every command: power, faults, and the state the command needs."""
        if not self.powered:
            raise CardTimeout("card not in the field")
        if self.faults is not None:
            verdict = self.faults.before_command()
            if verdict == _faults.REMOVE:
                self._removed_by_fault()
                raise CardTimeout("card removed")
            if verdict == _faults.TIMEOUT:
                # The reader and card crypto streams no longer agree: the session is lost.
                if self.state != HALTED:
                    self.state = IDLE
                self._reset_session()
                raise CardTimeout("RF timeout")
        if need_state is not None and self.state not in need_state:
            raise CardTimeout("card is %s" % self.state)

    def select(self):
        """(Re)activation by WUPA + anticollision + SELECT: wakes a halted card too, since libnfc
        re-selects after a failed auth with InListPassiveTarget
        (docs/chip-facts.md "InDataExchange status")."""
        self._begin()
        self.state = ACTIVE
        self._reset_session()

    def halt(self):
        self._begin((ACTIVE, AUTHENTICATED, BACKDOOR))
        self.state = HALTED
        self._reset_session()

    # --- ISO 14443-3 activation by raw frames (hil/sim/air.py decodes them) -----------------
    def uid_on_air(self):
        """The cascade levels as the card sends them in anticollision: [UID CLn + BCC], 5 bytes
        each. A clone sends its block 0 as it is (a wrong BCC there goes on air: readers then
        refuse the card); a genuine card's UID is fixed."""
        uid = bytes(self.uid)
        if len(uid) == 4:
            if self.magic is not None:
                return [bytes(self.blocks[0][0:5])]
            return [uid + bytes((blocks.bcc(uid),))]
        cl1 = bytes((0x88,)) + uid[0:3]
        cl2 = uid[3:7]
        return [cl1 + bytes((blocks.bcc(cl1),)), cl2 + bytes((blocks.bcc(cl2),))]

    def request(self, wakeup):
        """REQA (wakeup False) / WUPA: the ATQA when the card answers, else CardTimeout. A REQA
        does not wake a halted card; in READY / ACTIVE the request is an unexpected command and
        the card falls back to IDLE (HALT if it came from HALT) without answering (ISO 14443-3)."""
        self._begin()
        if self.state == IDLE or (wakeup and self.state == HALTED):
            self._from_halt = self.state == HALTED
            self.state = READY
            self.cascade = 1
            self._reset_session()
            return self.atqa
        self.unexpected()
        raise CardTimeout("card is %s" % self.state)

    def unexpected(self):
        """A frame the card does not expect in READY / ACTIVE: back to IDLE (or HALT), silently."""
        if self.state in (READY, ACTIVE, AUTHENTICATED, BACKDOOR):
            self.state = HALTED if self._from_halt else IDLE
            self._reset_session()

    def anticollision(self, level):
        """SEL n + NVB 20: the 5 bytes of cascade level `level`, in READY at that level."""
        self._begin()
        levels = self.uid_on_air()
        if self.state != READY or self.cascade != level or level > len(levels):
            self.unexpected()
            raise CardTimeout("no anticollision answer at level %d (%s)" % (level, self.state))
        return levels[level - 1]

    def select_level(self, level, uid5):
        """SEL n + NVB 70 + UID CLn + BCC (CRC already checked): the SAK when the bytes are this
        card's. Last level: ACTIVE with the card's SAK; else SAK with the cascade bit, next level."""
        self._begin()
        levels = self.uid_on_air()
        if self.state != READY or self.cascade != level or level > len(levels):
            self.unexpected()
            raise CardTimeout("select at level %d ignored (%s)" % (level, self.state))
        if bytes(uid5) != levels[level - 1]:
            # Another card's UID: this one keeps waiting in READY (ISO 14443-3 anticollision).
            raise CardTimeout("select names another UID")
        if level < len(levels):
            self.cascade = level + 1
            return 0x04  # SAK: UID not complete
        self.state = ACTIVE
        self._reset_session()
        return self.sak

    def magic_wakeup(self, step):
        """Gen1a backdoor: step 1 = the 7-bit 0x40 (any state: the card answers from HALT), step 2
        = 0x43 after it. Returns True (4-bit ACK) or raises CardTimeout (a genuine card, CUID and
        FUID are silent: they do not have the backdoor)."""
        self._begin()
        if self.magic != GEN1A:
            self.unexpected()
            raise CardTimeout("no backdoor on this card")
        if step == 1:
            self._reset_session()
            self._magic_step = 1
            return True
        if self._magic_step != 1:
            raise CardTimeout("0x43 without 0x40 first")
        self._reset_session()
        self.state = BACKDOOR
        return True

    def magic_wipe(self):
        """Gen1a 0x41 after 0x40 (nfc-mfsetuid -f): data blocks to zeros, trailers to the transport
        trailer, block 0 kept [U: what a wipe leaves is not documented]."""
        self._begin()
        if self.magic != GEN1A or self._magic_step != 1:
            self.unexpected()
            raise CardTimeout("no backdoor wipe")
        for b in range(1, self.geometry.block_count):
            if geometry.is_trailer(b, self.geometry):
                self.blocks[b][:] = TRANSPORT_TRAILER
            else:
                self.blocks[b][:] = bytes(BLOCK_SIZE)
        return True

    # --- what the raw-frame layer (hil/sim/air.py) asks of the card ----------------------------
    @property
    def transfer_buffer_valid(self):
        """The transfer buffer holds a value: a 4-bit NAK then says "TB valid" (MF1S50yyX Table 10)."""
        return self._tb is not None

    @property
    def backdoor_armed(self):
        """Gen1a: the 7-bit 0x40 was acknowledged; 0x41 (wipe) or 0x43 (unlock) may follow."""
        return self._magic_step == 1

    def auth_unverified(self):
        """The reader's answer to a raw AUTH's nonce cannot verify (no Crypto1 in the model): the
        card stays silent and halts, as after a wrong key."""
        self.state = HALTED
        self._reset_session()

    def deactivate(self):
        """The card lost the session without a HALT (e.g. a raw unencrypted frame mid-session)."""
        if self.state != HALTED:
            self.state = IDLE
        self._reset_session()

    def unknown_command(self, cmd):
        """A command byte a MIFARE Classic card does not know: NAK (when it listens at all)."""
        self._begin((ACTIVE, AUTHENTICATED, BACKDOOR))
        raise CardNak("unknown command 0x%02X" % cmd)

    # --- helpers ----------------------------------------------------------------------------
    def check_block(self, block):
        """CardNak unless `block` exists on this card (what the card checks in part 1 of a command)."""
        if not 0 <= block < self.geometry.block_count:
            raise CardNak("block %d does not exist on a %s card" % (block, self.size))

    def sector_conds(self, sector):
        """Access conditions of `sector`; InvalidAccessBits if its trailer is malformed."""
        t = self.blocks[geometry.trailer_block(sector, self.geometry)]
        return access.decode_access_bits(t[6:9])

    def _memory_access(self, block, op):
        """Checks shared by every memory command; returns (conds, group). Order: session, sector
        of the session, format of the access bits
        (checked on each access, docs/chip-facts.md "Invalid access bits"), rights."""
        self._begin((ACTIVE, AUTHENTICATED, BACKDOOR))
        self.check_block(block)
        if self.state == BACKDOOR:
            return None, None  # the Gen1a backdoor reads and writes raw memory
        if self.state != AUTHENTICATED:
            raise CardNak("not authenticated")
        sector = geometry.sector_of_block(block, self.geometry)
        if sector != self._auth_sector:
            raise CardNak("block %d is outside the authenticated sector %d" % (block, self._auth_sector))
        try:
            conds = self.sector_conds(sector)
        except access.InvalidAccessBits:
            raise CardNak("sector %d is blocked (invalid access bits)" % sector)
        group = geometry.access_group(block, self.geometry)
        if op is not None:
            if group == geometry.TRAILER_GROUP:
                raise CardNak("no %s on a sector trailer" % op)
            if not access.allows(conds, group, op, self._auth_key):
                raise CardNak("access conditions refuse this operation on block %d" % block)
        return conds, group

    def _store(self, block, data):
        """EEPROM write of one block, through the torn-write fault."""
        torn = False
        if self.faults is not None:
            data, torn = self.faults.on_write(self.blocks[block], data)
        self.blocks[block][:] = data
        if block == 0 and self.magic is not None:
            self.uid = bytes(self.blocks[0][:len(self.uid)])  # a clone answers with its block 0
            if self.magic == FUID:
                self.fuid_locked = True
        if self.on_stored is not None:
            self.on_stored(self)
        if torn:
            self._removed_by_fault()
            raise CardTimeout("card removed during the write")

    def _value_of(self, block):
        try:
            return blocks.value_of(self.blocks[block])
        except blocks.InvalidValueBlock:
            raise CardNak("block %d is not a value block" % block)

    # --- commands ---------------------------------------------------------------------------
    def authenticate(self, key_type, block, key, uid4):
        """Three-pass auth. Wrong key, wrong UID or unknown block -> AuthFailed and HALT (libnfc:
        "when a MIFARE Classic AUTH fails, the tag is automatically in HALT state"). A readable
        key B still authenticates; the access check then refuses every memory access
        (docs/chip-facts.md "Access conditions", footnote 1)."""
        self._begin((ACTIVE, AUTHENTICATED, BACKDOOR))
        if key_type != Key.A and key_type != Key.B:
            raise ValueError("key_type must be 0x60 or 0x61")
        ok = 0 <= block < self.geometry.block_count and bytes(uid4) == self.uid4
        if ok:
            sector = geometry.sector_of_block(block, self.geometry)
            t = self.blocks[geometry.trailer_block(sector, self.geometry)]
            stored = t[0:6] if key_type == Key.A else t[10:16]
            ok = bytes(key) == bytes(stored)
        if not ok:
            self.state = HALTED
            self._reset_session()
            raise AuthFailed("authentication failed for block %d" % block)
        self.state = AUTHENTICATED
        self._auth_sector = sector
        self._auth_key = key_type
        if not self.tb_survives_auth:
            self._tb = None  # a new crypto session starts with an empty transfer buffer

    def read(self, block):
        """16 bytes; in a trailer, key A always reads as zeros, access bits + GPB and key B as
        zeros unless the trailer condition lets the authenticated key read them
        (docs/chip-facts.md "Sector trailer")."""
        conds, group = self._memory_access(block, None)
        data = bytearray(self.blocks[block])
        if self.state == BACKDOOR:
            return bytes(data)  # keys included: the backdoor reads raw memory
        if group != geometry.TRAILER_GROUP:
            if not access.allows(conds, group, Op.READ, self._auth_key):
                raise CardNak("access conditions refuse READ of block %d" % block)
            return bytes(data)
        key = self._auth_key
        if not access.allows(conds, group, Op.READ_ACCESS, key):
            raise CardNak("access conditions refuse READ of trailer %d" % block)
        data[0:6] = bytes(6)  # key A is never readable
        if not access.allows(conds, group, Op.READ_KEY_B, key):
            data[10:16] = bytes(6)
        return bytes(data)

    def write(self, block, data):
        if len(data) != BLOCK_SIZE:
            raise CardNak("WRITE needs 16 bytes, got %d" % len(data))
        conds, group = self._memory_access(block, None)
        if self.state == BACKDOOR:
            self._store(block, data)
            return
        if block == 0 and not self._block0_writable():
            raise CardNak("block 0 is read-only")
        key = self._auth_key
        if group != geometry.TRAILER_GROUP:
            if not access.allows(conds, group, Op.WRITE, key):
                raise CardNak("access conditions refuse WRITE of block %d" % block)
            self._store(block, data)
            return
        # Trailer: key A, access bits + GPB, key B each have their own write right (Table 7).
        parts = ((0, 6, Op.WRITE_KEY_A), (6, 10, Op.WRITE_ACCESS), (10, 16, Op.WRITE_KEY_B))
        new = bytearray(self.blocks[block])
        allowed = 0
        for start, end, op in parts:
            if access.allows(conds, group, op, key):
                allowed += 1
                new[start:end] = data[start:end]
        if allowed == 0 or (allowed < 3 and self.trailer_write_policy == STRICT):
            raise CardNak("access conditions refuse this write of trailer %d" % block)
        self._store(block, new)

    def _block0_writable(self):
        """Authenticated WRITE of block 0: CUID always, FUID once, Gen1a only through its backdoor."""
        return self.magic == CUID or (self.magic == FUID and not self.fuid_locked)

    def increment(self, block, operand):
        self._value_op(block, Op.INCREMENT, self._signed(operand))

    def decrement(self, block, operand):
        self._value_op(block, Op.DECREMENT, -self._signed(operand))

    def _signed(self, operand):
        v = _operand(operand)
        if v < 0 and not self.negative_operands:
            self._begin((ACTIVE, AUTHENTICATED))
            raise CardNak("negative operand refused (card model: negative_operands=False)")
        return v

    def restore(self, block):
        self._value_op(block, Op.RESTORE, 0)

    def _value_op(self, block, op, delta):
        """Value of `block` + delta into the transfer buffer. The operand is a signed 32-bit LSB
        first integer and the result wraps in two's complement [U: overflow not in the datasheets,
        docs/chip-facts.md "Open questions" 5]."""
        if self.state == BACKDOOR:
            self._begin()
            raise CardNak("value operations need an authenticated session")  # [U]
        self._memory_access(block, op)
        result = self._value_of(block) + delta
        if not self.value_wraps and not blocks.VALUE_MIN <= result <= blocks.VALUE_MAX:
            raise CardNak("value out of range (card model: value_wraps=False)")
        self._tb = _s32(_u32_bytes(result))

    def transfer(self, block):
        """Transfer buffer -> value and copies of `block`; the address bytes 12..15 of the
        destination stay as they were (docs/chip-facts.md "Value operations"). The buffer stays
        valid afterwards [U]."""
        if self.state == BACKDOOR:
            self._begin()
            raise CardNak("value operations need an authenticated session")  # [U]
        self._memory_access(block, Op.TRANSFER)
        if block == 0 and not self._block0_writable():
            raise CardNak("block 0 is read-only")
        if self._tb is None:
            raise CardNak("transfer buffer is empty")
        self._store(block, blocks.put_value(bytearray(self.blocks[block]), self._tb))

    # --- dumps ------------------------------------------------------------------------------
    def to_mfd(self):
        """Raw .mfd dump (libnfc / MIFARE Classic Tool): all blocks, real keys in trailers."""
        out = bytearray()
        for b in self.blocks:
            out += b
        return bytes(out)

    @classmethod
    def from_mfd(cls, data, magic=False, uid_len=None, faults=None):
        """Card from a 1024 / 4096-byte dump. The UID length is guessed from block 0 when not
        given: 4 bytes if byte 4 is their BCC, else 7."""
        sizes = {1024: "1k", 4096: "4k"}
        if len(data) not in sizes:
            raise ValueError("an .mfd dump is 1024 or 4096 bytes, got %d" % len(data))
        if uid_len is None:
            uid_len = blocks.uid_length(data)
        memory = [bytearray(data[i:i + BLOCK_SIZE]) for i in range(0, len(data), BLOCK_SIZE)]
        return cls(bytes(data[0:uid_len]), sizes[len(data)], magic=magic, blocks=memory, faults=faults)
