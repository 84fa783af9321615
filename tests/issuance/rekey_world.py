"""Helpers of the re-key tests (unique module name): key rings of the INSECURE DEMO KEYS with one
and with two key versions, a card issued on version 1, and a store reader's debit."""
from icpurse.firmware import purse
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.keys import demo, exports
from topup_world import sim_card

TERMINAL = 31000001


def rings():
    """(workstation ring v1 only, workstation ring v1+v2 with v2 current)."""
    one = exports.workstation_keyset(demo.demo_domain(versions=1)).to_keyring()
    two = exports.workstation_keyset(demo.demo_domain(versions=2)).to_keyring()
    return one, two


def reader_ring(*versions):
    """A store reader's keys (key A + purse MAC) of the given versions of the two-version domain."""
    return exports.reader_keyset(demo.demo_domain(versions=2), TERMINAL, versions=list(versions)).to_keyring()


def v1_card(ledger, issuer):
    one, _ = rings()
    return sim_card(ledger, one, issuer, version=1)


def tap(card):
    card.faults = Faults()
    if not card.powered:
        card.enter_field()
    return CardTag(card)


def store_read(card, ring):
    access, keys, version = purse.open_card(tap(card), ring, purse.KEY_A)
    view = purse.read_card(access, keys, version)
    return access, keys, version, view


def store_debit(card, ring, amount, today=9600, now=9600 * 86400, txn=1):
    """A store reader's debit (key A): read, recover, plan, commit. Returns the committed slot."""
    access, keys, version, view = store_read(card, ring)
    purse.recover(access, view)
    plan = purse.plan_debit(view, amount, purse.Policy(), today, TERMINAL, txn)
    return purse.commit(access, view, plan, now), version


__all__ = ["rings", "reader_ring", "v1_card", "tap", "store_read", "store_debit"]
