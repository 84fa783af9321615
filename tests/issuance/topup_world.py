"""Helpers for the top-up tests (a unique module name; the fixtures `ledger`, `clock` and
`demo_keyset` come from tests/issuance/conftest.py).

A card is issued here with the ledger API and the one personalisation routine directly: stock,
card number registration, personalise (demo keys), sale, payment, activation, and the face value
written to the card as the issue value (kind ISSUE, key B) so that card and ledger start equal.
"""
import itertools

from icpurse.firmware import codec, purse
from icpurse.firmware.mifare import value_of
from icpurse.hil.sim import factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance.personalise import personalise
from icpurse.protocol import cardtime, layout
from icpurse.protocol.numbering import card_number_to_bcd

PROGRAMME = "mofcom-compliant"  # anonymous: cap 1,000 yuan; named: 5,000 yuan (holder captured at the sale)
_serials = itertools.count(1)
_uids = itertools.count(0x7C000001)


def new_uid():
    return next(_uids).to_bytes(4, "big")


def issue(ledger, tag, keyring, issuer, *, kind="anonymous", face_value=50000, holder=None,
          version=None, number=None, layout=1):
    """Register, personalise (card layout `layout`, 1 or 2), sell, pay, activate and load the face
    value of the card behind `tag`. Returns the card number."""
    version = version or max(keyring.versions())
    uid = bytes(tag.uid)
    number = number or "9000%08d" % next(_serials)
    ledger.stock.receive_stock("finance", "B-%s" % uid.hex(), [uid])
    ledger.stock.issue_to_point("finance", [uid], "P1")
    ledger.cards.register_card("finance", uid, number, PROGRAMME, kind, face_value, key_version=version)
    seconds, today = cardtime.seconds(ledger.now()), cardtime.day(ledger.now())
    fields = factory.identity_fields(version, card_number=card_number_to_bcd(number), issuer=issuer,
                                     named=kind == "named", issue_date=today, layout=layout)
    personalise(tag, keyring.for_card(uid, version), fields, seconds - 60)
    ledger.sales.record_sale("seller", number, holder=holder)
    ledger.sales.confirm_payment("finance", number)
    ledger.sales.activate(number, "finance")
    access, keys, v = purse.open_card(tag, keyring, purse.KEY_B)
    view = purse.read_card(access, keys, v)
    purse.commit(access, view, purse.plan_credit(view, face_value, purse.Policy(), today, codec.TXN_ISSUE), seconds)
    return number


def sim_card(ledger, keyring, issuer, **kw):
    """A simulated card issued as above; returns (ClassicCard, card number)."""
    card = factory.blank_card(new_uid())
    number = issue(ledger, CardTag(card), keyring, issuer, **kw)
    card.faults = Faults()
    return card, number


def card_state(tag, keyring):
    """(slot balance, balance block, seq) as a store reader reads it (key A), after its recovery."""
    access, keys, v = purse.open_card(tag, keyring, purse.KEY_A)
    view = purse.read_card(access, keys, v)
    return view.balance, view.value, view.seq


def balance_block(card):
    return value_of(bytes(card.blocks[layout.BALANCE_BLOCK]))


def dump(card):
    return bytes(b"".join(bytes(b) for b in card.blocks))


class Recorder(Faults):
    """Counts card commands and writes. Pulls the card before command `pull_at`, tears the write
    `tear_write` (0 = the first WRITE/TRANSFER; the block left old / new / a byte-wise mix), or
    lets command `timeout_at` go unanswered (the card stays). `fired` says whether it happened."""

    def __init__(self, pull_at=-1, tear_write=-1, mode="mix", seed=0, timeout_at=-1):
        Faults.__init__(self)
        self.count = 0
        self.writes = []
        self.pull_at, self.tear_write, self.timeout_at = pull_at, tear_write, timeout_at
        self.mode, self.seed = mode, seed

    def before_command(self):
        n = self.count
        self.count += 1
        if n == self.pull_at:
            self.remove_after(0)
        if n == self.timeout_at:
            self.rf_timeout_next(1)
        return Faults.before_command(self)

    def on_write(self, old, new):
        if len(self.writes) == self.tear_write:
            self.tear_next_write(self.mode, self.seed)
        self.writes.append(self.count - 1)
        return Faults.on_write(self, old, new)


class BlockTag(CardTag):
    """Remembers the block of every write / transfer, in the order the card sees them."""

    blocks = None

    def write_block(self, block, data):
        if self.blocks is not None:
            self.blocks.append(block)
        CardTag.write_block(self, block, data)

    def transfer(self, block):
        if self.blocks is not None:
            self.blocks.append(block)
        CardTag.transfer(self, block)
