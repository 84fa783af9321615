"""The re-key journal (`Ledger.rekey_records`; the counter flow that writes the card is
`host/issuance/rekey.py`): a card moved from key version `old` to `new` at the counter.

Kept in the audit log (append-only, hash-chained; like a re-activation's pending identity), so no
new table: `card.rekey.start` records, BEFORE the first card write, the card's UID, both versions,
its committed counter and balance and the exact data blocks the card will hold under the new keys
(sealed records: MACs, never key material; trailers are derived from the keys at write time);
`card.rekey.done` (the card was read back with the new keys) sets the card's key version;
`card.rekey.damaged` says why a card cannot be finished. The newest of these entries for a card is
its re-key state.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from icpurse.host.ledger.cards import card_row
from icpurse.host.ledger.errors import InvalidStateError
from icpurse.host.ledger.models import AuditEntry, Operator
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.stock import normal_uid

REKEY_ROLES = ("seller", "finance", "issuer-admin", "terminal-operator")  # whoever tops up re-keys first
_ACTIONS = ("card.rekey.start", "card.rekey.done", "card.rekey.damaged")


@dataclass(frozen=True)
class RekeyJournal:
    card_number: str
    uid: str
    state: str  # started | done | damaged
    old_version: int
    new_version: int
    seq: int
    balance: int
    image: dict  # {block: 16 bytes}: every data block of the layout as it must read under the new keys
    writes: tuple  # the blocks the re-key writes (its re-sealed records); the others stay as they are
    note: str = ""


class RekeyRecords:
    """The re-key journal (`Ledger.rekey_records`)."""

    def __init__(self, uow):
        self.uow = uow

    def start_rekey(self, operator: Operator | str, card_number: str, *, uid, old_version: int, new_version: int,
                    seq: int, balance: int, image: dict, writes) -> RekeyJournal:
        """Journal "re-key started" (call BEFORE the first card write). Supersedes an earlier
        started entry whose card writes never began."""
        uid = normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, REKEY_ROLES, "re-key a card")
            card = card_row(s, card_number)
            if card.stock.uid != uid:
                raise InvalidStateError("card %s is registered for UID %s, not %s" % (card_number, card.stock.uid, uid))
            self.uow.audit(s, op, "card.rekey.start", card=card_number, uid=uid, old_version=old_version,
                           new_version=new_version, seq=seq, balance=balance,
                           image={str(b): bytes(d).hex() for b, d in sorted(image.items())}, writes=sorted(writes))

        self.uow.run("card.rekey.start", operator, do, card=card_number, details={"uid": uid})
        return self.rekey_journal(card_number)

    def finish_rekey(self, operator: Operator | str, card_number: str) -> RekeyJournal:
        """The card read back with its new keys: journal done, the card's key version updated."""
        def do(s):
            op = operator_row(s, operator, REKEY_ROLES, "re-key a card")
            card = card_row(s, card_number)
            j = self._rekey_journal(s, card_number)
            if j is None or j.state != "started":
                raise InvalidStateError("card %s has no re-key in progress" % card_number)
            card.key_version = j.new_version
            self.uow.audit(s, op, "card.rekey.done", card=card_number, uid=j.uid, old_version=j.old_version,
                           new_version=j.new_version, seq=j.seq, balance=j.balance)

        self.uow.run("card.rekey.done", operator, do, card=card_number)
        return self.rekey_journal(card_number)

    def mark_rekey_damaged(self, operator: Operator | str, card_number: str, reason: str) -> RekeyJournal:
        def do(s):
            op = operator_row(s, operator, REKEY_ROLES, "re-key a card")
            j = self._rekey_journal(s, card_number)
            if j is None or j.state != "started":
                raise InvalidStateError("card %s has no re-key in progress" % card_number)
            self.uow.audit(s, op, "card.rekey.damaged", result="failed", card=card_number, uid=j.uid,
                           old_version=j.old_version, new_version=j.new_version, seq=j.seq, balance=j.balance,
                           reason=reason)

        self.uow.run("card.rekey.damaged", operator, do, card=card_number)
        return self.rekey_journal(card_number)

    def rekey_journal(self, card_number: str) -> RekeyJournal | None:
        """The card's newest re-key entry (started / done / damaged), or None if it was never re-keyed."""
        with self.uow.read() as s:
            return self._rekey_journal(s, card_number)

    def _rekey_journal(self, s, card_number) -> RekeyJournal | None:
        rows = s.execute(select(AuditEntry.action, AuditEntry.details).where(
            AuditEntry.card_number == card_number, AuditEntry.action.in_(_ACTIONS),
            AuditEntry.result.in_(("ok", "failed"))).order_by(AuditEntry.seq.desc())).all()
        if not rows:
            return None
        action, details = rows[0]
        d = json.loads(details)
        state = action.rsplit(".", 1)[1]
        start = d if action == "card.rekey.start" else next(
            (json.loads(det) for act, det in rows if act == "card.rekey.start"), d)
        return RekeyJournal(card_number, d["uid"], "started" if state == "start" else state, d["old_version"],
                            d["new_version"], d["seq"], d["balance"],
                            {int(b): bytes.fromhex(h) for b, h in start.get("image", {}).items()},
                            tuple(start.get("writes", ())), d.get("reason", ""))
