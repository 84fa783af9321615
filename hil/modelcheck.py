"""Bounded exhaustive search: what can the holder of a store reader's key set do to a card?

The attacker holds what `icpurse keys export --role reader` gives (key A of every application
sector, the purse MAC master; no key B, no load MAC key), the public MAD key and the transport key
of the sectors a layout leaves in transport configuration, and a card in a simulated field. A
*state* is the card's data blocks in the sectors that matter, its transfer buffer and session.
From a start state the search applies every command of the simulator's MIFARE Classic
(hil/sim/card.py: AUTHENTICATE with a known key, WRITE, INCREMENT, DECREMENT, RESTORE, TRANSFER,
HALT, and a TRANSFER or WRITE torn by pulling the card) with operands and data from a finite but
adversarial alphabet, breadth first, up to a depth, never visiting a state twice. Every state
reached is shown to the real reader code (firmware/purse.py: open, read, verify, repair — what a
store reader does before it debits) through the tag contract; the result is the highest balance a
reader accepts.

The card's behaviour where the datasheets are silent (negative operands, value overflow, the
transfer buffer across authentications) is a parameter of the search (`CardModel`), so a property
that depends on it shows as a difference between two runs (tests/security/test_reader_keys.py).
"""
from collections import deque

from icpurse.firmware import purse
from icpurse.firmware.keyring import KeyRing
from icpurse.firmware.mifare import MifareError, value_block
from icpurse.hil.sim.card import CardError, ClassicCard
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.tag import CardTag
from icpurse.host import codec
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry

KEY_A = codec.MF_AUTH_A
TRANSPORT_KEY = b"\xff" * 6


class CardModel:
    """The card behaviours the datasheets leave open (docs/simulator.md)."""

    def __init__(self, negative_operands=True, value_wraps=True, tb_survives_auth=False):
        self.negative_operands = negative_operands
        self.value_wraps = value_wraps
        self.tb_survives_auth = tb_survives_auth

    def apply(self, card):
        card.negative_operands = self.negative_operands
        card.value_wraps = self.value_wraps
        card.tb_survives_auth = self.tb_survives_auth

    def __repr__(self):
        return "CardModel(negative_operands=%s, value_wraps=%s, tb_survives_auth=%s)" % (
            self.negative_operands, self.value_wraps, self.tb_survives_auth)


DATASHEET_WORST = CardModel()  # signed operands, wrap-around, buffer emptied by a new authentication
STRICT_VALUES = CardModel(negative_operands=False, value_wraps=False)  # what the v2 property needs
TB_CARRIES = CardModel(negative_operands=False, value_wraps=False, tb_survives_auth=True)


class Result:
    def __init__(self, start_balance):
        self.start_balance = start_balance
        self.best = start_balance  # highest balance a reader accepted
        self.witness = None  # the commands that reached it
        self.states = 0
        self.accepted = 0
        self.evaluated = 0

    def __repr__(self):
        return "Result(start=%s, best=%s, states=%d, evaluated=%d, witness=%r)" % (
            self.start_balance, self.best, self.states, self.evaluated, self.witness)


class Search:
    """The search over one start card. `reader`: the reader's KeyRing; `blocks`: the data blocks
    whose content makes a state (the purse's and identity sectors' and one writable sector's)."""

    def __init__(self, card, reader, model, operands, extra_values=(), writable_sector=3, tear_seeds=(1, 2)):
        self.model = model
        self.reader = reader
        self.uid = bytes(card.uid)
        self.keys = reader.for_card(self.uid, reader.versions()[0])
        self.card = ClassicCard.from_mfd(card.to_mfd(), uid_len=len(card.uid))
        self.card.faults = Faults()
        model.apply(self.card)
        self.watched = []
        for sector in (layout.IDENTITY_SECTOR, layout.PURSE_SECTOR, writable_sector):
            self.watched += [b for b in geometry.data_blocks(sector, geometry.CLASSIC_1K) if b != 0]
        self.sector_keys = {}
        for sector in (layout.IDENTITY_SECTOR, layout.PURSE_SECTOR, writable_sector):
            self.sector_keys[sector] = self._known_key(sector)
        self.operands = sorted(set(int(o) & 0xFFFFFFFF for o in operands))
        self.tear_seeds = tear_seeds
        first = geometry.first_block(writable_sector)
        # what the attacker may try to WRITE into the sector it can write: value blocks of every
        # interesting value, and copies of the purse sector's blocks
        values = set(extra_values) | {0x7FFFFFFF, -1}
        self.payloads = [bytes(value_block(v, first)) for v in sorted(values)]
        self.payloads += [bytes(self.card.blocks[b]) for b in (layout.BALANCE_BLOCK, layout.BACKUP_BLOCK,
                                                             layout.HEADER_BLOCK)]
        self.writable = first
        self._memo = []
        self.evaluations = 0

    def _known_key(self, sector):
        """The key A the attacker holds for `sector` (None if none opens it)."""
        for key in (self.keys.sector_key(sector, KEY_A), TRANSPORT_KEY):
            probe = ClassicCard.from_mfd(self.card.to_mfd(), uid_len=len(self.uid))
            try:
                probe.select()
                probe.authenticate(KEY_A, geometry.first_block(sector), key, self.uid[-4:])
                return key
            except CardError:
                continue
        return None

    # --- states ---------------------------------------------------------------------------------
    def _snapshot(self):
        c = self.card
        return (tuple(bytes(c.blocks[b]) for b in self.watched), c.state, c._auth_sector, c._tb, c.powered)

    def _restore(self, state):
        blocks, st, sector, tb, powered = state
        c = self.card
        for b, data in zip(self.watched, blocks):
            c.blocks[b][:] = data
        c.state, c._auth_sector, c._tb, c.powered = st, sector, tb, powered
        c._auth_key = KEY_A if sector >= 0 else 0
        c.faults.clear()

    def balance(self, blocks):
        """The balance a store reader accepts on a card holding `blocks`, or None (refused).

        Memoised soundly: the reader's path is a function of the bytes of the blocks it reads, so
        a card that agrees with an earlier evaluation on every block that evaluation read gets the
        same answer (`_memo`: per set of blocks read, their bytes -> result)."""
        content = dict(zip(self.watched, blocks))
        for read_set, answers in self._memo:
            key = tuple(content[b] for b in read_set)
            if key in answers:
                return answers[key]
        self.evaluations += 1
        card = ClassicCard.from_mfd(self.card.to_mfd(), uid_len=len(self.uid))
        for b, data in content.items():
            card.blocks[b][:] = data
        tag = _ReadTracingTag(card)
        try:
            access, keys, version = purse.open_card(tag, self.reader)
            view = purse.read_card(access, keys, version)
            purse.recover(access, view)
            result = view.balance
        except (purse.Refused, MifareError):
            result = None
        read_set = tuple(sorted(b for b in tag.read if b in content))
        if any(b not in content for b in tag.read) or tag.wrote:
            # the reader looked outside the watched blocks or wrote (a repair): memo on everything
            read_set = tuple(self.watched)
        for rs, answers in self._memo:
            if rs == read_set:
                answers[tuple(content[b] for b in read_set)] = result
                break
        else:
            self._memo.append((read_set, {tuple(content[b] for b in read_set): result}))
        return result

    # --- the attacker's moves -------------------------------------------------------------------
    def _moves(self):
        """Every command worth trying from the current state. A memory command the card refuses
        (no session, or a block of another sector) always ends the session the same way, so one
        such command stands for all of them."""
        for sector, key in self.sector_keys.items():
            if key is not None:
                yield ("auth", sector)
        yield ("halt",)
        yield ("pull",)
        c = self.card
        if c.state != "authenticated":
            yield ("restore", self.watched[0])  # refused: stands for every memory command
            return
        inside = [b for b in self.watched if geometry.sector_of_block(b) == c._auth_sector]
        outside = [b for b in self.watched if b not in inside]
        if outside:
            yield ("restore", outside[0])  # refused: stands for every command on another sector
        for b in inside:
            for op in ("dec", "inc"):
                for v in self.operands:
                    yield (op, b, v)
            yield ("restore", b)
            yield ("transfer", b)
            for seed in self.tear_seeds:
                yield ("transfer_torn", b, seed)
            for i in range(len(self.payloads)):
                yield ("write", b, i)
                yield ("write_torn", b, i)

    def _do(self, move):
        c = self.card
        op = move[0]
        try:
            if op == "auth":
                sector = move[1]
                if not c.powered:
                    c.enter_field()
                if c.state not in ("active", "authenticated"):
                    c.select()
                c.authenticate(KEY_A, geometry.first_block(sector), self.sector_keys[sector], self.uid[-4:])
            elif op == "halt":
                if not c.powered:
                    c.enter_field()
                c.select()
            elif op == "pull":
                c.leave_field()
            elif op == "dec":
                c.decrement(move[1], move[2])
            elif op == "inc":
                c.increment(move[1], move[2])
            elif op == "restore":
                c.restore(move[1])
            elif op == "transfer":
                c.transfer(move[1])
            elif op == "transfer_torn":
                c.faults.tear_next_write("mix", move[2])
                c.transfer(move[1])
            elif op == "write":
                c.write(move[1], self.payloads[move[2]])
            elif op == "write_torn":
                c.faults.tear_next_write("mix", move[2] + 7)
                c.write(move[1], self.payloads[move[2]])
        except CardError:
            if c.powered:
                c.deactivate()  # a refused command ends the crypto session

    def run(self, depth):
        start = self._snapshot()
        result = Result(self.balance(start[0]))
        seen = {start}
        frontier = deque([(start, ())])
        while frontier:
            state, path = frontier.popleft()
            result.states += 1
            bal = self.balance(state[0])
            if bal is not None:
                result.accepted += 1
                if result.best is None or bal > result.best:
                    result.best, result.witness = bal, path
            if len(path) >= depth:
                continue
            self._restore(state)
            for move in list(self._moves()):
                self._restore(state)
                self._do(move)
                nxt = self._snapshot()
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append((nxt, path + (move,)))
        result.evaluated = self.evaluations
        return result


class _ReadTracingTag(CardTag):
    """The tag contract on a simulated card, noting which blocks the reader read or changed."""

    def __init__(self, card):
        CardTag.__init__(self, card)
        self.read = set()
        self.wrote = False

    def read_block(self, block):
        self.read.add(block)
        return CardTag.read_block(self, block)

    def read_block_into(self, block, buf):
        self.read.add(block)
        return CardTag.read_block_into(self, block, buf)

    def write_block(self, block, data):
        self.wrote = True
        CardTag.write_block(self, block, data)

    def transfer(self, block):
        self.wrote = True
        CardTag.transfer(self, block)


def purse2_header(keys, view, ceiling):
    """A purse header a holder of the reader keys can seal (the purse MAC key) for `view`'s card
    with another ceiling: what the attacker would need to write, had key A write access there."""
    from icpurse.firmware import purse2

    return purse2.seal_header(keys, view.uid, view.key_version, view.card_number, view.expiry, ceiling, view.gen)


def reader_ring(issuer_ring):
    """The reader's key set (no key B, no load MAC master) of an issuer key ring."""
    from icpurse.firmware.keyring import KeySet

    return KeyRing([KeySet(v, issuer_ring.keyset(v).sector_a, issuer_ring.keyset(v).purse_mac)
                    for v in issuer_ring.versions()])


__all__ = ["CardModel", "DATASHEET_WORST", "STRICT_VALUES", "TB_CARRIES", "Search", "Result", "reader_ring"]
