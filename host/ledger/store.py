"""Store operations in the ledger (`Ledger.store`): terminals (8-digit number bound to an outlet),
reader sign-ins, collected reader journals (stored once per terminal and number), day-close batches,
card observations and the reconciliation exception list.

The journal store is idempotent: the same record again is a no-op; a *different* record under a
number already stored is never written — it comes back as a conflict (number reuse or tampering)
for the caller to report. Verification of MACs and chains happens before records get here
(icpurse.host.terminals.journal_records); the raw bytes are kept so it can be redone at any time.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from itertools import repeat
from operator import attrgetter

from sqlalchemy import and_, bindparam, func, select

from icpurse.host.ledger import blacklist, bulk
from icpurse.host.ledger.audit import canonical_json
from icpurse.host.ledger.blacklist import BLACKLIST_ROLES
from icpurse.host.ledger.cards import card_row
from icpurse.host.ledger.errors import InvalidStateError, NotFound, SeparationOfDutiesError
from icpurse.host.ledger.models import (
    TERMINAL_STATUSES, BlacklistEntry, Card, CardObservation, Operator, ReaderJournalRecord, ReconException, Terminal,
    TerminalBatch, TerminalJournalMark, TerminalSignIn,
)
from icpurse.host.ledger.people import ADMIN, operator_row
from icpurse.host.ledger.views import TerminalView, terminal_view

TERMINAL_ROLES = ("issuer-admin", "terminal-operator")
# findings whose card keeps working once closed: closing one takes two operators of different roles
FOUR_EYES_KINDS = ("rollback", "clone", "forgery")


@dataclass(frozen=True)
class JournalRecordView:
    terminal: str
    number: int
    kind: int
    state: int
    key_version: int
    uid: str
    card_seq: int
    amount: int
    balance_after: int
    txn: int
    reader_time: int
    raw: bytes
    collected_at: dt.datetime | None = None  # when the back office stored it (None: not from the ledger)


@dataclass(frozen=True)
class StoreResult:
    stored: int  # new records written
    duplicates: int  # already there, identical: nothing done
    conflicts: tuple  # (number, stored raw, offered raw): a different record under a stored number


@dataclass(frozen=True)
class SignInView:
    terminal: str
    at: dt.datetime
    reader_time: int
    blacklist_version: int
    day: int
    batch: int
    first_number: int


@dataclass(frozen=True)
class JournalMarkView:
    """A reader's journal high-water mark at one contact: its last record number and that record's MAC."""

    terminal: str
    last_number: int
    last_mac: bytes
    source: str
    seen_at: dt.datetime


@dataclass(frozen=True)
class BatchView:
    terminal: str
    day: int
    batch: int
    first_number: int
    last_number: int
    reader_count: int
    reader_sum: int
    journal_count: int
    journal_sum: int

    @property
    def balanced(self) -> bool:
        return (self.reader_count, self.reader_sum) == (self.journal_count, self.journal_sum)


@dataclass(frozen=True)
class ObservationView:
    card_number: str
    source: str
    ref: str
    seq: int
    balance: int
    kind: int | None
    amount: int | None
    terminal: int | None
    txn: int | None
    observed_at: dt.datetime


@dataclass(frozen=True)
class ExceptionView:
    id: int
    fingerprint: str
    kind: str
    card_number: str | None
    terminal: str | None
    amount: int | None
    summary: str
    evidence: dict
    proposal: str | None
    status: str
    business_date: dt.date
    created_at: dt.datetime
    close_reason: str | None
    blacklist_version: int | None
    close_requested_by: str | None = None  # four eyes: the first operator's request, awaiting a second
    close_requested_as: str | None = None


def terminal_row(s, number: str) -> Terminal:
    """The terminal `number`; NotFound if there is none."""
    t = s.execute(select(Terminal).where(Terminal.number == number)).scalar_one_or_none()
    if t is None:
        raise NotFound("no terminal %s" % number)
    return t


_JOURNAL_TABLE = ReaderJournalRecord.__table__
_JOURNAL_COLUMNS = ("terminal_id", "number", "kind", "state", "key_version", "uid", "card_seq", "amount",
                    "balance_after", "txn", "reader_time", "raw", "collected_at")
# the record attributes between `number` and `collected_at` in _JOURNAL_COLUMNS' order (raw last)
_ROW_FIELDS = tuple(map(attrgetter, _JOURNAL_COLUMNS[2:-1]))
_NUMBER_OF, _RAW_OF = attrgetter("number"), attrgetter("raw")


# Built once: the ingest runs these per batch, and building a statement costs more than running it.
# They run on the session's Connection (Core: compiled once, cached), not through the ORM session.
_TERMINAL_ID = select(Terminal.id).where(Terminal.number == bindparam("number"))
# the terminal and its stored records of a batch's number range, in one statement (a terminal with
# none of them comes back as one row with NULLs; no terminal: no row)
_TERMINAL_AND_RAWS = (select(Terminal.id, ReaderJournalRecord.number, ReaderJournalRecord.raw)
                      .outerjoin(ReaderJournalRecord, and_(
                          ReaderJournalRecord.terminal_id == Terminal.id,
                          ReaderJournalRecord.number.between(bindparam("lo"), bindparam("hi"))))
                      .where(Terminal.number == bindparam("number")))
_RAWS_IN = select(ReaderJournalRecord.number, ReaderJournalRecord.raw).where(
    ReaderJournalRecord.terminal_id == bindparam("tid"), ReaderJournalRecord.number.in_(bindparam("numbers", expanding=True)))


def _terminal_and_stored_raws(conn, number: str, numbers) -> tuple[int, dict]:
    """(terminal id, {record number: stored raw} of the terminal's records among `numbers`): one
    statement when the numbers are (nearly) consecutive, as collected batches are (a range scan of
    the unique (terminal, number) index); else the terminal, then an IN list. NotFound if there is
    no terminal `number`."""
    lo, hi = (min(numbers), max(numbers)) if numbers else (1, 0)
    if hi - lo < 2 * len(numbers) + 64:
        rows = conn.execute(_TERMINAL_AND_RAWS, {"number": number, "lo": lo, "hi": hi}).all()
        if not rows:
            raise NotFound("no terminal %s" % number)
        tid = rows[0][0]
        rows = [(n, raw) for _, n, raw in rows if n is not None]
    else:
        tid = conn.execute(_TERMINAL_ID, {"number": number}).scalar_one_or_none()
        if tid is None:
            raise NotFound("no terminal %s" % number)
        rows = conn.execute(_RAWS_IN, {"tid": tid, "numbers": sorted(set(numbers))}).all()
    if not rows:
        return tid, {}
    wanted = set(numbers)
    return tid, {n: bytes(raw) for n, raw in rows if n in wanted}


def _exception_row(s, exception_id: int) -> ReconException:
    row = s.get(ReconException, exception_id)
    if row is None:
        raise NotFound("no exception %d" % exception_id)
    return row


def _journal_view(r: ReaderJournalRecord, number: str) -> JournalRecordView:
    return JournalRecordView(number, r.number, r.kind, r.state, r.key_version, r.uid, r.card_seq, r.amount,
                             r.balance_after, r.txn, r.reader_time, bytes(r.raw), r.collected_at)


def exception_view(e: ReconException, requester: str | None = None) -> ExceptionView:
    return ExceptionView(e.id, e.fingerprint, e.kind, e.card_number, e.terminal_number, e.amount, e.summary,
                         json.loads(e.evidence), e.proposal, e.status, e.business_date, e.created_at,
                         e.close_reason, e.blacklist_version, requester, e.close_requested_as)


def _view(s, e: ReconException) -> ExceptionView:
    requester = s.get(Operator, e.close_requested_by).username if e.close_requested_by else None
    return exception_view(e, requester)


class Store:
    """Terminals and what the store readers bring in (`Ledger.store`)."""

    def __init__(self, uow):
        self.uow = uow
        self._bind_collected = None

    def _collected_at(self, conn):
        """Now, as the driver takes reader_journal.collected_at (its type's bind processor, found once)."""
        if self._bind_collected is None:
            self._bind_collected = bulk.bind_processor(conn.dialect, _JOURNAL_TABLE.c.collected_at)
        return self._bind_collected(self.uow.now())

    # --- terminals ---

    def add_terminal(self, admin: Operator | str, number: str, outlet: str, merchant: str, *, key_version: int = 1,
                     fixed_price: int | None = None, status: str = "enabled") -> TerminalView:
        if not re.fullmatch(r"\d{8}", number or ""):
            raise ValueError("a terminal number is 8 digits, got %r" % (number,))
        if status not in TERMINAL_STATUSES:
            raise ValueError("terminal status is enabled or disabled, got %r" % (status,))
        if fixed_price is not None and (not isinstance(fixed_price, int) or isinstance(fixed_price, bool)
                                        or fixed_price <= 0):
            raise ValueError("fixed_price is a positive integer number of fen, got %r" % (fixed_price,))

        def do(s):
            a = operator_row(s, admin, ADMIN, "provision a terminal")
            if s.execute(select(Terminal).where(Terminal.number == number)).first():
                raise InvalidStateError("terminal %s already exists" % number)
            t = Terminal(number=number, outlet=outlet, merchant=merchant, status=status, key_version=key_version,
                         fixed_price=fixed_price, created_at=self.uow.now())
            s.add(t)
            s.flush()
            self.uow.audit(s, a, "terminal.add", terminal=number, outlet=outlet, merchant=merchant,
                           key_version=key_version, fixed_price=fixed_price)
            return terminal_view(t)

        return self.uow.run("terminal.add", admin, do, terminal=number)

    def set_terminal_status(self, admin: Operator | str, number: str, status: str) -> TerminalView:
        if status not in TERMINAL_STATUSES:
            raise ValueError("terminal status is enabled or disabled, got %r" % (status,))

        def do(s):
            a = operator_row(s, admin, ADMIN, "change a terminal's status")
            t = terminal_row(s, number)
            t.status = status
            self.uow.audit(s, a, "terminal.status", terminal=number, status=status)
            return terminal_view(t)

        return self.uow.run("terminal.status", admin, do, terminal=number)

    def terminal(self, number: str) -> TerminalView:
        with self.uow.read() as s:
            return terminal_view(terminal_row(s, number))

    def terminals(self) -> list[TerminalView]:
        with self.uow.read() as s:
            return [terminal_view(t) for t in s.execute(select(Terminal).order_by(Terminal.number)).scalars()]

    def record_provisioning(self, operator, number: str, *, key_versions, kcvs: dict, settings: dict) -> None:
        """Keys and settings were sent to the reader of terminal `number` (audited: versions and KCVs
        only). The settings are what every later sign-in signs into the reader's day configuration."""
        def do(s):
            op = operator_row(s, operator, TERMINAL_ROLES, "provision a terminal") if operator is not None else None
            t = terminal_row(s, number)
            t.key_version = max(key_versions)
            t.settings = canonical_json(settings)
            self.uow.audit(s, op, "terminal.provision", terminal=number, key_versions=sorted(key_versions), kcvs=kcvs,
                           settings=settings)

        self.uow.run("terminal.provision", operator, do, terminal=number)

    def record_sign_in(self, operator, number: str, *, reader_time: int, blacklist_version: int, day: int,
                       batch: int, first_number: int) -> SignInView:
        """A reader opened its day holding `blacklist_version` (audited)."""
        def do(s):
            op = operator_row(s, operator, TERMINAL_ROLES, "sign a terminal in") if operator is not None else None
            t = terminal_row(s, number)
            if t.status != "enabled":
                raise InvalidStateError("terminal %s is disabled" % number)
            now = self.uow.now()
            row = TerminalSignIn(terminal_id=t.id, at=now, reader_time=reader_time,
                                 blacklist_version=blacklist_version, day=day, batch=batch,
                                 first_number=first_number, operator_id=op.id if op else None)
            s.add(row)
            t.last_sign_in_at = now
            self.uow.audit(s, op, "terminal.sign_in", terminal=number, blacklist_version=blacklist_version, day=day,
                           batch=batch)
            return SignInView(number, now, reader_time, blacklist_version, day, batch, first_number)

        return self.uow.run("terminal.sign_in", operator, do, terminal=number)

    def record_transport_key(self, operator, number: str, kcv: str) -> None:
        """The lab ceremony's transport key for terminal `number` was handed out (audited: KCV only)."""
        def do(s):
            op = operator_row(s, operator, ADMIN, "hand out a transport key")
            self.uow.audit(s, op, "terminal.transport_key", terminal=number, kcv=kcv)

        self.uow.run("terminal.transport_key", operator, do, terminal=number)

    def terminal_settings(self, number: str) -> dict:
        """The settings recorded at the terminal's provisioning ({} before it was provisioned)."""
        with self.uow.read() as s:
            t = terminal_row(s, number)
            return json.loads(t.settings) if t.settings else {}

    def note_journal_mark(self, number: str, last_number: int, last_mac: bytes, source: str) -> JournalMarkView:
        """What the reader said its journal holds at a contact, or (source "ack") how far the host
        acknowledged it (once per distinct mark and source)."""
        def do(s):
            t = terminal_row(s, number)
            row = s.execute(select(TerminalJournalMark).where(
                TerminalJournalMark.terminal_id == t.id, TerminalJournalMark.source == source,
                TerminalJournalMark.last_number == last_number,
                TerminalJournalMark.last_mac == bytes(last_mac))).scalar_one_or_none()
            if row is None:
                row = TerminalJournalMark(terminal_id=t.id, last_number=last_number, last_mac=bytes(last_mac),
                                          source=source, seen_at=self.uow.now())
                s.add(row)
                s.flush()
            return JournalMarkView(number, row.last_number, bytes(row.last_mac), row.source, row.seen_at)

        return self.uow.run("terminal.journal_mark", None, do, terminal=number)

    def journal_marks(self, number: str) -> list[JournalMarkView]:
        """Every high-water mark the terminal's reader reported, by record number."""
        with self.uow.read() as s:
            t = terminal_row(s, number)
            rows = s.execute(select(TerminalJournalMark).where(TerminalJournalMark.terminal_id == t.id)
                             .order_by(TerminalJournalMark.last_number, TerminalJournalMark.id)).scalars()
            return [JournalMarkView(number, r.last_number, bytes(r.last_mac), r.source, r.seen_at) for r in rows]

    def sign_ins(self, number: str) -> list[SignInView]:
        with self.uow.read() as s:
            t = terminal_row(s, number)
            rows = s.execute(select(TerminalSignIn).where(TerminalSignIn.terminal_id == t.id)
                             .order_by(TerminalSignIn.id)).scalars()
            return [SignInView(number, r.at, r.reader_time, r.blacklist_version, r.day, r.batch, r.first_number)
                    for r in rows]

    # --- collected reader journals ---

    def last_journal_number(self, number: str) -> int:
        """Highest record number stored for the terminal (0: none yet)."""
        with self.uow.read() as s:
            t = terminal_row(s, number)
            return int(s.execute(select(func.coalesce(func.max(ReaderJournalRecord.number), 0))
                                 .where(ReaderJournalRecord.terminal_id == t.id)).scalar_one())

    def journal_record_count(self, number: str | None = None) -> int:
        """How many records are stored, for one terminal or for all."""
        with self.uow.read() as s:
            q = select(func.count()).select_from(ReaderJournalRecord)
            if number is not None:
                q = q.where(ReaderJournalRecord.terminal_id == terminal_row(s, number).id)
            return int(s.execute(q).scalar_one())

    def store_journal_records(self, number: str, records) -> StoreResult:
        """Store verified records (JournalRecordView-like objects with the fields above and `raw`)
        in one transaction with one audit entry. Identical records already stored are skipped; a
        different record under a stored number is not written and is returned in `conflicts`.

        One batch costs a handful of statements whatever its size: the terminal with the stored
        records of the batch's number range (one statement), one bulk insert (ledger/bulk.py:
        multi-row INSERT on SQLite, COPY on PostgreSQL) and the audit entry; the commit is synced
        (docs/back-office.md, "Durability"), so a collection's rate is set per batch."""
        records = list(records)
        numbers = list(map(_NUMBER_OF, records))

        def do(s):
            conn = s.connection()
            tid, have = _terminal_and_stored_raws(conn, number, numbers)
            dup, conflicts = 0, []
            collected = self._collected_at(conn)
            if not have and len(set(numbers)) == len(numbers):
                # the usual batch: nothing of it stored yet, no number twice: rows built column-wise
                rows = list(zip(repeat(tid), numbers, *(map(get, records) for get in _ROW_FIELDS[:-1]),
                                map(bytes, map(_RAW_OF, records)), repeat(collected)))
            else:
                rows = []
                append = rows.append
                for r in records:
                    raw = bytes(r.raw)
                    old = have.get(r.number)
                    if old is not None:
                        if old == raw:
                            dup += 1
                        else:
                            conflicts.append((r.number, old, raw))
                        continue
                    append((tid, r.number, r.kind, r.state, r.key_version, r.uid, r.card_seq, r.amount,
                            r.balance_after, r.txn, r.reader_time, raw, collected))
                    have[r.number] = raw
            stored = len(rows)
            if stored:
                bulk.insert_rows(s, _JOURNAL_TABLE, _JOURNAL_COLUMNS, rows)
                self.uow.audit(s, None, "journal.store", terminal=number, stored=stored, duplicates=dup,
                               first=min(numbers), last=max(numbers))
            return StoreResult(stored, dup, tuple(conflicts))

        return self.uow.run("journal.store", None, do, terminal=number)

    def journal_records(self, number: str | None = None, from_number: int = 1, uid: str | None = None) -> list[JournalRecordView]:
        """Collected records of one terminal (or of all), ordered by terminal and number."""
        with self.uow.read() as s:
            q = select(ReaderJournalRecord, Terminal.number).join(Terminal, ReaderJournalRecord.terminal_id == Terminal.id)
            if number is not None:
                q = q.where(Terminal.number == terminal_row(s, number).number)
            if from_number > 1:
                q = q.where(ReaderJournalRecord.number >= from_number)
            if uid is not None:
                q = q.where(ReaderJournalRecord.uid == uid.upper())
            q = q.order_by(Terminal.number, ReaderJournalRecord.number)
            return [_journal_view(r, n) for r, n in s.execute(q)]

    # --- day close ---

    def record_day_close(self, operator, number: str, *, day: int, batch: int, first_number: int, last_number: int,
                         reader_count: int, reader_sum: int, journal_count: int, journal_sum: int) -> BatchView:
        def do(s):
            op = operator_row(s, operator, TERMINAL_ROLES, "close a terminal's day") if operator is not None else None
            t = terminal_row(s, number)
            row = s.execute(select(TerminalBatch).where(TerminalBatch.terminal_id == t.id,
                                                        TerminalBatch.batch == batch)).scalar_one_or_none()
            if row is None:
                row = TerminalBatch(terminal_id=t.id, day=day, batch=batch, first_number=first_number,
                                    last_number=last_number, reader_count=reader_count, reader_sum=reader_sum,
                                    journal_count=journal_count, journal_sum=journal_sum, closed_at=self.uow.now())
                s.add(row)
                s.flush()
                self.uow.audit(s, op, "terminal.day_close", terminal=number, day=day, batch=batch,
                               reader=[reader_count, reader_sum], journal=[journal_count, journal_sum])
            return BatchView(number, row.day, row.batch, row.first_number, row.last_number, row.reader_count,
                             row.reader_sum, row.journal_count, row.journal_sum)

        return self.uow.run("terminal.day_close", operator, do, terminal=number)

    def batches(self, number: str | None = None) -> list[BatchView]:
        with self.uow.read() as s:
            q = select(TerminalBatch, Terminal.number).join(Terminal, TerminalBatch.terminal_id == Terminal.id)
            if number is not None:
                q = q.where(Terminal.number == number)
            q = q.order_by(Terminal.number, TerminalBatch.batch)
            return [BatchView(n, b.day, b.batch, b.first_number, b.last_number, b.reader_count, b.reader_sum,
                              b.journal_count, b.journal_sum) for b, n in s.execute(q)]

    # --- what was seen on cards ---

    def record_card_observation(self, card_number: str, source: str, ref: str, *, seq: int, balance: int,
                                kind: int | None = None, amount: int | None = None, terminal: int | None = None,
                                txn: int | None = None) -> ObservationView:
        """A card state read directly; the same `ref` again is a no-op."""
        def do(s):
            card = card_row(s, card_number)
            row = s.execute(select(CardObservation).where(CardObservation.ref == ref)).scalar_one_or_none()
            if row is None:
                row = CardObservation(card_id=card.id, source=source, ref=ref, seq=seq, balance=balance, kind=kind,
                                      amount=amount, terminal=terminal, txn=txn, observed_at=self.uow.now())
                s.add(row)
                s.flush()
                self.uow.audit(s, None, "card.observed", card=card_number, source=source, ref=ref, seq=seq,
                               balance=balance)
            return ObservationView(card_number, row.source, row.ref, row.seq, row.balance, row.kind, row.amount,
                                   row.terminal, row.txn, row.observed_at)

        return self.uow.run("card.observed", None, do, card=card_number)

    def card_observations(self, card_number: str | None = None) -> list[ObservationView]:
        with self.uow.read() as s:
            q = select(CardObservation, Card.card_number).join(Card, CardObservation.card_id == Card.id)
            if card_number is not None:
                q = q.where(Card.card_number == card_number)
            q = q.order_by(CardObservation.id)
            return [ObservationView(n, o.source, o.ref, o.seq, o.balance, o.kind, o.amount, o.terminal, o.txn,
                                    o.observed_at) for o, n in s.execute(q)]

    # --- the exception list ---

    def add_exception(self, fingerprint: str, kind: str, summary: str, *, card_number: str | None = None,
                      terminal: str | None = None, amount: int | None = None, evidence: dict | None = None,
                      proposal: str | None = None) -> tuple[ExceptionView, bool]:
        """Put a finding on the exception list once per fingerprint; returns (exception, created)."""
        def do(s):
            row = s.execute(select(ReconException).where(ReconException.fingerprint == fingerprint)).scalar_one_or_none()
            if row is not None:
                return exception_view(row), False
            now = self.uow.now()
            row = ReconException(fingerprint=fingerprint, kind=kind, card_number=card_number, terminal_number=terminal,
                                 amount=amount, summary=summary, evidence=canonical_json(evidence or {}),
                                 proposal=proposal, status="open", business_date=self.uow.business_date(now),
                                 created_at=now)
            s.add(row)
            s.flush()
            self.uow.audit(s, None, "exception.add", card=card_number, terminal=terminal, kind=kind, id=row.id,
                           fingerprint=fingerprint, amount=amount, proposal=proposal)
            return exception_view(row), True

        return self.uow.run("exception.add", None, do, card=card_number, terminal=terminal)

    def exceptions(self, status: str | None = None, kind: str | None = None,
                   card_number: str | None = None) -> list[ExceptionView]:
        with self.uow.read() as s:
            q = select(ReconException).order_by(ReconException.id)
            if status is not None:
                q = q.where(ReconException.status == status)
            if kind is not None:
                q = q.where(ReconException.kind == kind)
            if card_number is not None:
                q = q.where(ReconException.card_number == card_number)
            return [_view(s, e) for e in s.execute(q).scalars()]

    def exception(self, exception_id: int) -> ExceptionView:
        with self.uow.read() as s:
            return _view(s, _exception_row(s, exception_id))

    def close_exception(self, operator, exception_id: int, status: str, reason: str, *,
                        book_discrepancy: int | None = None) -> ExceptionView:
        """Dismiss or resolve a finding, with a reason (audited). `book_discrepancy` (fen, non-zero):
        resolve it by booking that much to the discrepancy account against the finding's card (> 0 lowers
        the card's ledger balance, < 0 raises it), in the same transaction.

        Four eyes for rollback, clone and forgery findings (their card keeps working once closed): the
        first operator's call only *requests* the closing (the finding stays open, the returned view names
        the request); a second operator of another role closes it by asking for the same outcome."""
        if status not in ("dismissed", "resolved"):
            raise ValueError("an exception is closed as dismissed or resolved, got %r" % (status,))
        if not reason.strip():
            raise ValueError("closing an exception needs a reason")
        if book_discrepancy is not None and (status != "resolved" or not isinstance(book_discrepancy, int)
                                             or isinstance(book_discrepancy, bool) or book_discrepancy == 0):
            raise ValueError("a discrepancy booking resolves a finding with a non-zero integer number of fen")

        def do(s):
            why = reason
            op = operator_row(s, operator, BLACKLIST_ROLES, "close an exception")
            e = _exception_row(s, exception_id)
            if e.status != "open":
                raise InvalidStateError("exception %d is %s, not open" % (exception_id, e.status))
            now = self.uow.now()
            if e.kind in FOUR_EYES_KINDS:
                if e.close_requested_by is None:
                    e.close_requested_by, e.close_requested_as, e.close_requested_reason = op.id, status, reason
                    e.close_requested_book, e.close_requested_at = book_discrepancy, now
                    self.uow.audit(s, op, "exception.close_requested", card=e.card_number, terminal=e.terminal_number,
                                   id=e.id, kind=e.kind, status=status, reason=reason, book=book_discrepancy)
                    return _view(s, e)
                first = s.get(Operator, e.close_requested_by)
                if first.id == op.id or first.role == op.role:
                    raise SeparationOfDutiesError(
                        "closing %s finding %d was requested by %s (%s): a second operator of another role "
                        "confirms it, not %s (%s)" % (e.kind, e.id, first.username, first.role, op.username, op.role))
                if (e.close_requested_as, e.close_requested_book) != (status, book_discrepancy):
                    raise InvalidStateError(
                        "exception %d: %s asked to close it as %s%s; confirm the same, or leave it open" % (
                            e.id, first.username, e.close_requested_as,
                            " booking %d fen to discrepancy" % e.close_requested_book
                            if e.close_requested_book else ""))
                why = "%s (requested by %s: %s)" % (why, first.username, e.close_requested_reason)
            if book_discrepancy is not None:
                self._book_discrepancy(s, e, book_discrepancy, why, op)
                why = "%s; %d fen booked to discrepancy" % (why, book_discrepancy)
            e.status, e.closed_at, e.closed_by, e.close_reason = status, now, op.id, why
            self.uow.audit(s, op, "exception." + status, card=e.card_number, terminal=e.terminal_number, id=e.id,
                           reason=why)
            return _view(s, e)

        return self.uow.run("exception.close", operator, do, details={"id": exception_id})

    def _book_discrepancy(self, s, e: ReconException, amount: int, reason: str, op) -> None:
        from icpurse.host.ledger import bookkeeping as bk

        if not e.card_number:
            raise InvalidStateError("exception %d names no card to book a discrepancy against" % e.id)
        card = card_row(s, e.card_number)
        bk.book(s, "discrepancy:exception:%d" % e.id, "discrepancy", [
            bk.Line(bk.prepaid_account(s, card), amount),
            bk.Line(bk.account(s, "discrepancy"), -amount),
        ], self.uow.now(), card=card, operator_id=op.id, memo="exception %d (%s): %s" % (e.id, e.kind, reason))

    def approve_blacklist(self, operator, exception_id: int) -> ExceptionView:
        """An operator approves a finding's blacklist proposal: the card goes on the blacklist (next
        version, with the finding as evidence) and the finding is marked approved. Idempotent for a card
        already blacklisted (the finding then records the version that holds it)."""
        def do(s):
            op = operator_row(s, operator, BLACKLIST_ROLES, "approve a blacklist proposal")
            e = _exception_row(s, exception_id)
            if e.proposal != "blacklist" or not e.card_number:
                raise InvalidStateError("exception %d proposes no blacklist entry" % exception_id)
            if e.status != "open":
                raise InvalidStateError("exception %d is %s, not open" % (exception_id, e.status))
            entry = blacklist.active_entry(s, e.card_number)
            if entry is None:
                card = card_row(s, e.card_number)
                version = blacklist.next_version(self.uow, s, "add", e.card_number, op)
                s.add(BlacklistEntry(card_number=e.card_number, uid=card.stock.uid, reason="%s (exception %d)" % (
                    e.kind, e.id), evidence=e.evidence, added_version=version))
                self.uow.audit(s, op, "blacklist.add", card=e.card_number, version=version, reason=e.kind,
                               exception=e.id)
            else:
                version = entry.added_version
            e.status, e.closed_at, e.closed_by, e.blacklist_version = "approved", self.uow.now(), op.id, version
            e.close_reason = "blacklisted at version %d" % version
            self.uow.audit(s, op, "exception.approved", card=e.card_number, id=e.id, version=version)
            return _view(s, e)

        return self.uow.run("exception.approve", operator, do, details={"id": exception_id})
