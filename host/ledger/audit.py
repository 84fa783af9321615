"""The append-only, keyed, hash-chained operator audit log, and the seal over the books.

Each entry stores prev_hash (the previous entry's hash; 64 zeros for the first) and

    entry_hash = HMAC-SHA256(audit key, prev_hash bytes || canonical content)

where the canonical content is the compact JSON array
[seq, at, operator, action, card, terminal, result, details, sealed_upto, seal]. The audit key
comes from the issuer's keystore (`keys.backoffice.audit_key`, held by the workstation and
collector exports), never from the database: someone who can write the database but holds no key
set cannot re-hash an edited entry. Editing, deleting or inserting an entry breaks the chain there;
`verify` finds the first break. Removing entries from the end is found against a head recorded
elsewhere (`verify(..., expect_head=...)`; the day close and the daily report print the head).

**Sealed books.** Every entry also seals the bookings made since the previous seal:
`sealed_upto` is the highest journal-entry id covered so far and `seal` the SHA-256 of every
journal entry with an id in (previous `sealed_upto`, `sealed_upto`] and its postings (`seal_digest`).
Writers are serialised (one writing transaction at a time), so an entry seals exactly the bookings
of its own transaction; `UnitOfWork.run` appends a `books.seal` entry when a transaction booked
after its last audit entry. Any later edit of a posting — balanced or not —, a deleted or inserted
posting or entry, or a booking made outside the ledger (no seal covers it) fails `verify`.

Entries written before the log was keyed (`scheme` 'sha256': SHA-256 without a key and without the
seal fields) verify as before; they may only precede keyed entries, and the first keyed entry seals
every booking made until then (a ledger migrated from the unkeyed log verifies once anything has
been recorded since: until then its bookings are unsealed). So a log rewritten the unkeyed way
still fails: bookings exist that nothing seals, and the anchored head is gone.

`entry_hash` and `seal_digest` are THE chain computation: anything that appends entries or books
in bulk uses them (and `append`), never a copy.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func, select, text, type_coerce
from sqlalchemy.types import NullType
from sqlalchemy.orm import Session

from icpurse.host.ledger.errors import LedgerError
from icpurse.host.ledger.models import Account, AuditEntry, JournalEntry, Posting

GENESIS = "0" * 64
WRITER_LOCK = 0x1C9A0D17  # PostgreSQL advisory lock serialising writers (SQLite: BEGIN IMMEDIATE does it)
KEYED, LEGACY = "hmac", "sha256"
AUDIT_KEY_SIZE = 32
SEAL_ACTION = "books.seal"


class AuditKeyError(LedgerError):
    """The ledger was opened without the audit key, so it cannot append to or verify the log."""


def check_audit_key(key: bytes | None) -> bytes | None:
    if key is not None and (not isinstance(key, (bytes, bytearray)) or len(key) != AUDIT_KEY_SIZE):
        raise ValueError("the audit key is %d bytes" % AUDIT_KEY_SIZE)
    return bytes(key) if key is not None else None


def actor_name(actor) -> str | None:
    """The name an audit entry records for `actor` (an Operator, a name, or None)."""
    if actor is None:
        return None
    return actor if isinstance(actor, str) else actor.username


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value) -> str:
    """Compact JSON with sorted keys (what every hash and MAC here is taken over)."""
    return _CANONICAL.encode(value)


def format_at(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(key: bytes, prev_hash: str, seq, at, operator, action, card, terminal, result, details: str,
               sealed_upto=None, seal=None) -> str:
    """The keyed hash of one entry (module docstring)."""
    content = canonical_json([seq, at, operator, action, card, terminal, result, details, sealed_upto, seal])
    return hmac.new(key, bytes.fromhex(prev_hash) + content.encode("utf-8"), hashlib.sha256).hexdigest()


def legacy_entry_hash(prev_hash: str, seq, at, operator, action, card, terminal, result, details: str) -> str:
    """An entry written before the log was keyed: SHA-256, no key, no seal."""
    content = canonical_json([seq, at, operator, action, card, terminal, result, details]).encode("utf-8")
    return hashlib.sha256(bytes.fromhex(prev_hash) + content).hexdigest()


def _stamp(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives naive UTC back
        value = value.replace(tzinfo=dt.timezone.utc)
    return format_at(value)


_encode_str = json.encoder.encode_basestring  # what _CANONICAL uses for a str (ensure_ascii=False)


def _sealed_json(eid, key, kind, card_id, operator_id, stamp, memo, lines) -> str:
    """canonical_json([eid, key, kind, card_id, operator_id, stamp, memo, [[line, code, amount], ...]]),
    byte for byte, for the types a journal entry has (int ids, str texts, None); anything else — a
    value of another type an edited row may hold — goes through the JSON encoder itself. (The JSON
    encoder writes an int as int.__repr__, a str by encode_basestring, None as null, compactly.)"""
    if (type(eid) is int and type(key) is str and type(kind) is str and (card_id is None or type(card_id) is int)
            and (operator_id is None or type(operator_id) is int) and (stamp is None or type(stamp) is str)
            and type(memo) is str):
        legs = []
        for line, code, amount in lines:
            if type(line) is not int or type(code) is not str or type(amount) is not int:
                break
            legs.append("[%s,%s,%s]" % (int.__repr__(line), _encode_str(code), int.__repr__(amount)))
        else:
            return "[%s,%s,%s,%s,%s,%s,%s,[%s]]" % (
                int.__repr__(eid), _encode_str(key), _encode_str(kind),
                "null" if card_id is None else int.__repr__(card_id),
                "null" if operator_id is None else int.__repr__(operator_id),
                "null" if stamp is None else _encode_str(stamp), _encode_str(memo), ",".join(legs))
    return _CANONICAL.encode([eid, key, kind, card_id, operator_id, stamp, memo, [list(x) for x in lines]])


def seal_digest(entries) -> str:
    """SHA-256 over journal entries and their postings, `entries` in id order as
    (id, idempotency key, kind, card id, operator id, created_at, memo, [(line, account code, amount)]):
    each entry's canonical JSON (`_sealed_json`) and a newline."""
    h = hashlib.sha256()
    stamps = {}
    chunk = []
    for eid, key, kind, card_id, operator_id, created_at, memo, lines in entries:
        stamp = stamps.get(created_at)
        if stamp is None:
            stamp = stamps[created_at] = _stamp(created_at)
        chunk.append(_sealed_json(eid, key, kind, card_id, operator_id, stamp, memo,
                                  [(line, code, int(amount)) for line, code, amount in lines]))
        if len(chunk) >= 4096:  # hashed in chunks: the same bytes as entry by entry
            h.update(("\n".join(chunk) + "\n").encode("utf-8"))
            chunk = []
    if chunk:
        h.update(("\n".join(chunk) + "\n").encode("utf-8"))
    return h.hexdigest()


def raw_time(column):
    """`column` (a UTCDateTime) selected as the driver gives it: many rows share few distinct times, so
    `TimeCache` converts each distinct value once instead of the type converting every row."""
    return type_coerce(column, NullType())


class TimeCache(dict):
    """Driver values of a UTCDateTime column -> the aware UTC datetimes the column type gives."""

    def __call__(self, raw):
        value = self.get(raw)
        if value is None and raw is not None:
            value = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(raw)
            value = self[raw] = (value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None
                                 else value.astimezone(dt.timezone.utc))
        return value


def _entries_query(*cond):
    return (select(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.kind, JournalEntry.card_id,
                   JournalEntry.operator_id, raw_time(JournalEntry.created_at), JournalEntry.memo, Posting.line,
                   Account.code, Posting.amount)
            .outerjoin(Posting, Posting.entry_id == JournalEntry.id)
            .outerjoin(Account, Account.id == Posting.account_id)
            .where(and_(*cond)).order_by(JournalEntry.id, Posting.line))


# Built once: every audited change runs these, and building a statement costs more than running it.
_ENTRIES_AFTER = _entries_query(JournalEntry.id > bindparam("after"))
_ENTRIES_BETWEEN = _entries_query(JournalEntry.id > bindparam("after"), JournalEntry.id <= bindparam("upto"))
_TAIL = select(AuditEntry.seq, AuditEntry.entry_hash, AuditEntry.sealed_upto).order_by(AuditEntry.seq.desc()).limit(1)
_ANY_ENTRY_AFTER = select(JournalEntry.id).where(JournalEntry.id > bindparam("after")).limit(1)
_INSERT_ENTRY = AuditEntry.__table__.insert()


def _entries_between(session: Session, after: int, upto: int | None = None):
    """Journal entries with after < id <= upto (no upper bound: None), with their postings, in id order."""
    q = session.execute(_ENTRIES_AFTER, {"after": after}) if upto is None else session.execute(
        _ENTRIES_BETWEEN, {"after": after, "upto": upto})
    out = []
    times = TimeCache()
    for eid, key, kind, card_id, op_id, at, memo, line, code, amount in q:
        if not out or out[-1][0] != eid:
            out.append((eid, key, kind, card_id, op_id, times(at), memo, []))
        if line is not None:
            out[-1][7].append((line, code, amount))
    return out


def lock_writers(session: Session) -> None:
    """PostgreSQL: one writing transaction at a time (SQLite's BEGIN IMMEDIATE does the same), so the
    audit tail, the seal range and read-then-write rules see every earlier commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK})


def _tail(session: Session):
    return session.execute(_TAIL).first()


@dataclass(frozen=True)
class Appended:
    """What `append` wrote: the entry's seq and hash, and the journal entries (sealed_from, sealed_upto]
    it sealed with `seal` (None: nothing new)."""

    seq: int
    entry_hash: str
    sealed_from: int
    sealed_upto: int
    seal: str | None


def append(session: Session, key: bytes | None, when: dt.datetime, operator: str | None, action: str,
           result: str = "ok", card: str | None = None, terminal: str | None = None,
           details: dict | None = None, booked: list | None = None) -> Appended:
    """Add an entry in the caller's transaction (so it commits or rolls back with the change it
    records), sealing the bookings made since the last seal. `booked`: a bulk writer's bookings of
    this transaction as it wrote them (seal_digest's tuples, in id order), sealed without reading
    them back; they must be exactly the journal entries after the last seal (checked by count and
    ids: anything else raises). Returns what it wrote (`Appended`)."""
    if key is None:
        raise AuditKeyError("this ledger was opened without the audit key, so nothing can be recorded: give a "
                            "key set (--keystore: a workstation or collector export)")
    lock_writers(session)
    session.flush()
    last = _tail(session)
    seq, prev, hw = (last[0] + 1, last[1], last[2] or 0) if last else (1, GENESIS, 0)
    new = _entries_between(session, hw) if booked is None else _check_booked(session, hw, booked)
    sealed_upto, seal = (new[-1][0], seal_digest(new)) if new else (hw, None)
    at = format_at(when)
    body = canonical_json(details or {})
    digest = entry_hash(key, prev, seq, at, operator, action, card, terminal, result, body, sealed_upto, seal)
    # one INSERT, as a flush of an AuditEntry would write it (without the ORM's per-object work)
    session.execute(_INSERT_ENTRY, dict(
        seq=seq, at=at, operator=operator, action=action, card_number=card, terminal_number=terminal,
        result=result, details=body, prev_hash=prev, scheme=KEYED, sealed_upto=sealed_upto, seal=seal,
        entry_hash=digest))
    return Appended(seq, digest, hw, sealed_upto, seal)


def _check_booked(session: Session, hw: int, booked: list) -> list:
    count, lo, hi = session.execute(select(func.count(), func.min(JournalEntry.id), func.max(JournalEntry.id))
                                    .where(JournalEntry.id > hw)).one()
    ids = [b[0] for b in booked]
    if count != len(booked) or (booked and (ids[0], ids[-1]) != (lo, hi)) or ids != sorted(set(ids)):
        raise LedgerError("the bookings handed to the seal are not the journal entries after %d (%d in the "
                          "ledger, %d handed over)" % (hw, count, len(booked)))
    return booked


def unsealed(session: Session) -> bool:
    """True when bookings were made after the last seal (the caller's transaction must seal them)."""
    session.flush()
    last = _tail(session)
    hw = (last[2] or 0) if last else 0
    return session.execute(_ANY_ENTRY_AFTER, {"after": hw}).first() is not None


@dataclass(frozen=True)
class AuditBreak:
    """The first entry at which the chain (or the seal over the books) does not verify."""

    seq: int
    reason: str

    def __str__(self):
        return "audit log broken at entry %d: %s" % (self.seq, self.reason)


def authentic(key: bytes, e: AuditEntry) -> bool:
    """A keyed entry's stored hash is its content's under `key` (only a key holder wrote it)."""
    return e.scheme == KEYED and hmac.compare_digest(
        entry_hash(key, e.prev_hash, e.seq, e.at, e.operator, e.action, e.card_number, e.terminal_number,
                   e.result, e.details, e.sealed_upto, e.seal), e.entry_hash)


def verify(session: Session, key: bytes | None, expect_head: str | None = None,
           after: tuple | None = None, own: dict | None = None) -> AuditBreak | None:
    """None if every entry chains to the previous one, hashes to its stored hash under `key`, every
    seal matches the bookings it covers, no booking is unsealed and (with `expect_head`) the log
    still extends that head. Else the first break.

    `after` = (seq, entry_hash, sealed_upto) of a keyed entry the caller checked (`authentic`) and
    verified before: only what follows it is verified (a checkpoint, reconciliation.py); what
    precedes it is what a full verify re-reads. `own` {seq: Appended}: entries the caller appended
    itself, sealing bookings it wrote in the same transaction (`append(booked=)`); an entry that is
    exactly one of them (same hash, so the same content, sealing the same range) has its seal taken
    as computed then instead of re-reading the bookings (reconciliation.py `verify_books` says why
    that detects no less). Every other entry, and the chain through all of them, is checked."""
    if key is None:
        raise AuditKeyError("verifying the audit log needs the audit key: give a key set (--keystore: a "
                            "workstation or collector export, or the keystore)")
    prev, expected_seq, hw, keyed_seen, head_seen = GENESIS, 1, 0, False, expect_head is None
    expect = (expect_head or "").lower()
    q = select(AuditEntry).order_by(AuditEntry.seq)
    if after is not None:
        expected_seq, prev, hw, keyed_seen = after[0] + 1, after[1], after[2] or 0, True
        q = q.where(AuditEntry.seq > after[0])
    rows = session.execute(q).scalars()
    for e in rows:
        if e.seq != expected_seq:
            return AuditBreak(expected_seq, "entry %d missing (next entry is %d)" % (expected_seq, e.seq))
        if e.prev_hash != prev:
            return AuditBreak(e.seq, "prev_hash does not match the previous entry's hash")
        if e.scheme == LEGACY:
            if keyed_seen:
                return AuditBreak(e.seq, "an unkeyed entry after keyed ones (entry rewritten)")
            if e.sealed_upto is not None or e.seal is not None:
                return AuditBreak(e.seq, "an unkeyed entry carries a seal (entry rewritten)")
            recomputed = legacy_entry_hash(e.prev_hash, e.seq, e.at, e.operator, e.action, e.card_number,
                                           e.terminal_number, e.result, e.details)
        elif e.scheme == KEYED:
            keyed_seen = True
            recomputed = entry_hash(key, e.prev_hash, e.seq, e.at, e.operator, e.action, e.card_number,
                                    e.terminal_number, e.result, e.details, e.sealed_upto, e.seal)
        else:
            return AuditBreak(e.seq, "unknown hash scheme %r" % (e.scheme,))
        if not hmac.compare_digest(recomputed, e.entry_hash):
            return AuditBreak(e.seq, "content does not match its hash (entry edited or re-hashed, or the wrong "
                                     "audit key)")
        if e.scheme == KEYED:
            upto = e.sealed_upto if e.sealed_upto is not None else -1
            if upto < hw:
                return AuditBreak(e.seq, "the seal goes back (sealed up to %d after %d)" % (upto, hw))
            mine = own.get(e.seq) if own else None
            if (mine is not None and upto > hw and mine.entry_hash == e.entry_hash and mine.sealed_from == hw
                    and mine.sealed_upto == upto and mine.seal == e.seal):
                hw = upto  # sealed by the caller from the rows it wrote, in the transaction that wrote them
            elif upto > hw or e.seal is not None:
                covered = _entries_between(session, hw, upto)
                if e.seal is None or seal_digest(covered) != e.seal:
                    return AuditBreak(e.seq, "the bookings it seals (journal entries %d..%d) were changed: "
                                             "postings edited, added or deleted" % (hw + 1, upto))
                hw = upto
        if not head_seen and e.entry_hash == expect:
            head_seen = True
        prev, expected_seq = e.entry_hash, e.seq + 1
    if not head_seen:
        return AuditBreak(expected_seq, "the log no longer extends the expected head %s: entries after it were "
                                        "deleted or its history rewritten" % expect_head)
    stray = session.execute(select(func.min(JournalEntry.id)).where(JournalEntry.id > hw)).scalar_one()
    if stray is not None:
        return AuditBreak(expected_seq, "journal entry %d is sealed by no audit entry (booked outside the ledger, "
                                        "or the entries sealing it were deleted)" % stray)
    return None


def checkpoint(session: Session) -> tuple | None:
    """(seq, entry hash, sealed up to) of the last entry: what `verify(after=)` continues from once
    everything up to it verified (None: an empty log)."""
    last = _tail(session)
    return (int(last[0]), last[1], int(last[2] or 0)) if last else None


def head(session: Session) -> tuple[int, str]:
    """(last seq, last hash): record it elsewhere to detect truncation or rewriting later."""
    last = _tail(session)
    return (last[0], last[1]) if last else (0, GENESIS)


class AuditLog:
    """The audit log as a ledger service (`Ledger.audit`): verify the chain and the seal, its head,
    its entries."""

    def __init__(self, uow):
        self.uow = uow

    def verify_audit_log(self, expect_head: str | None = None) -> AuditBreak | None:
        """None when the whole chain and every seal verify (and the log extends `expect_head`), else
        the first break. AuditKeyError without the audit key."""
        with self.uow.read() as s:
            return verify(s, self.uow.audit_key, expect_head)

    def audit_head(self) -> tuple[int, str]:
        with self.uow.read() as s:
            return head(s)

    def audit_entries(self, card: str | None = None, action: str | None = None, *, operator: str | None = None,
                      terminal: str | None = None, day: dt.date | None = None,
                      limit: int | None = None) -> list[AuditEntry]:
        """Entries in order, filtered by card, action (a trailing '*' matches a prefix), operator,
        terminal and business day (the ledger's calendar); `limit`: only the newest that many."""
        with self.uow.read() as s:
            q = select(AuditEntry)
            if card is not None:
                q = q.where(AuditEntry.card_number == card)
            if action is not None:
                q = q.where(AuditEntry.action.like(action[:-1] + "%") if action.endswith("*")
                            else AuditEntry.action == action)
            if operator is not None:
                q = q.where(AuditEntry.operator == operator)
            if terminal is not None:
                q = q.where(AuditEntry.terminal_number == terminal)
            if day is not None:
                cal = self.uow.calendar
                start = dt.datetime.combine(day, dt.time(0), cal.tz)
                lo, hi = format_at(start), format_at(start + dt.timedelta(days=1))
                q = q.where(AuditEntry.at >= lo, AuditEntry.at < hi)
            if limit is not None:
                rows = list(s.execute(q.order_by(AuditEntry.seq.desc()).limit(limit)).scalars())
                return rows[::-1]
            return list(s.execute(q.order_by(AuditEntry.seq)).scalars())
