"""The versioned blacklist (`Ledger.blacklist`): every add or remove takes the next version number,
so a reader that signed in at version V holds exactly `blacklist_entries(V)`.

`next_version`, `active_entry`, `is_listed` and `list_card` are the in-transaction steps other
services use (a card reported lost, replaced, redeemed or closed is listed in the same transaction).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from icpurse.host.ledger.errors import InvalidStateError
from icpurse.host.ledger.models import BlacklistEntry, BlacklistVersion, Card, Operator
from icpurse.host.ledger.people import operator_row

BLACKLIST_ROLES = ("issuer-admin", "finance", "auditor")


@dataclass(frozen=True)
class BlacklistItem:
    card_number: str
    uid: str | None
    reason: str
    evidence: dict
    added_version: int


def next_version(uow, s, change: str, card_number: str, op) -> int:
    """Take the next blacklist version for one change (in the caller's transaction)."""
    current = s.execute(select(func.coalesce(func.max(BlacklistVersion.version), 0))).scalar_one()
    v = BlacklistVersion(version=current + 1, change=change, card_number=card_number,
                         operator_id=op.id if op else None, created_at=uow.now())
    s.add(v)
    s.flush()  # the primary key makes a concurrent bump to the same number fail, never fork
    return v.version


def active_entry(s, card_number: str) -> BlacklistEntry | None:
    """The card's entry on the current blacklist, or None."""
    return s.execute(select(BlacklistEntry).where(BlacklistEntry.card_number == card_number,
                                                  BlacklistEntry.removed_version.is_(None))).scalar_one_or_none()


def is_listed(s, card_number: str) -> bool:
    return active_entry(s, card_number) is not None


def list_card(uow, s, op, card: Card, reason: str, evidence: dict) -> int | None:
    """Put `card` on the blacklist inside the caller's transaction (audited); None if it already is."""
    if active_entry(s, card.card_number) is not None:
        return None
    version = next_version(uow, s, "add", card.card_number, op)
    s.add(BlacklistEntry(card_number=card.card_number, uid=card.stock.uid, reason=reason,
                         evidence=json.dumps(evidence, sort_keys=True, ensure_ascii=False),
                         added_version=version))
    uow.audit(s, op, "blacklist.add", card=card.card_number, version=version, reason=reason, evidence=evidence)
    return version


class Blacklist:
    """The versioned blacklist (`Ledger.blacklist`)."""

    def __init__(self, uow):
        self.uow = uow

    def blacklist_add(self, operator: Operator | str, card_number: str, reason: str, evidence: dict | None = None,
                      uid: str | None = None) -> int:
        """Put a card on the blacklist; returns the new version."""
        if not reason.strip():
            raise ValueError("a blacklist entry needs a reason")

        def do(s):
            op = operator_row(s, operator, BLACKLIST_ROLES, "blacklist a card")
            if active_entry(s, card_number) is not None:
                raise InvalidStateError("card %s is already blacklisted" % card_number)
            version = next_version(self.uow, s, "add", card_number, op)
            s.add(BlacklistEntry(card_number=card_number, uid=uid, reason=reason,
                                 evidence=json.dumps(evidence or {}, sort_keys=True, ensure_ascii=False),
                                 added_version=version))
            self.uow.audit(s, op, "blacklist.add", card=card_number, version=version, reason=reason,
                           evidence=evidence or {})
            return version

        return self.uow.run("blacklist.add", operator, do, card=card_number, details={"reason": reason})

    def blacklist_remove(self, operator: Operator | str, card_number: str, reason: str) -> int:
        if not reason.strip():
            raise ValueError("removing a blacklist entry needs a reason")

        def do(s):
            op = operator_row(s, operator, ("issuer-admin",), "remove a card from the blacklist")
            entry = active_entry(s, card_number)
            if entry is None:
                raise InvalidStateError("card %s is not blacklisted" % card_number)
            version = next_version(self.uow, s, "remove", card_number, op)
            entry.removed_version, entry.removal_reason = version, reason
            self.uow.audit(s, op, "blacklist.remove", card=card_number, version=version, reason=reason)
            return version

        return self.uow.run("blacklist.remove", operator, do, card=card_number, details={"reason": reason})

    def blacklist_version(self) -> int:
        with self.uow.read() as s:
            return int(s.execute(select(func.coalesce(func.max(BlacklistVersion.version), 0))).scalar_one())

    def blacklist_entries(self, version: int | None = None) -> list[BlacklistItem]:
        """The blacklist as it stood at `version` (default: now), ordered by card number."""
        with self.uow.read() as s:
            if version is None:
                version = int(s.execute(select(func.coalesce(func.max(BlacklistVersion.version), 0))).scalar_one())
            q = select(BlacklistEntry).where(
                BlacklistEntry.added_version <= version,
                or_(BlacklistEntry.removed_version.is_(None), BlacklistEntry.removed_version > version),
            ).order_by(BlacklistEntry.card_number)
            return [BlacklistItem(e.card_number, e.uid, e.reason, json.loads(e.evidence), e.added_version)
                    for e in s.execute(q).scalars()]

    def is_blacklisted(self, card_number: str) -> bool:
        with self.uow.read() as s:
            return is_listed(s, card_number)
