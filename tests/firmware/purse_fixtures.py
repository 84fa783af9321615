"""Shared set-up for purse tests (CPython and MicroPython): keys, issued cards, a top-up helper."""
from icpurse.firmware import codec, purse
from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.hil.sim import factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag

h = bytes.fromhex
UID = h("DEADBEEF")
V1 = dict(sector_a=h("11" * 16), sector_b=h("22" * 16), purse_mac=h("33" * 16), load_mac=h("44" * 16))
V2 = dict(sector_a=h("55" * 16), sector_b=h("66" * 16), purse_mac=h("77" * 16), load_mac=h("88" * 16))
TODAY = 9500  # days since 2000-01-01
NOW = TODAY * 86400
TERMINAL = 12345678


def issuer_ring(*versions):
    ring = KeyRing()
    for v in versions or (1,):
        m = V1 if v == 1 else V2
        ring.add(KeySet(v, m["sector_a"], m["purse_mac"], sector_b=m["sector_b"], load_mac=m["load_mac"]))
    return ring


def reader_ring(*versions):
    ring = KeyRing()
    for v in versions or (1,):
        m = V1 if v == 1 else V2
        ring.add(KeySet(v, m["sector_a"], m["purse_mac"]))
    return ring


def new_card(balance=0, version=1, expiry=0, uid=UID, size="1k", layout=1):
    keys = issuer_ring(version).for_card(uid, version)
    card = factory.issued_card(uid, keys, factory.identity_fields(version, expiry=expiry, layout=layout), NOW - 86400,
                               size)
    card.faults = Faults()
    if balance:
        top_up(card, balance, version)
    return card


def top_up(card, amount, version=1):
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, issuer_ring(version), purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, keys, v))
    plan = purse.plan_credit(view, amount, purse.Policy(), TODAY, codec.TXN_LOAD)
    return purse.commit(access, view, plan, NOW)


def tap(card, ring=None):
    """Open, read and recover a card as a store reader does; returns (access, view)."""
    tag = CardTag(card)
    access, keys, v = purse.open_card(tag, ring or reader_ring())
    view = purse.recover(access, purse.read_card(access, keys, v))
    return access, view


def debit(card, amount, policy=None, txn=1, ring=None):
    access, view = tap(card, ring)
    plan = purse.plan_debit(view, amount, policy or purse.Policy(), TODAY, TERMINAL, txn)
    return purse.commit(access, view, plan, NOW)


def balance_block(card):
    from icpurse.firmware.mifare import value_of
    from icpurse.protocol import layout
    return value_of(bytes(card.blocks[layout.BALANCE_BLOCK]))


class Recorder(Faults):
    """Counts card commands; remembers which ones were writes; can tear or pull at index n."""

    def __init__(self, pull_at=-1, tear_at=-1, mode="mix", seed=0):
        Faults.__init__(self)
        self.count = 0
        self.writes = []
        self.pull_at = pull_at
        self.tear_at = tear_at
        self.mode = mode
        self.seed = seed

    def before_command(self):
        n = self.count
        self.count += 1
        if n == self.pull_at:
            self.remove_after(0)
        if n == self.tear_at:
            self.tear_next_write(self.mode, self.seed)
        return Faults.before_command(self)

    def on_write(self, old, new):
        self.writes.append(self.count - 1)
        return Faults.on_write(self, old, new)


def value(card, block):
    from icpurse.firmware.mifare import value_of
    return value_of(bytes(card.blocks[block]))


def blocks_of(dump):
    """The 16-byte blocks of a raw dump (card.to_mfd())."""
    return [dump[i:i + 16] for i in range(0, len(dump), 16)]
