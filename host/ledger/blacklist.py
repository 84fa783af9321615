"""The versioned blacklist: every add or remove takes the next version number, so a reader that
signed in at version V holds exactly `blacklist_entries(V)`."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from icpurse.host.ledger.core import LedgerCore
from icpurse.host.ledger.errors import InvalidStateError
from icpurse.host.ledger.models import BlacklistEntry, BlacklistVersion, Operator

BLACKLIST_ROLES = ("issuer-admin", "finance", "auditor")


@dataclass(frozen=True)
class BlacklistItem:
    card_number: str
    uid: str | None
    reason: str
    evidence: dict
    added_version: int


class BlacklistMixin(LedgerCore):
    def _next_version(self, s, change: str, card_number: str, op) -> int:
        current = s.execute(select(func.coalesce(func.max(BlacklistVersion.version), 0))).scalar_one()
        v = BlacklistVersion(version=current + 1, change=change, card_number=card_number,
                             operator_id=op.id if op else None, created_at=self.now())
        s.add(v)
        s.flush()  # the primary key makes a concurrent bump to the same number fail, never fork
        return v.version

    def _active(self, s, card_number: str):
        return s.execute(select(BlacklistEntry).where(BlacklistEntry.card_number == card_number,
                                                      BlacklistEntry.removed_version.is_(None))).scalar_one_or_none()

    def _is_blacklisted(self, s, card_number: str) -> bool:
        return self._active(s, card_number) is not None

    def blacklist_add(self, operator: Operator | str, card_number: str, reason: str, evidence: dict | None = None,
                      uid: str | None = None) -> int:
        """Put a card on the blacklist; returns the new version."""
        if not reason.strip():
            raise ValueError("a blacklist entry needs a reason")

        def do(s):
            op = self._operator(s, operator, BLACKLIST_ROLES, "blacklist a card")
            if self._active(s, card_number) is not None:
                raise InvalidStateError("card %s is already blacklisted" % card_number)
            version = self._next_version(s, "add", card_number, op)
            s.add(BlacklistEntry(card_number=card_number, uid=uid, reason=reason,
                                 evidence=json.dumps(evidence or {}, sort_keys=True, ensure_ascii=False),
                                 added_version=version))
            self._audit(s, op, "blacklist.add", card=card_number, version=version, reason=reason,
                        evidence=evidence or {})
            return version

        return self._run("blacklist.add", operator, do, card=card_number, details={"reason": reason})

    def blacklist_remove(self, operator: Operator | str, card_number: str, reason: str) -> int:
        if not reason.strip():
            raise ValueError("removing a blacklist entry needs a reason")

        def do(s):
            op = self._operator(s, operator, ("issuer-admin",), "remove a card from the blacklist")
            entry = self._active(s, card_number)
            if entry is None:
                raise InvalidStateError("card %s is not blacklisted" % card_number)
            version = self._next_version(s, "remove", card_number, op)
            entry.removed_version, entry.removal_reason = version, reason
            self._audit(s, op, "blacklist.remove", card=card_number, version=version, reason=reason)
            return version

        return self._run("blacklist.remove", operator, do, card=card_number, details={"reason": reason})

    def blacklist_version(self) -> int:
        with self.session() as s:
            return int(s.execute(select(func.coalesce(func.max(BlacklistVersion.version), 0))).scalar_one())

    def blacklist_entries(self, version: int | None = None) -> list[BlacklistItem]:
        """The blacklist as it stood at `version` (default: now), ordered by card number."""
        with self.session() as s:
            if version is None:
                version = int(s.execute(select(func.coalesce(func.max(BlacklistVersion.version), 0))).scalar_one())
            q = select(BlacklistEntry).where(
                BlacklistEntry.added_version <= version,
                or_(BlacklistEntry.removed_version.is_(None), BlacklistEntry.removed_version > version),
            ).order_by(BlacklistEntry.card_number)
            return [BlacklistItem(e.card_number, e.uid, e.reason, json.loads(e.evidence), e.added_version)
                    for e in s.execute(q).scalars()]

    def is_blacklisted(self, card_number: str) -> bool:
        with self.session() as s:
            return self._is_blacklisted(s, card_number)
