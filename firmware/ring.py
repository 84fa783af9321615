"""The reader's per-card memory and debit write-ahead: a ring of 64-byte records on pre-erased flash.

Why a raw ring and not a file: the write-ahead record of a debit goes to flash before the first
card write, inside the tap. On a filesystem an append sometimes needs a block erase (tens of
milliseconds); here a record is one page program into flash erased earlier, and erasing happens
after the customer was told (`maintain`). Records: icpurse.protocol.readerstate (TAP = write-ahead,
STATE = what the reader last saw or left on a card).

`flash` is the HAL's: SECTOR (bytes), size, read(offset, buf), write(offset, buf) (NOR: only into
erased bytes), erase(sector). A write torn by power loss leaves a record whose CRC fails: it is
ignored (it was never reported as written) and its slot skipped.

The memory is bounded: the newest record of at most `max_cards` cards is kept; before a sector is
erased, the records of remembered cards that live there are written again further on.
"""
from binascii import crc32

from icpurse.firmware import codec
from icpurse.protocol.mpy import const

_REC = codec.RING_RECORD_SIZE
_BODY = const(60)
_BLANK = b"\xff" * _REC  # an erased slot
_RESERVED = bytes(10)
TAP = codec.RING_TAP
STATE = codec.RING_STATE
_MAX_CARDS = const(40)
_SLACK = const(8)  # remembered cards may exceed _MAX_CARDS by this much between trims (<= 48)  # fits one fresh sector (64 records) with room to spare when carried forward

# field indexes of a record tuple
NUMBER = codec.CARD_STATE_RECORD_NUMBER
KIND = codec.CARD_STATE_RECORD_KIND
UID = codec.CARD_STATE_RECORD_UID
UID_LEN = codec.CARD_STATE_RECORD_UID_LEN
LAYOUT = codec.CARD_STATE_RECORD_LAYOUT
SEQ_BEFORE = codec.CARD_STATE_RECORD_SEQ_BEFORE
BALANCE_BEFORE = codec.CARD_STATE_RECORD_BALANCE_BEFORE
SEQ = codec.CARD_STATE_RECORD_SEQ
BALANCE = codec.CARD_STATE_RECORD_BALANCE
DAY = codec.CARD_STATE_RECORD_DAY
DAY_TOTAL = codec.CARD_STATE_RECORD_DAY_TOTAL
JOURNAL = codec.CARD_STATE_RECORD_JOURNAL
AMOUNT = codec.CARD_STATE_RECORD_AMOUNT
TIME = codec.CARD_STATE_RECORD_TIME
KEY_VERSION = codec.CARD_STATE_RECORD_KEY_VERSION
_CRC = codec.CARD_STATE_RECORD_CRC


def _key(uid):
    return bytes(uid)


class Ring:
    def __init__(self, flash, max_cards=_MAX_CARDS):
        self.flash = flash
        self.sector = flash.SECTOR
        self.slots = flash.size // _REC
        self.per_sector = self.sector // _REC
        self.sectors = flash.size // self.sector
        if self.sectors < 3:
            raise ValueError("the ring needs at least 3 flash sectors")
        self.max_cards = max_cards
        self._buf = bytearray(_REC)
        self.cards = {}  # uid -> (record tuple, slot)
        self.taps = []  # TAP records found at open (for the write-ahead replay)
        self.number = 0  # of the newest record
        self.pos = 0  # next slot to write
        self._erased = []  # per sector: known fully erased

    # --- open ---------------------------------------------------------------------------------
    def _valid(self, buf):
        if buf[0] != codec.RING_MAGIC:
            return None
        if crc32(memoryview(buf)[:_BODY]) & 0xFFFFFFFF != int.from_bytes(bytes(buf[_BODY:_REC]), "little"):
            return None
        return codec.decode_card_state_record(buf)

    def _is_erased(self, buf):
        return buf == _BLANK

    def open(self):
        """Scan the ring: the newest record of every card, the write position after the newest
        record, which sectors are erased."""
        buf = self._buf
        newest, newest_slot = 0, -1
        self.cards = {}
        self.taps = []
        self._erased = [True] * self.sectors
        for slot in range(self.slots):
            self.flash.read(slot * _REC, buf)
            if self._is_erased(buf):
                continue
            self._erased[slot // self.per_sector] = False
            rec = self._valid(buf)
            if rec is None:
                continue  # torn by power loss: skipped, never used
            self._remember(rec, slot)
            if rec[KIND] == TAP:
                self.taps.append(rec)
            if rec[NUMBER] > newest:
                newest, newest_slot = rec[NUMBER], slot
        self.number = newest
        self.pos = (newest_slot + 1) % self.slots if newest_slot >= 0 else 0
        self._skip_used()
        self.taps.sort(key=lambda r: r[NUMBER])
        return self

    def _remember(self, rec, slot):
        k = _key(bytes(rec[UID])[:rec[UID_LEN]])
        old = self.cards.get(k)
        if old is not None and old[0][NUMBER] > rec[NUMBER]:
            return
        self.cards[k] = (rec, slot)
        if len(self.cards) > self.max_cards + _SLACK:
            # forget the oldest few at once (one sort now and then, not a scan per record)
            order = sorted(self.cards.items(), key=lambda kv: kv[1][0][NUMBER])
            for key, _ in order[:len(self.cards) - self.max_cards]:
                del self.cards[key]

    def _slot_erased(self, slot):
        if self._erased[slot // self.per_sector]:
            return True
        self.flash.read(slot * _REC, self._buf)
        return self._is_erased(self._buf)

    def _skip_used(self):
        """Move the write position past slots that are not erased (a record torn by power loss)."""
        for _ in range(self.slots):
            if self._slot_erased(self.pos):
                return
            self.pos = (self.pos + 1) % self.slots
        raise OSError("reader state ring full: no erased slot")

    # --- memory -------------------------------------------------------------------------------
    def latest(self, uid):
        hit = self.cards.get(_key(uid))
        return hit[0] if hit is not None else None

    def day_total(self, uid, day):
        rec = self.latest(uid)
        return rec[DAY_TOTAL] if rec is not None and rec[DAY] == day else 0

    # --- writing ------------------------------------------------------------------------------
    def append(self, kind, uid, layout, key_version, seq_before, balance_before, seq, balance, day, day_total,
               journal=0, amount=0, time=0):
        """One record into erased flash (one page program). Returns the record tuple."""
        uid = bytes(uid)
        self.number += 1
        fields = (codec.RING_MAGIC, kind, self.number, len(uid), uid + bytes(codec.UID_FIELD_SIZE - len(uid)), layout,
                  key_version, seq_before, balance_before, seq, balance, day, day_total, journal, amount, time,
                  _RESERVED, 0)
        raw = bytearray(codec.encode_card_state_record(*fields))
        crc = crc32(memoryview(raw)[:_BODY]) & 0xFFFFFFFF
        raw[_BODY:_REC] = crc.to_bytes(4, "little")
        if self.pos % self.per_sector == 0 and not self._erased[self.pos // self.per_sector]:
            self._erase(self.pos // self.per_sector)  # maintain() did not run: slow, but never lost
        slot = self.pos
        self._erased[slot // self.per_sector] = False
        self.flash.write(slot * _REC, raw)
        # the record as decode_card_state_record reads it back: the fields just encoded, its CRC
        rec = fields[:_CRC] + (crc,)
        self._remember(rec, slot)
        # the slots after the last one written are erased (open() skipped any torn one)
        self.pos = (slot + 1) % self.slots
        return rec

    def tap(self, uid, layout, key_version, seq_before, balance_before, plan, journal, time):
        """The write-ahead record of a debit (`plan`: purse plan, v1 slot shape)."""
        return self.append(TAP, uid, layout, key_version, seq_before, balance_before, plan[0], plan[1], plan[2],
                           plan[3], journal, plan[5], time)

    def _erase(self, sector):
        self.flash.erase(sector)
        self._erased[sector] = True

    def maintain(self):
        """After a tap: keep the sector after the write position erased, so that the next
        write-ahead is a page program. Cards whose newest record lives in that sector get it
        written again first. Returns True if it erased."""
        cur = self.pos // self.per_sector
        nxt = (cur + 1) % self.sectors
        if self._erased[nxt]:
            return False
        move = [(rec, slot) for rec, slot in self.cards.values() if slot // self.per_sector == nxt]
        move.sort(key=lambda x: x[0][NUMBER])
        for rec, slot in move:
            if self.pos // self.per_sector == nxt:
                break  # no room before the sector: the oldest memories go
            self.append(rec[KIND], bytes(rec[UID])[:rec[UID_LEN]], rec[LAYOUT], rec[KEY_VERSION], rec[SEQ_BEFORE],
                        rec[BALANCE_BEFORE], rec[SEQ], rec[BALANCE], rec[DAY], rec[DAY_TOTAL], rec[JOURNAL],
                        rec[AMOUNT], rec[TIME])
        if self.pos // self.per_sector == nxt:
            return False
        for k in [k for k, (rec, slot) in self.cards.items() if slot // self.per_sector == nxt]:
            del self.cards[k]
        self._erase(nxt)
        return True


class FileFlash:
    """The ring on a file of the reader's filesystem, where no flash partition is set aside for it
    (a board flashed with a stock MicroPython image): same interface, NOR semantics kept (a write
    only clears bits), but each write is a filesystem write (docs/hardware.md says how to give the
    ring its own partition)."""

    SECTOR = 4096

    def __init__(self, path, sectors=4, fs=None, open_fn=open):
        self.path = path
        self.size = sectors * self.SECTOR
        self._open = open_fn
        try:
            with open_fn(path, "rb") as f:
                ok = len(f.read()) == self.size
        except OSError:
            ok = False
        if not ok:
            with open_fn(path, "wb") as f:
                f.write(b"\xff" * self.size)

    def read(self, offset, buf):
        with self._open(self.path, "rb") as f:
            f.seek(offset)
            f.readinto(buf)

    def write(self, offset, buf):
        with self._open(self.path, "r+b") as f:
            f.seek(offset)
            old = f.read(len(buf))
            new = bytearray(len(buf))
            for i in range(len(buf)):
                new[i] = old[i] & buf[i]
            f.seek(offset)
            f.write(new)

    def erase(self, sector):
        with self._open(self.path, "r+b") as f:
            f.seek(sector * self.SECTOR)
            f.write(b"\xff" * self.SECTOR)
