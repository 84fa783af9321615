"""Fuzz target: firmware/purse over a simulated card whose application blocks the input chooses.

An issued card (4- or 7-byte UID) gets its identity record, balance and ceiling blocks, both
purse slots and some log entries replaced: raw bytes, records re-sealed with the right MAC key
around fuzzed fields (so the checks after the MAC run too), valid value blocks with fuzzed values,
single flipped bytes.  Then a store reader (key A) or the issuer (key B) taps it: open_card,
read_card, recover, check_usable, plan a debit or a credit, commit, read_log, find_txn.

Property: the tap ends in purse.Refused or succeeds with a consistent view; never any other
exception (a card is untrusted input).  After a successful commit, a second tap reads back exactly
the committed slot and balance.
"""
import _common

with _common.instrument(__name__):
    from icpurse.firmware import codec, kdf, purse
    from icpurse.firmware.keyring import KeyRing, KeySet
    from icpurse.firmware.mifare import value_block
    from icpurse.hil.sim import factory
    from icpurse.hil.sim.card import ClassicCard
    from icpurse.hil.sim.tag import CardTag
    from icpurse.protocol import layout
    from icpurse.protocol.mifare import geometry

h = bytes.fromhex
MASTERS = dict(sector_a=h("11" * 16), sector_b=h("22" * 16), purse_mac=h("33" * 16), load_mac=h("44" * 16))
UIDS = (h("DEADBEEF"), h("04A1B2C3D4E580"))
TODAY = 9500
NOW = TODAY * 86400
TERMINAL = 12345678


class CachedRing(KeyRing):
    """KeyRing whose per-card keys are derived once (the pure-Python AES is slow)."""

    def __init__(self, keysets):
        KeyRing.__init__(self, keysets)
        self._cards = {}

    def for_card(self, uid, version):
        k = (bytes(uid), version)
        if k not in self._cards:
            self._cards[k] = KeyRing.for_card(self, uid, version)
        return self._cards[k]


ISSUER = CachedRing([KeySet(1, MASTERS["sector_a"], MASTERS["purse_mac"], sector_b=MASTERS["sector_b"],
                            load_mac=MASTERS["load_mac"])])
READER = CachedRing([KeySet(1, MASTERS["sector_a"], MASTERS["purse_mac"])])
_IMAGES = {}


def _image(uid):
    if uid not in _IMAGES:
        keys = ISSUER.for_card(uid, 1)
        card = factory.issued_card(uid, keys, factory.identity_fields(1, expiry=TODAY + 300), NOW - 86400)
        # one top-up, so the card has a balance and a ceiling
        tag = CardTag(card)
        access, ck, v = purse.open_card(tag, ISSUER, purse.KEY_B)
        view = purse.recover(access, purse.read_card(access, ck, v))
        purse.commit(access, view, purse.plan_credit(view, 5000, purse.Policy(), TODAY, codec.TXN_LOAD), NOW)
        _IMAGES[uid] = [bytes(b) for b in card.blocks]
    return _IMAGES[uid]


def _record(inp, old, rec_type, uid, size):
    """New bytes for a two-block record: keep, raw, re-sealed fuzz body, or one byte flipped."""
    mode = inp.u8() % 4
    if mode == 0:
        return old
    if mode == 1:
        return inp.take(size)
    if mode == 2:
        body = bytearray(inp.take(size - codec.MAC_SIZE))
        if rec_type == codec.REC_IDENTITY and inp.flag():
            body[0] = codec.LAYOUT_VERSION  # get past the layout check
            body[1] = 1  # and the key version check
        mac = kdf.record_mac(ISSUER.for_card(uid, 1).mac_key, rec_type, uid, 1, bytes(body))
        return bytes(body) + mac + old[size:]
    out = bytearray(old)
    out[inp.below(len(out))] ^= 1 + inp.u8() % 255
    return bytes(out)


def _value(inp, old, block):
    mode = inp.u8() % 4
    if mode == 0:
        return old
    if mode == 1:
        return inp.take(16)
    if mode == 2:
        v = inp.uint(4)
        v = v - (1 << 32) if v & 0x80000000 else v
        if inp.flag():
            v = v & 0xFFFF  # small balances are the interesting ones
        return value_block(v, block if inp.flag() else inp.u8())
    out = bytearray(old)
    out[inp.below(16)] ^= 1 + inp.u8() % 255
    return bytes(out)


def _card(inp):
    uid = UIDS[inp.u8() & 1]
    blocks = [bytearray(b) for b in _image(uid)]

    def put(block, data):
        for i in range(len(data) // 16):
            blocks[block + i][:] = data[i * 16:(i + 1) * 16]

    def get(block, n):
        return b"".join(bytes(blocks[block + i]) for i in range(n))

    put(layout.IDENTITY_BLOCK, _record(inp, get(layout.IDENTITY_BLOCK, 2), codec.REC_IDENTITY, uid, 32))
    put(layout.BALANCE_BLOCK, _value(inp, get(layout.BALANCE_BLOCK, 1), layout.BALANCE_BLOCK))
    put(layout.CEILING_BLOCK, _value(inp, get(layout.CEILING_BLOCK, 1), layout.CEILING_BLOCK))
    for i in (0, 1):
        b = layout.slot_block(i)
        put(b, _record(inp, get(b, 2), codec.REC_SLOT, uid, 32))
    for _ in range(inp.u8() % 3):
        b = geometry.first_block(layout.LOG_SECTORS[inp.below(len(layout.LOG_SECTORS))])
        put(b, _record(inp, get(b, 2), codec.REC_LOG, uid, 32))
    return ClassicCard(uid, blocks=blocks)


def _check_view(view):
    if view.slot is None or view.slots[view.active] is not view.slot:
        raise AssertionError("view without its committed slot")
    if not isinstance(view.balance, int) or view.balance < 0:
        raise AssertionError("balance %r" % (view.balance,))


def _tap(card, issuer, inp):
    tag = CardTag(card)
    ring = ISSUER if issuer else READER
    access, keys, v = purse.open_card(tag, ring, purse.KEY_B if issuer else purse.KEY_A)
    view = purse.read_card(access, keys, v)
    _check_view(view)
    purse.recover(access, view)
    if view.value != view.balance:
        raise AssertionError("recover returned with balance block %r, slot %d" % (view.value, view.balance))
    purse.check_usable(view, purse.Policy(grace_days=inp.u8() % 3), TODAY - 200 + inp.u8() * 2, False)
    amount = 1 + inp.uint(3) % 20000
    if issuer and inp.flag():
        plan = purse.plan_credit(view, amount, purse.Policy(balance_cap=inp.uint(3) * 4), TODAY, codec.TXN_LOAD)
    else:
        plan = purse.plan_debit(view, amount, purse.Policy(txn_cap=inp.uint(2), daily_cap=inp.uint(2)), TODAY,
                                TERMINAL, 1 + inp.uint(2))
    slot = purse.commit(access, view, plan, NOW)
    purse.read_log(access, keys, view)
    found = purse.find_txn(access, view, slot[codec.PURSE_SLOT_TERMINAL], slot[codec.PURSE_SLOT_TXN],
                           slot[codec.PURSE_SLOT_KIND], slot[codec.PURSE_SLOT_AMOUNT], slot[codec.PURSE_SLOT_SEQ])
    if found != purse.COMMITTED:
        raise AssertionError("the slot just committed is not found: %s" % found)
    return slot


def test_one_input(data):
    inp = _common.Input(data)
    card = _card(inp)
    issuer = inp.flag()
    try:
        slot = _tap(card, issuer, inp)
    except purse.Refused:
        return
    # the committed state reads back
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, READER)
    view = purse.read_card(access, keys, v)
    if view.slot != slot or view.value != slot[codec.PURSE_SLOT_BALANCE]:
        raise AssertionError("committed %r, card reads %r / %r" % (slot, view.slot, view.value))


SEEDS = [b"", b"\x00" * 12 + b"\x01\x10\x00", b"\x01" + b"\x00" * 12 + b"\x01\x01\x10\x00",
         b"\x00\x00\x02\x02" + b"\x00\x00\x10\x00\x00\x00\x00\x00", b"\x00\x02" + b"\x07" * 24]

_common.main(__name__, test_one_input)
