"""The layout v2 purse: balance, backup and header in one sector (docs/card-layout.md, "Layout v2").

`firmware/purse.py` is the one entry point (it dispatches here for a v2 card); this module holds
the v2 rules:

- The balance is the balance value block V (block 8). Key A may only decrement it; the backup B
  (block 9) is never above V, so copying B into V (the only other value source in the sector)
  cannot raise the balance. A store reader reads V and the header H and nothing else.
- H (block 10, key B only) carries the card number, the expiry and the ceiling (the balance right
  after the issuer's last write), with a check MAC under the purse MAC key. The MAC input includes
  V's address byte: the issuer-write generation, which only a key-B WRITE of V changes.
- A debit: DECREMENT V, TRANSFER to B (B := new balance), DECREMENT V, TRANSFER to V (the commit
  point). A tear leaves V old (nothing happened), V new (done), or V unreadable, which the next
  tap repairs from B (the new balance: B was written first).
- An issuer write (top-up, void, refund, face value, ...): H for generation g+1 with the new
  ceiling, then the credit record (block 6, sealed with the load MAC key, which readers never
  hold), then the lower of the two value blocks first, then V with address byte g+1 (the commit
  point). Until V carries g+1 the header does not verify and readers refuse the card.

The card's counter `seq` is (generation << 24) | (ceiling - balance): it grows with every debit
(by its amount) and jumps with every issuer write.
"""
from icpurse.firmware import codec, kdf
from icpurse.firmware.mifare import value_block, value_of, ValueBlockError
from icpurse.firmware.purse import (
    CardView, Refused, KEY_B, COMMITTED, ABSENT, UNKNOWN, OLD_COPY, check_amount, mac_ok, seal_identity,
)
from icpurse.protocol import layout
from icpurse.protocol.mpy import const

_BLOCK = codec.MF_BLOCK_SIZE
_H_BODY = const(10)  # header bytes before its MAC
_C_BODY = const(8)  # credit record bytes before its seal
_GEN_SHIFT = const(24)
_DEBITED_MAX = const(0xFFFFFF)  # ceiling is 24-bit
_HALF = const(128)


def _value(block):
    try:
        return value_of(block)
    except ValueBlockError:
        return None


# --- numbers ------------------------------------------------------------------------------------

def card_number_u40(bcd):
    """6 BCD bytes (12 digits) -> the 5-byte big-endian integer the header stores."""
    n = 0
    for b in bcd:
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise ValueError("card number is not BCD")
        n = n * 100 + hi * 10 + lo
    return n.to_bytes(5, "big")


def card_number_bcd(u40):
    """The header's 5-byte card number -> 6 BCD bytes (what the blacklist and the link carry).
    The 40-bit number is divided by 10**6 a byte at a time (long division in base 256), so every
    intermediate stays a small integer (below 2**28) on a 32-bit MicroPython: no long integer
    is made at every tap of a new card."""
    hi = lo = 0
    for b in u40:
        lo = (lo << 8) | b  # < 10**6 * 256
        d = lo // 1000000
        lo -= d * 1000000
        hi = (hi << 8) | d  # the quotient so far: < 2**40 // 10**6
    out = bytearray(6)
    for i in (5, 4, 3):
        lo, r = divmod(lo, 100)
        out[i] = ((r // 10) << 4) | (r % 10)
    for i in (2, 1, 0):
        hi, r = divmod(hi, 100)
        out[i] = ((r // 10) << 4) | (r % 10)
    return bytes(out)


def seq_of(gen, ceiling, balance):
    return (gen << _GEN_SHIFT) | (ceiling - balance)


def gen_of_seq(seq):
    return (seq >> _GEN_SHIFT) & 0xFF


def gen_after(a, b):
    """Generation `a` is after `b` (8-bit, wrapping): 1..127 steps ahead."""
    d = (a - b) & 0xFF
    return 0 < d < _HALF


# --- sealing ------------------------------------------------------------------------------------

def header_mac(keys, uid, key_version, body, gen):
    return kdf.record_mac(keys.mac_key, codec.REC_HEADER, uid, key_version, bytes(body[:_H_BODY]) + bytes((gen,)),
                          codec.LAYOUT_V2)[:codec.HEADER_MAC_SIZE]


def seal_header(keys, uid, key_version, card_bcd, expiry, ceiling, gen):
    """The 16 header bytes for generation `gen` (`card_bcd`: the 6-byte BCD card number)."""
    body = codec.encode_purse_header(card_number_u40(card_bcd), expiry, ceiling, bytes(codec.HEADER_MAC_SIZE))
    return body[:_H_BODY] + header_mac(keys, uid, key_version, body, gen)


def credit_seal(keys, uid, key_version, credit_body, header_body, gen):
    """8-byte seal of a credit record, under the card's load MAC key (issuer only)."""
    return kdf.record_mac(keys.load_key, codec.REC_CREDIT, uid, key_version,
                          bytes(credit_body[:_C_BODY]) + bytes(header_body[:_H_BODY]) + bytes((gen,)),
                          codec.LAYOUT_V2)


def seal_credit(keys, uid, key_version, credit_seq, kind, amount, header):
    body = codec.encode_credit_record(credit_seq, kind, amount, bytes(codec.MAC_SIZE))[:_C_BODY]
    return body + credit_seal(keys, uid, key_version, body, header, credit_seq & 0xFF)


_verified = {}  # type: dict  # (MAC key, uid, key version, header, generation) that verified lately
_VERIFIED_KEPT = const(8)


def header_verifies(keys, uid, key_version, raw, gen):
    """The header's check MAC is right for generation `gen`. A card tapped again with the very same
    header bytes and generation is not MAC'd again (the same input gives the same answer)."""
    k = (keys.mac_key, bytes(uid), key_version, bytes(raw), gen)
    if k in _verified:
        return True
    ok = kdf.equal_ct(header_mac(keys, uid, key_version, raw, gen), bytes(raw[_H_BODY:_BLOCK]))
    if ok:
        if len(_verified) >= _VERIFIED_KEPT:
            _verified.clear()
        _verified[k] = True
    return ok


def credit_verifies(keys, uid, key_version, raw, header):
    return kdf.equal_ct(credit_seal(keys, uid, key_version, raw, header, codec.decode_credit_record(raw)[0] & 0xFF),
                        bytes(raw[_C_BODY:_BLOCK]))


# --- reading ------------------------------------------------------------------------------------

class PurseView(CardView):
    """A v2 card as read: balance (V), generation, header fields; `slot` in the v1 shape for the
    callers that show or plan from it (day fields 0: a v2 card keeps no day total)."""

    layout = codec.LAYOUT_V2

    def __init__(self, uid, key_version, header, gen, value):
        CardView.__init__(self, uid, key_version, None)
        self.header = header  # decoded PurseHeader tuple
        self.gen = gen
        self.value = value
        self.backup = None  # read when needed
        self.credit = None  # the decoded credit record (issuer reads), None until read
        self.pending_gen = None  # set when an issuer write for gen + 1 is not finished (issuer view)
        self.header_torn = False  # issuer view: the header verifies for no generation (a torn write)
        self._card_number = None
        self._set_slot(0, 0)

    def _set_slot(self, kind, amount):
        self.slot = (self.seq, self.value, 0, 0, kind, amount, 0, 0, b"")
        self.slots = [self.slot, None]
        self.active = 0

    @property
    def balance(self):
        return self.value

    @property
    def ceiling(self):
        return self.header[codec.PURSE_HEADER_CEILING]

    @ceiling.setter
    def ceiling(self, v):
        pass  # CardView.__init__ assigns it; the header decides

    @property
    def debited(self):
        return self.ceiling - self.value

    @property
    def seq(self):
        return seq_of(self.gen, self.ceiling, self.value)

    @property
    def card_number(self):
        if self._card_number is None:  # a 40-bit number: long integer arithmetic, done once
            self._card_number = card_number_bcd(self.header[codec.PURSE_HEADER_CARD_NUMBER])
        return self._card_number

    @property
    def expiry(self):
        return self.header[codec.PURSE_HEADER_EXPIRY]


def _version_sealed(keyring, uid, key_version, raw, gen):
    """Another key version whose purse key verifies the header, or None (a re-key half done)."""
    if keyring is None:
        return None
    for v in keyring.versions():
        if v != key_version and header_verifies(keyring.for_card(uid, v), uid, v, raw, gen):
            return v
    return None


def read(access, keys, key_version, value_raw, header_raw, keyring=None):
    """Verify a v2 card from its balance block and header (both already read by open_card).

    Key A (store readers): a balance block torn by an interrupted TRANSFER is repaired from the
    backup here (the backup is never above it, so the repair can only leave the balance where the
    interrupted debit was taking it). Key B (issuer): also reads identity, credit record and backup,
    and reports an unfinished issuer write in `pending_gen` instead of refusing."""
    uid = bytes(access.tag.uid)
    issuer = access.key_type == KEY_B
    value = _value(value_raw)
    repaired = False
    if value is None:
        backup_raw = bytes(access.read(layout.BACKUP_BLOCK))
        if _value(backup_raw) is None:
            raise Refused(codec.R_CORRUPT, "balance and backup blocks both unreadable: return the card to the issuer")
        if issuer:
            # key B writes the backup's 16 bytes, address byte (generation) included: a torn
            # issuer write is rolled back (balance up: the backup is still the old block) or
            # finished (balance down: the backup was written first); never above the backup
            access.write(layout.BALANCE_BLOCK, backup_raw)
        else:
            # RESTORE the backup, TRANSFER it into the balance block: its own address byte stays
            access.restore_to(layout.BACKUP_BLOCK, layout.BALANCE_BLOCK)
        value_raw = bytes(access.read(layout.BALANCE_BLOCK))
        value = _value(value_raw)
        if value is None:
            raise Refused(codec.R_CORRUPT, "balance block cannot be repaired (address bytes damaged): return the "
                                           "card to the issuer")
        repaired = True
    gen = value_raw[12]
    header_raw = bytes(header_raw)
    header = codec.decode_purse_header(header_raw)
    pending = None
    if not header_verifies(keys, uid, key_version, header_raw, gen):
        nxt = (gen + 1) & 0xFF
        other = _version_sealed(keyring, uid, key_version, header_raw, gen)
        if other is not None:
            raise Refused(codec.R_WRONG_KEY_VERSION, "purse header sealed for key version %d in a sector of key "
                                                     "version %d (re-key interrupted): return the card to the issuer"
                          % (other, key_version))
        torn = not header_verifies(keys, uid, key_version, header_raw, nxt)
        if torn and not issuer:
            raise Refused(codec.R_FORGED, "purse header MAC does not verify")
        if not issuer:
            raise Refused(codec.R_TOPUP_INCOMPLETE, "an issuer write (top-up, void, ...) was not finished on this card: "
                                                    "return it to the issuer")
        pending = nxt
    view = PurseView(uid, key_version, header, gen, value)
    view.repaired = repaired
    view.pending_gen = pending
    if pending is not None and torn:
        # key B: the header verifies for neither generation: an issuer write torn in its first
        # write (the header). recover() re-seals it from the identity record (read below).
        view.header_torn = True
    if pending is None:
        if value < 0 or value > view.ceiling:
            raise Refused(codec.R_INCONSISTENT, "balance block %d is outside 0..%d (its ceiling): report the card"
                          % (value, view.ceiling))
    if issuer:
        read_issuer_side(access, keys, view, header_raw)
    return view


def read_identity(access, keys, view, with_credit=False):
    """The identity record (blocks 4-5; key A or B may read it), checked against the header. A
    store reader's debit does not need it; `card show` and the issuer do. Returns the raw credit
    record block when `with_credit`."""
    uid = view.uid
    raw = access.read(layout.IDENTITY_BLOCK, layout.RECORD_BLOCKS + (1 if with_credit else 0))
    ident = bytes(raw[:codec.IDENTITY_SIZE])
    if not mac_ok(keys, codec.REC_IDENTITY, uid, view.key_version, ident, codec.IDENTITY_SIZE, codec.LAYOUT_V2):
        sealed = codec.decode_identity(ident)
        if sealed[codec.IDENTITY_LAYOUT_VERSION] == codec.LAYOUT_VERSION:
            raise Refused(codec.R_INCONSISTENT, "identity still in layout v1 beside a v2 purse header: the move to "
                                                "v2 was interrupted (`icpurse card recover` finishes it)")
        raise Refused(codec.R_FORGED, "identity record MAC does not verify")
    view.identity = codec.decode_identity(ident)
    if view.header_torn:  # the header's fields as the identity record has them, ceiling = balance
        view.header = (card_number_u40(view.identity[codec.IDENTITY_CARD_NUMBER]), view.identity[codec.IDENTITY_EXPIRY],
                       view.value, b"")
        view._card_number = None
    if card_number_u40(view.identity[codec.IDENTITY_CARD_NUMBER]) != view.header[codec.PURSE_HEADER_CARD_NUMBER]:
        raise Refused(codec.R_INCONSISTENT, "identity and purse header name different card numbers")
    return bytes(raw[codec.IDENTITY_SIZE:codec.IDENTITY_SIZE + _BLOCK]) if with_credit else None


def read_issuer_side(access, keys, view, header_raw):
    """Identity record, credit record and backup (key B): what only the issuer's flows look at."""
    uid = view.uid
    credit_raw = read_identity(access, keys, view, True)
    if credit_verifies(keys, uid, view.key_version, credit_raw, header_raw):
        view.credit = codec.decode_credit_record(credit_raw)
        if view.pending_gen is None and view.credit[0] & 0xFF == view.gen:
            view._set_slot(view.credit[1], view.credit[2])
    else:
        view.credit = None  # a torn credit record, or forged: the issuer's tools say so
    view.backup = _value(bytes(access.read(layout.BACKUP_BLOCK)))


def check_credit(view):
    """Issuer: the credit record seals this generation's header (load MAC): else a forgery by a
    holder of the reader keys and a cracked key B, or an unfinished write."""
    if view.credit is None:
        raise Refused(codec.R_FORGED, "the credit record's seal does not verify (not written by the issuer)")
    if view.pending_gen is None and view.credit[0] & 0xFF != view.gen:
        raise Refused(codec.R_FORGED, "the credit record is for generation %d, the card is at %d"
                      % (view.credit[0] & 0xFF, view.gen))


def is_fresh(view):
    """A card as personalisation leaves it: generation 1, balance 0, nothing debited."""
    return view.gen == 1 and view.value == 0 and view.ceiling == 0 and view.pending_gen is None


# --- recovery (issuer) --------------------------------------------------------------------------

def recover(access, view):
    """Key B: finish what a tear left. An issuer write whose balance block never got the new
    generation did not happen: the card moves to the next generation at the balance it holds (a
    RECOVER write of 0 fen); the backup is brought to the balance. Key A: nothing beyond the
    repair `read` already made (readers never write anything but a debit)."""
    if access.key_type != KEY_B:
        return view
    if view.pending_gen is not None or view.header_torn:
        # An issuer write that never reached its commit point (the balance block still carries
        # generation g): the balance block is the card's balance. Its header was overwritten, so
        # the old ceiling (the counter's debited part) is gone: the card moves on to a new
        # generation with a RECOVER write of 0 fen (ceiling = balance), so that its counter still
        # grows and no counter value of generation g can recur. A torn header (verifying for no
        # generation) is rebuilt from the identity record the same way.
        view.pending_gen = None
        issuer_write(access, view, view.value, codec.TXN_RECOVER, 0)
        view.header_torn = False
        view.repaired = True
        view._set_slot(0, 0)
        return view
    if view.backup != view.value:
        # B := V (key B writes the whole block, so a torn address byte is mended too): never
        # above the balance, so always safe
        access.write(layout.BACKUP_BLOCK, value_block(view.value, view.gen))
        view.backup = view.value
        view.repaired = True
    return view


# --- debit (key A) ------------------------------------------------------------------------------

def plan_debit(view, amount, policy, today, terminal, txn, spent_today=0):
    """The debit after every check that depends on the amount. `spent_today`: what this reader
    already debited from this card today (a v2 card keeps no day total)."""
    check_amount(amount)
    if amount > view.balance:
        raise Refused(codec.R_INSUFFICIENT, "balance %d fen is less than %d fen" % (view.balance, amount))
    if policy.txn_cap and amount > policy.txn_cap:
        raise Refused(codec.R_OVER_TXN_CAP, "amount over the per-transaction cap of %d fen" % policy.txn_cap)
    if policy.daily_cap and spent_today + amount > policy.daily_cap:
        raise Refused(codec.R_OVER_DAILY_CAP, "over the daily cap of %d fen" % policy.daily_cap)
    return (view.seq + amount, view.balance - amount, today, spent_today + amount, codec.TXN_DEBIT, amount,
            terminal, txn)


def debit(access, view, amount):
    """DECREMENT V, TRANSFER B; DECREMENT V, TRANSFER V (the commit point)."""
    tag = access.tag
    access.auth_block(layout.BALANCE_BLOCK)
    tag.decrement(layout.BALANCE_BLOCK, amount)
    tag.transfer(layout.BACKUP_BLOCK)
    tag.decrement(layout.BALANCE_BLOCK, amount)
    tag.transfer(layout.BALANCE_BLOCK)  # <- commit point
    view.value -= amount
    view.backup = view.value
    view._set_slot(codec.TXN_DEBIT, amount)


# --- issuer writes (key B) ----------------------------------------------------------------------

def issuer_write(access, view, balance, kind, amount, expiry=None):
    """Set the card to `balance` as the issuer's transaction (kind, amount): header for the next
    generation, credit record, then the value blocks, lower one first; V last or first so that B
    never exceeds V. Returns the new seq."""
    if access.key_type != KEY_B:
        raise Refused(codec.R_NOT_ALLOWED, "an issuer write needs the issuer's key B")
    if not 0 <= balance <= _DEBITED_MAX:
        raise Refused(codec.R_OVER_BALANCE_CAP, "a v2 card holds at most %d fen" % _DEBITED_MAX)
    if view.pending_gen is not None:
        raise Refused(codec.R_TOPUP_INCOMPLETE, "an earlier issuer write is not finished: recover the card first")
    keys, uid, kv = access.keys, view.uid, view.key_version
    gen = (view.gen + 1) & 0xFF
    # the credit record counts every issuer write; its low byte is the generation
    last = view.credit[0] if view.credit is not None else view.gen
    credit_seq = (last & 0xFFFFFF00) | gen
    if credit_seq <= last:
        credit_seq += 0x100
    header = seal_header(keys, uid, kv, view.card_number, view.expiry if expiry is None else expiry, balance, gen)
    access.write(layout.HEADER_BLOCK, header)
    access.write(layout.CREDIT_BLOCK, seal_credit(keys, uid, kv, credit_seq, kind, amount, header))
    new_v = value_block(balance, gen)
    if balance < view.value:
        access.write(layout.BACKUP_BLOCK, new_v)
        access.write(layout.BALANCE_BLOCK, new_v)  # <- commit point
    else:
        access.write(layout.BALANCE_BLOCK, new_v)  # <- commit point
        access.write(layout.BACKUP_BLOCK, new_v)
    view.header = codec.decode_purse_header(header)
    view._card_number = None
    view.gen = gen
    view.value = view.backup = balance
    view.credit = (credit_seq, kind, amount, b"")
    view._set_slot(kind, amount)
    return view.seq


def migration_blocks(keys, view, value_raw):
    """The blocks that move a v1 card (read and recovered into `view`; `value_raw`: its balance
    block, equal to the committed balance) to layout v2 without changing its balance, in the order they are written
    (docs/card-layout.md, "Migration of v1 cards"): [(block, 16 bytes)].

    The generation is the balance block's own address byte (8 on every v1 card: v1 writes it with
    its block number), so the balance block itself is never written: the backup := balance with that
    address byte, the credit record (ISSUE of 0 fen: the card's first v2 state), the header (ceiling =
    balance; the commit point: from then on every reader reads the card as v2), then the identity
    record sealed for layout 2 (two blocks)."""
    balance = view.balance
    if _value(value_raw) != balance:
        raise Refused(codec.R_INCONSISTENT, "balance block does not follow the committed slot: recover the card first")
    if balance > _DEBITED_MAX:
        raise Refused(codec.R_OVER_BALANCE_CAP, "a v2 card holds at most %d fen, this card %d" % (_DEBITED_MAX, balance))
    gen = value_raw[12]
    uid, kv = view.uid, view.key_version
    fields = list(view.identity[:-1])  # every field but the MAC
    fields[codec.IDENTITY_LAYOUT_VERSION] = codec.LAYOUT_V2
    ident = seal_identity(keys, uid, kv, fields)
    header = seal_header(keys, uid, kv, view.card_number, view.expiry, balance, gen)
    return [(layout.BACKUP_BLOCK, value_block(balance, gen)),
            (layout.CREDIT_BLOCK, seal_credit(keys, uid, kv, gen, codec.TXN_ISSUE, 0, header)),
            (layout.HEADER_BLOCK, header),  # <- commit point
            (layout.IDENTITY_BLOCK, ident[:_BLOCK]),
            (layout.IDENTITY_BLOCK + 1, ident[_BLOCK:])]


def plan_issuer(view, balance_after, kind, amount):
    """The v1-shaped plan of an issuer write (for the callers that record `seq` after it)."""
    return (seq_of((view.gen + 1) & 0xFF, balance_after, balance_after), balance_after, 0, 0, kind, amount, 0, 0)


# --- finding a transaction ----------------------------------------------------------------------

def find_txn(access, view, terminal, kind, amount, seq):
    """purse.find_txn for a v2 card (docs/card-layout.md, "Finding a transaction on a v2 card").

    A store reader's debit of `amount` takes the counter from seq - amount to seq; an issuer write
    takes it from seq - 1 (the counter the issuer recorded, + 1) to the next generation."""
    if seq is None:
        if terminal != 0 or view.credit is None:
            return ABSENT
        c = view.credit
        return COMMITTED if (c[0] & 0xFF == view.gen and c[1] == kind and c[2] == amount) else ABSENT
    debit = terminal != 0
    before = seq - amount if debit else seq - 1
    g_b = gen_of_seq(before)
    d_b = before & _DEBITED_MAX
    if view.gen != g_b:
        if gen_after(g_b, view.gen) or g_b == (view.gen + _HALF) & 0xFF:
            return OLD_COPY
        if debit or view.gen != (g_b + 1) & 0xFF:
            return UNKNOWN
        c = view.credit  # an issuer write: the generation after the one recorded
        if c is None:
            return UNKNOWN
        if c[0] & 0xFF == view.gen and c[1] == kind and c[2] == amount:
            return COMMITTED
        return ABSENT
    if view.debited < d_b:
        return OLD_COPY
    if not debit or view.debited == d_b:
        return ABSENT  # the counter never got to the transaction's generation / amount
    if view.debited == d_b + amount:
        return COMMITTED
    return UNKNOWN
