"""The layout-move journal (`Ledger.migration_records`; the counter flow that writes the card is
`host/issuance/migrate.py`): a layout v1 card moved to layout v2 at its top-up.

Kept in the audit log (append-only, hash-chained), like the re-key journal, so no new table:
`card.migrate.start` records, BEFORE the first card write, the card's UID, key version, its v1
counter and balance, the blocks the move writes (in order: backup, credit record, purse header =
the commit point, identity record; sealed records, never key material) and the v1 purse slots and
log entries as the card held them (the on-card history the move leaves behind, kept here too);
`card.migrate.done` (the card read back as v2 with key B and a store reader's key A) carries the
v2 counter and balance. The newest of these entries for a card is its migration state.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from icpurse.host.ledger.cards import card_row
from icpurse.host.ledger.errors import InvalidStateError
from icpurse.host.ledger.models import AuditEntry, Operator
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.rekey_records import REKEY_ROLES
from icpurse.host.ledger.stock import normal_uid

MIGRATE_ROLES = REKEY_ROLES  # whoever tops up moves the card first
_ACTIONS = ("card.migrate.start", "card.migrate.done")


@dataclass(frozen=True)
class MigrationJournal:
    card_number: str
    uid: str
    state: str  # started | done
    key_version: int
    seq: int  # the v1 counter before the move
    balance: int  # fen, before the move (the move does not change it)
    writes: tuple  # ((block, 16 bytes), ...) in write order
    history: dict  # {block: 16 bytes}: the v1 slots and log entries as read before the move
    v2_seq: int | None = None  # done: the v2 counter the card read back with
    v2_balance: int | None = None


def _blocks(d, key):
    return {int(b): bytes.fromhex(h) for b, h in d.get(key, {}).items()}


class MigrationRecords:
    """The layout-move journal (`Ledger.migration_records`)."""

    def __init__(self, uow):
        self.uow = uow

    def start_migration(self, operator: Operator | str, card_number: str, *, uid, key_version: int, seq: int,
                        balance: int, writes, history: dict) -> MigrationJournal:
        """Journal "move started" (call BEFORE the first card write). Supersedes an earlier started
        entry whose commit point never reached the card."""
        uid = normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, MIGRATE_ROLES, "move a card to layout v2")
            card = card_row(s, card_number)
            if card.stock.uid != uid:
                raise InvalidStateError("card %s is registered for UID %s, not %s" % (card_number, card.stock.uid, uid))
            self.uow.audit(s, op, "card.migrate.start", card=card_number, uid=uid, key_version=key_version, seq=seq,
                           balance=balance, writes=[[b, bytes(d).hex()] for b, d in writes],
                           history={str(b): bytes(d).hex() for b, d in sorted(history.items())})

        self.uow.run("card.migrate.start", operator, do, card=card_number, details={"uid": uid})
        return self.migration_journal(card_number)

    def finish_migration(self, operator: Operator | str, card_number: str, *, seq: int, balance: int
                         ) -> MigrationJournal:
        """The card read back as layout v2: journal done with its v2 counter and balance."""
        def do(s):
            op = operator_row(s, operator, MIGRATE_ROLES, "move a card to layout v2")
            j = self._journal(s, card_number)
            if j is None or j.state != "started":
                raise InvalidStateError("card %s has no move to layout v2 in progress" % card_number)
            self.uow.audit(s, op, "card.migrate.done", card=card_number, uid=j.uid, key_version=j.key_version,
                           seq_before=j.seq, balance_before=j.balance, seq=seq, balance=balance)

        self.uow.run("card.migrate.done", operator, do, card=card_number)
        return self.migration_journal(card_number)

    def migration_journal(self, card_number: str) -> MigrationJournal | None:
        """The card's newest layout-move entry (started / done), or None if it was never moved."""
        with self.uow.read() as s:
            return self._journal(s, card_number)

    def _journal(self, s, card_number) -> MigrationJournal | None:
        rows = s.execute(select(AuditEntry.action, AuditEntry.details).where(
            AuditEntry.card_number == card_number, AuditEntry.action.in_(_ACTIONS),
            AuditEntry.result == "ok").order_by(AuditEntry.seq.desc())).all()
        if not rows:
            return None
        action, details = rows[0]
        d = json.loads(details)
        start = d if action == "card.migrate.start" else next(
            (json.loads(det) for act, det in rows if act == "card.migrate.start"), d)
        done = action == "card.migrate.done"
        return MigrationJournal(card_number, d["uid"], "done" if done else "started", d["key_version"],
                                start["seq"], start["balance"],
                                tuple((int(b), bytes.fromhex(h)) for b, h in start.get("writes", ())),
                                _blocks(start, "history"), d["seq"] if done else None,
                                d["balance"] if done else None)
