"""The icpurse purse protocol: read, verify, recover and commit. Written once.

The store reader (firmware) and the issuer tools (host) both import this module; the rules are in
docs/card-layout.md ("Tear recovery rule"). Byte layouts come from the generated codec, sector and
block numbers from icpurse.protocol.layout.

A `tag` is a firmware.tag.Tag (the reader's ClassicTag, or a host reader's tag): uid,
authenticate(block, key, key_type), read_block, read_block_into, read_blocks_into, write_block,
decrement, transfer.
`keys` is a firmware.keyring.CardKeys for that card.
"""
from icpurse.firmware import codec, kdf
from icpurse.firmware.mifare import AuthError, MifareError, ValueBlockError, value_block, value_of
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry
from icpurse.protocol.mpy import const

KEY_A = codec.MF_AUTH_A
KEY_B = codec.MF_AUTH_B
_SLOT_SIZE = codec.PURSE_SLOT_SIZE
_BLOCK = codec.MF_BLOCK_SIZE
_SAK_CLASSIC = const(0x08)  # SAK bit 3: MIFARE Classic (1K 08, 4K 18, Mini 09, emulated 28/38); NXP AN10833
_VALUE_MAX = const(0x7FFFFFFF)  # a value block holds a signed 32-bit value; a slot balance is 32-bit unsigned


def _value(block):
    """Value of a value block, or None when the block is not one (e.g. a torn TRANSFER)."""
    try:
        return value_of(block)
    except ValueBlockError:
        return None


class Refused(Exception):
    """A card or transaction refused for a reason in codec.R_* (nothing was written)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Policy:
    """The programme rules a reader enforces offline (configured by the host). Amounts in fen."""

    def __init__(self, grace_days=0, txn_cap=0, daily_cap=0, balance_cap=0):
        self.grace_days = grace_days
        self.txn_cap = txn_cap  # 0 = no per-transaction cap
        self.daily_cap = daily_cap  # 0 = no daily cap
        self.balance_cap = balance_cap  # 0 = no balance cap (top-ups only)


class Access:
    """Authenticated block access with one key type; re-authenticates only on a sector change."""

    def __init__(self, tag, keys, key_type=KEY_A):
        self.tag = tag
        self.keys = keys
        self.key_type = key_type
        self.sector = -1
        self._lo = self._hi = 0  # the blocks of the authenticated sector: lo <= block < hi
        self.keyring = None  # set by open_card: the versions a half re-keyed card is checked against
        self.scratch = bytearray(_BLOCK)  # one block whose bytes are not kept (value blocks)
        self.value_raw = bytearray(_BLOCK)  # block 8 and block 10 as open_card read them
        self.header_raw = bytearray(_BLOCK)

    def _auth(self, block):
        if self._lo <= block < self._hi:
            return  # in the sector authenticated last (a tap's blocks mostly are: no arithmetic)
        sector, lo, hi = geometry.sector_span(block)
        if sector != self.sector:
            self.forget()  # a failed auth halts the card; the tag layer re-selects
            self.tag.authenticate(block, self.keys.sector_key(sector, self.key_type), self.key_type)
            self.sector = sector
        self._lo, self._hi = lo, hi

    def read(self, block, count=1):
        """`count` blocks from `block`: bytes for one block, else one bytearray."""
        self._auth(block)
        if count == 1:
            return self.tag.read_block(block)
        return self.tag.read_blocks_into(block, count, bytearray(count * _BLOCK))

    def read_into(self, block, buf):
        """One block into the first 16 bytes of `buf` (a preallocated buffer); returns `buf`."""
        self._auth(block)
        return self.tag.read_block_into(block, buf)

    def auth_block(self, block):
        """Authenticate for `block`'s sector (when not already)."""
        self._auth(block)

    def restore_to(self, source, dest):
        """dest := source, two value blocks of one sector (RESTORE source, TRANSFER dest)."""
        self._auth(dest)
        self.tag.restore(source)
        self.tag.transfer(dest)

    def write(self, block, data):
        self._auth(block)
        for i in range(len(data) // _BLOCK):
            self.tag.write_block(block + i, data[i * _BLOCK:(i + 1) * _BLOCK])

    def set_value(self, dest, source, current, target):
        """dest := target, via DECREMENT source by (current - target) and TRANSFER dest.

        Key A may only decrement, so target <= current; idempotent when repeated after a tear."""
        if target > current:
            raise Refused(codec.R_NOT_ALLOWED, "cannot raise a value block with a decrement")
        self._auth(dest)
        self.tag.decrement(source, current - target)
        self.tag.transfer(dest)

    def forget(self):
        self.sector = -1
        self._lo = self._hi = 0


class CardView:
    """What a v1 card holds, verified. `slot` is the committed state (tuple, codec PURSE_SLOT_*).
    (A v2 card reads into purse2.PurseView, a subclass with the same interface.)"""

    layout = codec.LAYOUT_VERSION
    log = None  # the on-card log once find_txn read it (write_log forgets it); a class default, so a
    # tap that never needs the log allocates nothing for it

    def __init__(self, uid, key_version, identity):
        self.uid = uid
        self.key_version = key_version
        self.identity = identity
        self.slots = [None, None]  # type: list
        self.active = -1  # index of the committed slot
        self.slot = None
        self.value = None  # balance block, None when not a valid value block
        self.ceiling = None  # read only when needed
        self.repaired = False  # the balance block was rolled forward during this tap

    @property
    def balance(self):
        return self.slot[codec.PURSE_SLOT_BALANCE]

    @property
    def seq(self):
        return self.slot[codec.PURSE_SLOT_SEQ]

    @property
    def card_number(self):
        return self.identity[codec.IDENTITY_CARD_NUMBER]

    @property
    def expiry(self):
        return self.identity[codec.IDENTITY_EXPIRY]


def mac_ok(keys, record_type, uid, key_version, raw, size, layout_version=codec.LAYOUT_VERSION):
    return kdf.verify_record_mac(keys.mac_key, record_type, uid, key_version, raw[:size - codec.MAC_SIZE],
                                 raw[size - codec.MAC_SIZE:size], layout_version)


def _seal(keys, record_type, uid, key_version, raw_without_mac):
    body = raw_without_mac[:len(raw_without_mac) - codec.MAC_SIZE]
    return body + kdf.record_mac(keys.mac_key, record_type, uid, key_version, body)


def seal_identity(keys, uid, key_version, fields):
    """Identity record bytes with MAC; `fields` = identity fields without `mac`, in codec order
    (the layout version among them decides the MAC's layout byte)."""
    body = codec.encode_identity(*(tuple(fields) + (bytes(codec.MAC_SIZE),)))[:codec.IDENTITY_SIZE - codec.MAC_SIZE]
    return body + kdf.record_mac(keys.mac_key, codec.REC_IDENTITY, uid, key_version, body,
                                 fields[codec.IDENTITY_LAYOUT_VERSION])


def seal_slot(keys, uid, key_version, plan):
    """Purse slot bytes with MAC; `plan` = slot fields without `mac` (seq, balance, ..., txn)."""
    return _seal(keys, codec.REC_SLOT, uid, key_version, codec.encode_purse_slot(*(tuple(plan) + (bytes(codec.MAC_SIZE),))))


def seal_log(keys, uid, key_version, slot, now):
    """Log entry bytes with MAC for a committed slot at time `now`."""
    return _seal(keys, codec.REC_LOG, uid, key_version, codec.encode_log_entry(
        slot[codec.PURSE_SLOT_SEQ], slot[codec.PURSE_SLOT_KIND], slot[codec.PURSE_SLOT_AMOUNT],
        slot[codec.PURSE_SLOT_BALANCE], slot[codec.PURSE_SLOT_TERMINAL], slot[codec.PURSE_SLOT_TXN], now,
        bytes(codec.MAC_SIZE)))


def issue_slot():
    """The state of a freshly personalised card: sequence 1, balance 0, kind ISSUE."""
    return (1, 0, 0, 0, codec.TXN_ISSUE, 0, 0, 0)


def open_card(tag, keyring, key_type=KEY_A):
    """Find the key version that opens the purse sector; return (Access, CardKeys, key_version).

    The purse sector (sector 2) is the one a v2 debit needs and exists on v1 cards as well: its
    balance block and block 10 (v2: the purse header; v1: zeros) are read here, at once, for
    read_card. Tries the key versions the key ring holds, newest first (cards are re-keyed at
    top-up, so the newest usually wins at once). A failed authentication halts the card; the tag
    re-selects it. A card whose SAK says it does not speak MIFARE Classic (Ultralight, DESFire,
    ...) is refused before any command is sent to it."""
    sak = getattr(tag, "sak", None)
    if sak is not None and not sak & _SAK_CLASSIC:
        raise Refused(codec.R_UNKNOWN_CARD, "not a MIFARE Classic card (SAK 0x%02X, ATQA %s): present an icpurse card"
                      % (sak, "%04X" % tag.atqa if getattr(tag, "atqa", None) is not None else "?"))
    uid = bytes(tag.uid)
    for version in keyring.versions():
        keys = keyring.for_card(uid, version)
        access = Access(tag, keys, key_type)
        try:
            access.read_into(layout.BALANCE_BLOCK, access.value_raw)
        except AuthError:
            continue
        access.read_into(layout.HEADER_BLOCK, access.header_raw)
        access.keyring = keyring
        return access, keys, version
    if not keyring.versions():
        raise Refused(codec.R_NOT_ALLOWED, "the reader holds no keys")
    if _has_icpurse_mad(tag):
        raise Refused(codec.R_WRONG_KEY_VERSION, "an icpurse card of a key version this reader does not hold")
    raise Refused(codec.R_UNKNOWN_CARD, "not an icpurse card of this issuer")


def _has_icpurse_mad(tag):
    """True if sector 0 opens with the public MAD key and holds the icpurse v1 MAD."""
    try:
        tag.authenticate(1, codec.MAD_KEY_A, KEY_A)
        mad = bytes(tag.read_block(1)) + bytes(tag.read_block(2))
    except MifareError:
        return False
    return mad == codec.LAYOUT_MAD1 or mad == codec.LAYOUT_MAD1_V2


def _zeros(buf):
    for b in buf:
        if b:
            return False
    return True


def read_card(access, keys, key_version):
    """Read and verify a card opened by open_card: a v2 card from its purse sector (purse2.read),
    a v1 card (block 10 all zeros) from its identity, balance block and committed slot."""
    if not _zeros(access.header_raw):
        return purse2.read(access, keys, key_version, access.value_raw, access.header_raw, access.keyring)
    return _read_v1(access, keys, key_version)


def _read_v1(access, keys, key_version):
    """Read and verify identity, balance block and the committed slot (layout v1).

    Slots: the head block (with `seq`) of both, then the rest of the newer one only; the older
    slot is read in full only when the newer fails its MAC or both claim the same sequence number.
    `view.slots[i]` is None for a slot that is invalid or was not read in full."""
    uid = bytes(access.tag.uid)
    try:
        raw = access.read(layout.IDENTITY_BLOCK, layout.RECORD_BLOCKS)
    except AuthError:
        # the purse sector opened with these keys, the identity sector does not: a re-key writes the
        # identity sector's trailer last, so this card was left half re-keyed
        raise Refused(codec.R_WRONG_KEY_VERSION, "identity sector not on key version %d while its purse sector is "
                                                 "(re-key interrupted): return the card to the issuer" % key_version)
    if not mac_ok(keys, codec.REC_IDENTITY, uid, key_version, raw, codec.IDENTITY_SIZE):
        sealed_for = codec.decode_identity(raw)[codec.IDENTITY_KEY_VERSION]
        if sealed_for != key_version:
            # the issuer's re-key writes the identity for the new version first and the identity
            # sector's trailer last: in between the card is half re-keyed, never to be debited
            raise Refused(codec.R_WRONG_KEY_VERSION, "identity sealed for key version %d in a sector of key version "
                          "%d (re-key interrupted): return the card to the issuer" % (sealed_for, key_version))
        raise Refused(codec.R_FORGED, "identity record MAC does not verify")
    identity = codec.decode_identity(raw)
    if identity[codec.IDENTITY_LAYOUT_VERSION] != codec.LAYOUT_VERSION:
        raise Refused(codec.R_UNKNOWN_CARD, "unknown layout version %d" % identity[codec.IDENTITY_LAYOUT_VERSION])
    if identity[codec.IDENTITY_KEY_VERSION] != key_version:
        raise Refused(codec.R_FORGED, "identity key version does not match the card's keys")
    view = CardView(uid, key_version, identity)
    view.value = _value(access.value_raw)
    # each slot's head block goes into the first half of its buffer, the rest only when needed
    raws = (bytearray(_SLOT_SIZE), bytearray(_SLOT_SIZE))
    seqs = [codec.decode_purse_slot_head(access.read_into(layout.slot_block(i), raws[i]))[codec.PURSE_SLOT_HEAD_SEQ]
            for i in (0, 1)]
    order = (0, 1) if seqs[0] >= seqs[1] else (1, 0)

    def full(i):
        raw = raws[i]
        access.read_into(layout.slot_block(i) + 1, memoryview(raw)[_BLOCK:])
        if mac_ok(keys, codec.REC_SLOT, uid, key_version, raw, _SLOT_SIZE):
            view.slots[i] = codec.decode_purse_slot(raw)
        return view.slots[i]

    best = order[0] if full(order[0]) is not None else -1
    if best < 0 or seqs[0] == seqs[1]:
        if full(order[1]) is not None:
            if best >= 0 and view.slots[order[1]] != view.slots[best]:
                raise Refused(codec.R_CORRUPT, "both slots claim sequence %d" % seqs[best])
            if best < 0:
                best = order[1]
    if best < 0:
        raise Refused(codec.R_CORRUPT, "no valid purse slot")
    if view.slots[best][codec.PURSE_SLOT_BALANCE] > _VALUE_MAX:
        # MAC-valid yet impossible: no value block can follow it (found by fuzzing)
        raise Refused(codec.R_CORRUPT, "committed balance %d fen does not fit the card" % view.slots[best][codec.PURSE_SLOT_BALANCE])
    view.active = best
    view.slot = view.slots[best]
    return view


def read_identity(access, keys, view):
    """The identity record of the card read into `view` (a store reader's v2 debit skips it; `card
    show` and the issuer need it). Returns the identity tuple."""
    if view.identity is None:
        purse2.read_identity(access, keys, view)
    return view.identity


def is_fresh(view):
    """The card is as personalisation leaves it (no value, no transaction since)."""
    if view.layout != codec.LAYOUT_VERSION:
        return purse2.is_fresh(view)
    return view.seq == 1 and view.balance == 0 and view.value == 0


def read_slot(access, keys, view, i):
    """Slot `i` read in full and verified, or None: the older slot, which read_card leaves unread
    unless it must (find_txn reads it when it may hold the transaction looked for)."""
    raw = access.read(layout.slot_block(i), layout.RECORD_BLOCKS)
    if mac_ok(keys, codec.REC_SLOT, view.uid, view.key_version, raw, _SLOT_SIZE):
        return codec.decode_purse_slot(raw)
    return None


_CREDITS = (codec.TXN_LOAD, codec.TXN_REFUND, codec.TXN_ADJUST, codec.TXN_RECOVER, codec.TXN_ISSUE)
# kinds that lower the balance: a void (撤销) takes a load back, so it is torn and repaired like a debit
_DEBITS = (codec.TXN_DEBIT, codec.TXN_VOID)


def recover(access, view):
    """Bring the balance block into line with the committed slot (roll forward, never back).

    Only a difference a tear explains is repaired: the balance block still holds the balance
    before the committed slot's own transaction (its `amount` away), or it is not a valid value
    block (torn TRANSFER / WRITE). Anything else is refused as INCONSISTENT and nothing is written.
    Key A (readers) repairs by decrements only: from the balance block itself or from the ceiling.
    Key B (issuer) may also raise the ceiling and write the balance block. (v2: purse2.recover.)"""
    if view.layout != codec.LAYOUT_VERSION:
        return purse2.recover(access, view)
    slot = view.slot
    target = slot[codec.PURSE_SLOT_BALANCE]
    value = view.value
    if value is not None and value == target:
        return view
    amount = slot[codec.PURSE_SLOT_AMOUNT]
    kind = slot[codec.PURSE_SLOT_KIND]
    if value is not None:
        debit_torn = kind in _DEBITS and value == target + amount
        credit_torn = kind in _CREDITS and value == target - amount
        if not (debit_torn or credit_torn):
            raise Refused(codec.R_INCONSISTENT, "balance block %d does not follow the committed slot "
                          "(seq %d, balance %d): report the card" % (value, view.seq, target))
    issuer = access.key_type == KEY_B
    if value is not None and value > target:
        access.set_value(layout.BALANCE_BLOCK, layout.BALANCE_BLOCK, value, target)
    else:
        view.ceiling = _value(access.read_into(layout.CEILING_BLOCK, access.scratch))
        if view.ceiling is None or view.ceiling < target:
            if not issuer:
                raise Refused(codec.R_TOPUP_INCOMPLETE, "top-up not finished on this card: return it to the issuer")
            access.write(layout.CEILING_BLOCK, value_block(target, layout.CEILING_BLOCK))
            view.ceiling = target
        if issuer:
            access.write(layout.BALANCE_BLOCK, value_block(target, layout.BALANCE_BLOCK))
        else:
            access.set_value(layout.BALANCE_BLOCK, layout.CEILING_BLOCK, view.ceiling, target)
    view.value = _value(access.read_into(layout.BALANCE_BLOCK, access.scratch))
    if view.value != target:
        raise Refused(codec.R_INCONSISTENT, "balance block does not follow the committed slot")
    view.repaired = True
    return view


def check_usable(view, policy, today, blacklisted=False):
    """Refusals that do not depend on an amount: blacklist and expiry (+ the programme's grace)."""
    if blacklisted:
        raise Refused(codec.R_BLACKLISTED, "card is blacklisted")
    expiry = view.expiry
    if expiry and today > expiry + policy.grace_days:
        raise Refused(codec.R_EXPIRED, "card expired (day %d, grace %d days)" % (expiry, policy.grace_days))


def check_amount(amount):
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0 or amount >= 1 << 24:
        raise Refused(codec.R_BAD_AMOUNT, "amount must be a positive integer number of fen below 16777216")


_SEQ_MAX = const(0xFFFFFFFF)  # slot `seq` is 32-bit
_DAY_SPENT_MAX = const(0xFFFFFF)  # slot `day_spent` is 24-bit


def _next_seq(view):
    if view.seq >= _SEQ_MAX:
        raise Refused(codec.R_NOT_ALLOWED, "the card's transaction counter is used up: replace the card")
    return view.seq + 1


def plan_debit(view, amount, policy, today, terminal, txn, spent_today=0):
    """The slot a debit will commit, after every check. Writes nothing. `spent_today`: what this
    reader debited from the card today by its own records (the card's day total can be restored
    with an old copy of the card; the larger of the two counts)."""
    if view.layout != codec.LAYOUT_VERSION:
        return purse2.plan_debit(view, amount, policy, today, terminal, txn, spent_today)
    check_amount(amount)
    slot = view.slot
    seq = _next_seq(view)
    if amount > view.balance:
        raise Refused(codec.R_INSUFFICIENT, "balance %d fen is less than %d fen" % (view.balance, amount))
    if policy.txn_cap and amount > policy.txn_cap:
        raise Refused(codec.R_OVER_TXN_CAP, "amount over the per-transaction cap of %d fen" % policy.txn_cap)
    spent = slot[codec.PURSE_SLOT_DAY_SPENT] if slot[codec.PURSE_SLOT_DAY] == today else 0
    if spent_today > spent:
        spent = spent_today
    if policy.daily_cap and spent + amount > policy.daily_cap:
        raise Refused(codec.R_OVER_DAILY_CAP, "over the daily cap of %d fen" % policy.daily_cap)
    if spent + amount > _DAY_SPENT_MAX:
        raise Refused(codec.R_OVER_DAILY_CAP, "over the most a card can record for one day (%d fen)" % _DAY_SPENT_MAX)
    return (seq, view.balance - amount, today, spent + amount, codec.TXN_DEBIT, amount, terminal, txn)


def plan_void(view, amount, terminal=0, txn=0):
    """The slot that takes a load back (撤销): the balance drops by the load's full amount. Not
    spending, so the day total is carried unchanged. `txn` names the load being voided."""
    check_amount(amount)
    slot = view.slot
    if amount > view.balance:
        raise Refused(codec.R_INSUFFICIENT, "balance %d fen is less than the %d fen to void" % (view.balance, amount))
    if view.layout != codec.LAYOUT_VERSION:
        return purse2.plan_issuer(view, view.balance - amount, codec.TXN_VOID, amount)
    seq = _next_seq(view)
    return (seq, view.balance - amount, slot[codec.PURSE_SLOT_DAY], slot[codec.PURSE_SLOT_DAY_SPENT],
            codec.TXN_VOID, amount, terminal, txn)


def plan_credit(view, amount, policy, today, kind, terminal=0, txn=0):
    """The slot a top-up (or refund of goods) will commit; the cap applies to the new balance."""
    check_amount(amount)
    slot = view.slot
    new = view.balance + amount
    cap = policy.balance_cap if policy.balance_cap and policy.balance_cap < _VALUE_MAX else _VALUE_MAX
    if new > cap:
        raise Refused(codec.R_OVER_BALANCE_CAP, "balance would be %d fen, over the cap of %d fen" % (new, cap))
    if view.layout != codec.LAYOUT_VERSION:
        return purse2.plan_issuer(view, new, kind, amount)
    seq = _next_seq(view)
    return (seq, new, slot[codec.PURSE_SLOT_DAY], slot[codec.PURSE_SLOT_DAY_SPENT], kind, amount, terminal, txn)


def commit(access, view, plan, now, log=True):
    """Write `plan` (a slot without MAC) to the card: slot first (the commit point), then the
    balance block, then (unless `log` is False: the caller writes it after telling the customer)
    the log entry. Returns the new committed slot tuple.

    A debit lowers the balance block by decrement (key A); a credit needs key B: it raises the
    ceiling before the slot and writes the balance block after it."""
    if bytes(access.tag.uid) != view.uid:
        raise Refused(codec.R_CARD_CHANGED, "a different card is in the field")
    if view.layout != codec.LAYOUT_VERSION:
        return _commit_v2(access, view, plan)
    if view.value != view.balance:
        raise Refused(codec.R_INCONSISTENT, "recover the card before committing")
    credit = plan[1] > view.balance
    if credit:
        if access.key_type != KEY_B:
            raise Refused(codec.R_NOT_ALLOWED, "raising a balance needs the issuer's key B")
        if view.ceiling is None:
            view.ceiling = _value(access.read_into(layout.CEILING_BLOCK, access.scratch))
        if view.ceiling is None or view.ceiling < plan[1]:
            access.write(layout.CEILING_BLOCK, value_block(plan[1], layout.CEILING_BLOCK))
            view.ceiling = plan[1]
    raw = seal_slot(access.keys, view.uid, view.key_version, plan)
    inactive = 1 - view.active
    access.write(layout.slot_block(inactive), raw)  # <- commit point
    slot = codec.decode_purse_slot(raw)
    view.slots[inactive] = slot
    view.active = inactive
    view.slot = slot
    if credit:
        access.write(layout.BALANCE_BLOCK, value_block(plan[1], layout.BALANCE_BLOCK))
    else:
        # recover() ran first, so the balance block equals the previous committed balance.
        access.set_value(layout.BALANCE_BLOCK, layout.BALANCE_BLOCK, view.value, plan[1])
    view.value = plan[1]
    if log:
        write_log(access, view, slot, now)
    return slot


def _commit_v2(access, view, plan):
    balance, kind, amount = plan[1], plan[4], plan[5]
    if access.key_type == KEY_B:
        purse2.issuer_write(access, view, balance, kind, amount)
    elif kind == codec.TXN_DEBIT and balance == view.balance - amount:
        purse2.debit(access, view, amount)
    else:
        raise Refused(codec.R_NOT_ALLOWED, "a store reader only debits")
    return view.slot


def set_expiry(access, view, expiry):
    """A v2 card's header carries the expiry readers check: the issuer rewrites it (key B) as an
    issuer write of 0 fen (adjust); the identity record is rewritten by the caller. v1: nothing
    (readers read the identity record)."""
    if view.layout != codec.LAYOUT_VERSION:
        purse2.issuer_write(access, view, view.balance, codec.TXN_ADJUST, 0, expiry)
    return view


def write_log(access, view, slot, now):
    """Append the log entry of a committed slot (ring position seq % LOG_ENTRIES). A v2 card has
    no on-card log: nothing to do."""
    if view.layout != codec.LAYOUT_VERSION:
        return
    if view.log is not None:
        view.log = None  # read again when next needed
    access.write(layout.log_block(slot[codec.PURSE_SLOT_SEQ]), seal_log(access.keys, view.uid, view.key_version, slot, now))


def read_log(access, keys, view):
    """The on-card log, newest first: list of log entry tuples (torn or forged entries left out).
    A v2 card keeps none: the reader journals and the ledger are its history."""
    out = []  # type: list
    if view.layout != codec.LAYOUT_VERSION:
        return out
    for pos in range(codec.LOG_ENTRIES):
        raw = access.read(geometry.first_block(layout.LOG_SECTORS[pos]), layout.RECORD_BLOCKS)
        if mac_ok(keys, codec.REC_LOG, view.uid, view.key_version, raw, codec.LOG_ENTRY_SIZE):
            out.append(codec.decode_log_entry(raw))
    out.sort(key=lambda e: -e[codec.LOG_ENTRY_SEQ])
    return out


# Outcomes of find_txn (docs/card-layout.md, "Finding a transaction on a card").
COMMITTED = "committed"
ABSENT = "absent"
UNKNOWN = "unknown"
OLD_COPY = "old_copy"


def _is(kind_, amount_, terminal_, txn_, kind, amount, terminal, txn):
    # An ISSUE credit of txn 0 is the face value load written before ISSUE carried its ledger
    # transaction: a card is loaded with its face value once in its life (personalisation's own
    # ISSUE slot has amount 0, and a face value is never 0), so it matches any ISSUE txn.
    return (kind_ == kind and amount_ == amount and terminal_ == terminal
            and (txn_ == txn or (txn_ == 0 and kind == codec.TXN_ISSUE)))


def find_txn(access, view, terminal, txn, kind, amount, seq=None):
    """Is the transaction (terminal, txn, kind, amount) on the card read into `view`? The one rule
    for the reader settling an interrupted debit and for the issuer settling a top-up, a void, a
    lifecycle write or the face value load (docs/card-layout.md, "Finding a transaction on a card").

    `seq` is the counter value the transaction takes: the counter the caller saw before it, + 1.
    Only a valid (MAC'd) slot or log entry at `seq` counts. Returns
      COMMITTED  the slot or log entry at `seq` carries the transaction;
      ABSENT     the card's counter never reached `seq`, or another transaction holds `seq`;
      UNKNOWN    the card moved past `seq` and neither slot nor log still shows what holds it;
      OLD_COPY   the counter is below `seq - 1`, what the caller saw before the transaction: this
                 is an older copy of the card (an integrity problem, never a settlement).
    `seq` None (a flow that recorded no counter and settles at once, card in hand): COMMITTED if a
    slot or log entry anywhere carries it, else ABSENT; this rests on the transaction, if it was
    written, still being in a slot or the log (the card made fewer than ten transactions since).

    Reads lazily with `access`: the older slot (which read_card may leave unread) only when it may
    hold `seq`, i.e. the card moved exactly one past it (seq None: always); the log only when the
    slots did not decide, and once per view (`view.log`). A tap that finds its transaction in the
    committed slot, or finds the card never got there, reads nothing more."""
    if view.layout != codec.LAYOUT_VERSION:
        return purse2.find_txn(access, view, terminal, kind, amount, seq)
    if seq is not None:
        if view.seq < seq - 1:
            return OLD_COPY
        if view.seq < seq:
            return ABSENT
    older = 1 - view.active
    if view.slots[older] is None and (seq is None or view.seq == seq + 1):
        view.slots[older] = read_slot(access, access.keys, view, older)
    for s in view.slots:
        if s is None or (seq is not None and s[codec.PURSE_SLOT_SEQ] != seq):
            continue
        if _is(s[codec.PURSE_SLOT_KIND], s[codec.PURSE_SLOT_AMOUNT], s[codec.PURSE_SLOT_TERMINAL],
               s[codec.PURSE_SLOT_TXN], kind, amount, terminal, txn):
            return COMMITTED
        if seq is not None:
            return ABSENT  # another transaction took that counter value
    log = view.log
    if log is None:
        log = view.log = read_log(access, access.keys, view)
    for e in log:
        if seq is not None and e[codec.LOG_ENTRY_SEQ] != seq:
            continue
        if _is(e[codec.LOG_ENTRY_KIND], e[codec.LOG_ENTRY_AMOUNT], e[codec.LOG_ENTRY_TERMINAL],
               e[codec.LOG_ENTRY_TXN], kind, amount, terminal, txn):
            return COMMITTED
        if seq is not None:
            return ABSENT
    return ABSENT if seq is None else UNKNOWN


# the v2 rules (purse2 imports the names above: imported last)
from icpurse.firmware import purse2  # noqa: E402
