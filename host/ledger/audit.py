"""The append-only, hash-chained operator audit log (business-rules §2.4).

Each entry stores prev_hash (the previous entry's hash; 64 zeros for the first) and
entry_hash = SHA-256(prev_hash bytes || canonical content), where the canonical content is the
compact JSON array [seq, at, operator, action, card, terminal, result, details]. Editing,
deleting or inserting any entry breaks the chain at that point; `verify` finds the first break.
Deleting entries from the end is only detectable against a head hash recorded elsewhere
(`head()` gives it, e.g. for the daily report).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from icpurse.host.ledger.models import AuditEntry

GENESIS = "0" * 64
WRITER_LOCK = 0x1C9A0D17  # PostgreSQL advisory lock serialising writers (SQLite: BEGIN IMMEDIATE does it)


def actor_name(actor) -> str | None:
    """The name an audit entry records for `actor` (an Operator, a name, or None)."""
    if actor is None:
        return None
    return actor if isinstance(actor, str) else actor.username


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_at(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, seq, at, operator, action, card, terminal, result, details: str) -> str:
    content = canonical_json([seq, at, operator, action, card, terminal, result, details]).encode("utf-8")
    return hashlib.sha256(bytes.fromhex(prev_hash) + content).hexdigest()


def append(session: Session, when: dt.datetime, operator: str | None, action: str, result: str = "ok",
           card: str | None = None, terminal: str | None = None, details: dict | None = None) -> AuditEntry:
    """Add an entry in the caller's transaction (so it commits or rolls back with the change it records)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK})
    last = session.execute(select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = format_at(when)
    body = canonical_json(details or {})
    entry = AuditEntry(seq=seq, at=at, operator=operator, action=action, card_number=card, terminal_number=terminal,
                       result=result, details=body, prev_hash=prev,
                       entry_hash=entry_hash(prev, seq, at, operator, action, card, terminal, result, body))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditBreak:
    """The first entry at which the chain does not verify."""

    seq: int
    reason: str

    def __str__(self):
        return "audit log broken at entry %d: %s" % (self.seq, self.reason)


def verify(session: Session) -> AuditBreak | None:
    """None if every entry chains to the previous one and hashes to its stored hash."""
    prev, expected_seq = GENESIS, 1
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for e in rows:
        if e.seq != expected_seq:
            return AuditBreak(expected_seq, "entry %d missing (next entry is %d)" % (expected_seq, e.seq))
        if e.prev_hash != prev:
            return AuditBreak(e.seq, "prev_hash does not match the previous entry's hash")
        recomputed = entry_hash(e.prev_hash, e.seq, e.at, e.operator, e.action, e.card_number, e.terminal_number,
                                e.result, e.details)
        if recomputed != e.entry_hash:
            return AuditBreak(e.seq, "content does not match its hash (entry edited)")
        prev, expected_seq = e.entry_hash, e.seq + 1
    return None


def head(session: Session) -> tuple[int, str]:
    """(last seq, last hash): record it elsewhere to detect truncation later."""
    last = session.execute(select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (last[0], last[1]) if last else (0, GENESIS)


class AuditLog:
    """The audit log as a ledger service (`Ledger.audit`): verify the chain, its head, its entries."""

    def __init__(self, uow):
        self.uow = uow

    def verify_audit_log(self) -> AuditBreak | None:
        """None when the whole chain verifies, else the first broken link."""
        with self.uow.read() as s:
            return verify(s)

    def audit_head(self) -> tuple[int, str]:
        with self.uow.read() as s:
            return head(s)

    def audit_entries(self, card: str | None = None, action: str | None = None) -> list[AuditEntry]:
        with self.uow.read() as s:
            q = select(AuditEntry).order_by(AuditEntry.seq)
            if card is not None:
                q = q.where(AuditEntry.card_number == card)
            if action is not None:
                q = q.where(AuditEntry.action == action)
            return list(s.execute(q).scalars())
