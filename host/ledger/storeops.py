"""Store operations in the ledger: reader sign-ins, collected reader journals (stored once per
terminal and number), day-close batches, card observations and the reconciliation exception list.

The journal store is idempotent: the same record again is a no-op; a *different* record under a
number already stored is never written — it comes back as a conflict (number reuse or tampering)
for the caller to report. Verification of MACs and chains happens before records get here
(icpurse.host.terminals.journal); the raw bytes are kept so it can be redone at any time.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select

from icpurse.host.ledger import bookkeeping as bk

from icpurse.host.ledger.audit import canonical_json
from icpurse.host.ledger.blacklist import BLACKLIST_ROLES
from icpurse.host.ledger.core import LedgerCore
from icpurse.host.ledger.errors import InvalidStateError, NotFound
from icpurse.host.ledger.models import (
    Account, BlacklistEntry, Card, JournalEntry, Posting, CardObservation, ReaderJournalRecord, ReconException, StockCard, Terminal, TerminalBatch, TerminalSignIn,
)
from icpurse.host.ledger.views import TerminalView, card_view, terminal_view

TERMINAL_ROLES = ("issuer-admin", "terminal-operator")


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


def _journal_view(r: ReaderJournalRecord, number: str) -> JournalRecordView:
    return JournalRecordView(number, r.number, r.kind, r.state, r.key_version, r.uid, r.card_seq, r.amount,
                             r.balance_after, r.txn, r.reader_time, bytes(r.raw))


def _exception_view(e: ReconException) -> ExceptionView:
    return ExceptionView(e.id, e.fingerprint, e.kind, e.card_number, e.terminal_number, e.amount, e.summary,
                         json.loads(e.evidence), e.proposal, e.status, e.business_date, e.created_at,
                         e.close_reason, e.blacklist_version)


class StoreOpsMixin(LedgerCore):
    # --- terminals ---

    def terminals(self) -> list[TerminalView]:
        with self.session() as s:
            return [terminal_view(t) for t in s.execute(select(Terminal).order_by(Terminal.number)).scalars()]

    def record_provisioning(self, operator, number: str, *, key_versions, kcvs: dict, settings: dict) -> None:
        """Keys and settings were sent to the reader of terminal `number` (audited: versions and KCVs only)."""
        def do(s):
            op = self._operator(s, operator, TERMINAL_ROLES, "provision a terminal") if operator is not None else None
            t = self._terminal(s, number)
            t.key_version = max(key_versions)
            self._audit(s, op, "terminal.provision", terminal=number, key_versions=sorted(key_versions), kcvs=kcvs,
                        settings=settings)

        self._run("terminal.provision", operator, do, terminal=number)

    def record_sign_in(self, operator, number: str, *, reader_time: int, blacklist_version: int, day: int,
                       batch: int, first_number: int) -> SignInView:
        """A reader opened its day holding `blacklist_version` (audited)."""
        def do(s):
            op = self._operator(s, operator, TERMINAL_ROLES, "sign a terminal in") if operator is not None else None
            t = self._terminal(s, number)
            if t.status != "enabled":
                raise InvalidStateError("terminal %s is disabled" % number)
            now = self.now()
            row = TerminalSignIn(terminal_id=t.id, at=now, reader_time=reader_time,
                                 blacklist_version=blacklist_version, day=day, batch=batch,
                                 first_number=first_number, operator_id=op.id if op else None)
            s.add(row)
            t.last_sign_in_at = now
            self._audit(s, op, "terminal.sign_in", terminal=number, blacklist_version=blacklist_version, day=day,
                        batch=batch)
            return SignInView(number, now, reader_time, blacklist_version, day, batch, first_number)

        return self._run("terminal.sign_in", operator, do, terminal=number)

    def sign_ins(self, number: str) -> list[SignInView]:
        with self.session() as s:
            t = self._terminal(s, number)
            rows = s.execute(select(TerminalSignIn).where(TerminalSignIn.terminal_id == t.id)
                             .order_by(TerminalSignIn.id)).scalars()
            return [SignInView(number, r.at, r.reader_time, r.blacklist_version, r.day, r.batch, r.first_number)
                    for r in rows]

    # --- collected reader journals ---

    def last_journal_number(self, number: str) -> int:
        """Highest record number stored for the terminal (0: none yet)."""
        with self.session() as s:
            t = self._terminal(s, number)
            return int(s.execute(select(func.coalesce(func.max(ReaderJournalRecord.number), 0))
                                 .where(ReaderJournalRecord.terminal_id == t.id)).scalar_one())

    def store_journal_records(self, number: str, records) -> StoreResult:
        """Store verified records (JournalRecordView-like objects with the fields above and `raw`)
        in one transaction. Identical records already stored are skipped; a different record under a
        stored number is not written and is returned in `conflicts`."""
        records = list(records)

        def do(s):
            t = self._terminal(s, number)
            wanted = [r.number for r in records]
            have = {}
            if wanted:
                for row in s.execute(select(ReaderJournalRecord).where(
                        ReaderJournalRecord.terminal_id == t.id, ReaderJournalRecord.number.in_(wanted))).scalars():
                    have[row.number] = bytes(row.raw)
            stored, dup, conflicts = 0, 0, []
            now = self.now()
            for r in records:
                old = have.get(r.number)
                if old is not None:
                    if old == bytes(r.raw):
                        dup += 1
                    else:
                        conflicts.append((r.number, old, bytes(r.raw)))
                    continue
                s.add(ReaderJournalRecord(terminal_id=t.id, number=r.number, kind=r.kind, state=r.state,
                                          key_version=r.key_version, uid=r.uid, card_seq=r.card_seq,
                                          amount=r.amount, balance_after=r.balance_after, txn=r.txn,
                                          reader_time=r.reader_time, raw=bytes(r.raw), collected_at=now))
                have[r.number] = bytes(r.raw)
                stored += 1
            if stored:
                s.flush()
                self._audit(s, None, "journal.store", terminal=number, stored=stored, duplicates=dup,
                            first=min(r.number for r in records), last=max(r.number for r in records))
            return StoreResult(stored, dup, tuple(conflicts))

        return self._run("journal.store", None, do, terminal=number)

    def journal_records(self, number: str | None = None, from_number: int = 1, uid: str | None = None) -> list[JournalRecordView]:
        """Collected records of one terminal (or of all), ordered by terminal and number."""
        with self.session() as s:
            q = select(ReaderJournalRecord, Terminal.number).join(Terminal, ReaderJournalRecord.terminal_id == Terminal.id)
            if number is not None:
                q = q.where(Terminal.number == self._terminal(s, number).number)
            if from_number > 1:
                q = q.where(ReaderJournalRecord.number >= from_number)
            if uid is not None:
                q = q.where(ReaderJournalRecord.uid == uid.upper())
            q = q.order_by(Terminal.number, ReaderJournalRecord.number)
            return [_journal_view(r, n) for r, n in s.execute(q)]

    # --- redemptions from collected journals, in bulk ---

    def book_redemptions(self, items, *, operator=None) -> list[tuple[str, int]]:
        """Book debits seen in reader journals as redemptions, in one transaction: `items` are
        (card number, amount, idempotency key, terminal). A key already booked is skipped. A debit
        the card's ledger balance cannot cover is booked anyway; its shortfall is first booked to the
        discrepancy account (key ``discrepancy:<key>``), explicitly. Returns [(key, shortfall)].

        The postings are those of `book_redemption` / `book_discrepancy`; written in bulk (one flush),
        with one audit entry for the batch naming its count, sum and a digest of its keys — the
        entries themselves carry the keys."""
        import hashlib

        items = list(items)

        def do(s):
            op = self._operator(s, operator) if operator is not None else None
            keys = [k for _, _, k, _ in items]
            done = set()
            for i in range(0, len(keys), 500):
                done |= set(s.execute(select(JournalEntry.idempotency_key).where(
                    JournalEntry.idempotency_key.in_(keys[i:i + 500]))).scalars())
            cards, balances, prepaid, short, booked = {}, {}, {}, [], []
            numbers = sorted({n for n, _, k, _ in items if k not in done})
            for i in range(0, len(numbers), 500):  # cards, accounts and balances in a few queries
                chunk = numbers[i:i + 500]
                for c in s.execute(select(Card).where(Card.card_number.in_(chunk))).scalars():
                    cards[c.card_number] = c
                    balances[c.card_number] = 0
                by_id = {cards[n].id: n for n in chunk if n in cards}
                for acc in s.execute(select(Account).where(Account.card_id.in_(list(by_id)))).scalars():
                    prepaid[by_id[acc.card_id]] = acc
                q = (select(Account.card_id, func.coalesce(func.sum(Posting.amount), 0))
                     .join(Posting, Posting.account_id == Account.id)
                     .where(Account.card_id.in_(list(by_id))).group_by(Account.card_id))
                for card_id, total in s.execute(q):
                    balances[by_id[card_id]] = -int(total)
            redeemed = bk.account(s, "redeemed")
            discrepancy = None
            now = self.now()
            op_id = op.id if op else None

            def entry(key, kind, card, lines, memo=""):
                e = JournalEntry(idempotency_key=key, kind=kind, card_id=card.id, operator_id=op_id, created_at=now,
                                 memo=memo)
                for i, (acc, amount) in enumerate(lines, 1):
                    e.postings.append(Posting(line=i, account_id=acc.id, amount=amount))
                s.add(e)

            for number, amount, key, terminal in items:
                if key in done:
                    continue
                if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                    raise ValueError("redemption amount must be a positive integer number of fen, got %r" % (amount,))
                card = cards.get(number)
                if card is None:
                    card = self._card(s, number)  # NotFound
                if number not in prepaid:
                    prepaid[number] = bk.prepaid_account(s, card)
                missing = amount - balances[number]
                if missing > 0:
                    discrepancy = discrepancy or bk.account(s, "discrepancy")
                    entry("discrepancy:" + key, "discrepancy", card, [(prepaid[number], -missing), (discrepancy, missing)],
                          "debit %s of %d fen exceeds the card's ledger balance by %d fen" % (key, amount, missing))
                    balances[number] += missing
                    short.append((key, missing))
                entry(key, "redemption", card, [(prepaid[number], amount), (redeemed, -amount)])
                balances[number] -= amount
                done.add(key)
                booked.append((key, amount))
            if booked:
                s.flush()
                digest = hashlib.sha256("\n".join(k for k, _ in booked).encode()).hexdigest()
                self._audit(s, op, "book.redemptions", count=len(booked), amount=sum(a for _, a in booked),
                            first=booked[0][0], last=booked[-1][0], keys_sha256=digest,
                            discrepancies=[[k, m] for k, m in short])
            return short

        return self._run("book.redemptions", operator, do, details={"count": len(items)})

    # --- day close ---

    def record_day_close(self, operator, number: str, *, day: int, batch: int, first_number: int, last_number: int,
                         reader_count: int, reader_sum: int, journal_count: int, journal_sum: int) -> BatchView:
        def do(s):
            op = self._operator(s, operator, TERMINAL_ROLES, "close a terminal's day") if operator is not None else None
            t = self._terminal(s, number)
            row = s.execute(select(TerminalBatch).where(TerminalBatch.terminal_id == t.id,
                                                        TerminalBatch.batch == batch)).scalar_one_or_none()
            if row is None:
                row = TerminalBatch(terminal_id=t.id, day=day, batch=batch, first_number=first_number,
                                    last_number=last_number, reader_count=reader_count, reader_sum=reader_sum,
                                    journal_count=journal_count, journal_sum=journal_sum, closed_at=self.now())
                s.add(row)
                s.flush()
                self._audit(s, op, "terminal.day_close", terminal=number, day=day, batch=batch,
                            reader=[reader_count, reader_sum], journal=[journal_count, journal_sum])
            return BatchView(number, row.day, row.batch, row.first_number, row.last_number, row.reader_count,
                             row.reader_sum, row.journal_count, row.journal_sum)

        return self._run("terminal.day_close", operator, do, terminal=number)

    def batches(self, number: str | None = None) -> list[BatchView]:
        with self.session() as s:
            q = select(TerminalBatch, Terminal.number).join(Terminal, TerminalBatch.terminal_id == Terminal.id)
            if number is not None:
                q = q.where(Terminal.number == number)
            q = q.order_by(Terminal.number, TerminalBatch.batch)
            return [BatchView(n, b.day, b.batch, b.first_number, b.last_number, b.reader_count, b.reader_sum,
                              b.journal_count, b.journal_sum) for b, n in s.execute(q)]

    # --- cards by UID and what was seen on them ---

    def uid_map(self) -> dict[str, str]:
        """UID (hex) -> card number of every registered card."""
        with self.session() as s:
            q = select(StockCard.uid, Card.card_number).join(Card, Card.stock_card_id == StockCard.id)
            return {u: n for u, n in s.execute(q)}

    def record_card_observation(self, card_number: str, source: str, ref: str, *, seq: int, balance: int,
                                kind: int | None = None, amount: int | None = None, terminal: int | None = None,
                                txn: int | None = None) -> ObservationView:
        """A card state read directly; the same `ref` again is a no-op."""
        def do(s):
            card = self._card(s, card_number)
            row = s.execute(select(CardObservation).where(CardObservation.ref == ref)).scalar_one_or_none()
            if row is None:
                row = CardObservation(card_id=card.id, source=source, ref=ref, seq=seq, balance=balance, kind=kind,
                                      amount=amount, terminal=terminal, txn=txn, observed_at=self.now())
                s.add(row)
                s.flush()
                self._audit(s, None, "card.observed", card=card_number, source=source, ref=ref, seq=seq,
                            balance=balance)
            return ObservationView(card_number, row.source, row.ref, row.seq, row.balance, row.kind, row.amount,
                                   row.terminal, row.txn, row.observed_at)

        return self._run("card.observed", None, do, card=card_number)

    def card_observations(self, card_number: str | None = None) -> list[ObservationView]:
        with self.session() as s:
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
                return _exception_view(row), False
            now = self.now()
            row = ReconException(fingerprint=fingerprint, kind=kind, card_number=card_number, terminal_number=terminal,
                                 amount=amount, summary=summary, evidence=canonical_json(evidence or {}),
                                 proposal=proposal, status="open", business_date=self.business_date(now),
                                 created_at=now)
            s.add(row)
            s.flush()
            self._audit(s, None, "exception.add", card=card_number, terminal=terminal, kind=kind, id=row.id,
                        fingerprint=fingerprint, amount=amount, proposal=proposal)
            return _exception_view(row), True

        return self._run("exception.add", None, do, card=card_number, terminal=terminal)

    def exceptions(self, status: str | None = None, kind: str | None = None,
                   card_number: str | None = None) -> list[ExceptionView]:
        with self.session() as s:
            q = select(ReconException).order_by(ReconException.id)
            if status is not None:
                q = q.where(ReconException.status == status)
            if kind is not None:
                q = q.where(ReconException.kind == kind)
            if card_number is not None:
                q = q.where(ReconException.card_number == card_number)
            return [_exception_view(e) for e in s.execute(q).scalars()]

    def exception(self, exception_id: int) -> ExceptionView:
        with self.session() as s:
            return _exception_view(self._exception(s, exception_id))

    def _exception(self, s, exception_id: int) -> ReconException:
        row = s.get(ReconException, exception_id)
        if row is None:
            raise NotFound("no exception %d" % exception_id)
        return row

    def close_exception(self, operator, exception_id: int, status: str, reason: str) -> ExceptionView:
        """Dismiss or resolve a finding, with a reason (audited)."""
        if status not in ("dismissed", "resolved"):
            raise ValueError("an exception is closed as dismissed or resolved, got %r" % (status,))
        if not reason.strip():
            raise ValueError("closing an exception needs a reason")

        def do(s):
            op = self._operator(s, operator, BLACKLIST_ROLES, "close an exception")
            e = self._exception(s, exception_id)
            if e.status != "open":
                raise InvalidStateError("exception %d is %s, not open" % (exception_id, e.status))
            e.status, e.closed_at, e.closed_by, e.close_reason = status, self.now(), op.id, reason
            self._audit(s, op, "exception." + status, card=e.card_number, terminal=e.terminal_number, id=e.id,
                        reason=reason)
            return _exception_view(e)

        return self._run("exception.close", operator, do, details={"id": exception_id})

    def approve_blacklist(self, operator, exception_id: int) -> ExceptionView:
        """An operator approves a finding's blacklist proposal: the card goes on the blacklist (next
        version, with the finding as evidence) and the finding is marked approved. Idempotent for a card
        already blacklisted (the finding then records the version that holds it)."""
        def do(s):
            op = self._operator(s, operator, BLACKLIST_ROLES, "approve a blacklist proposal")
            e = self._exception(s, exception_id)
            if e.proposal != "blacklist" or not e.card_number:
                raise InvalidStateError("exception %d proposes no blacklist entry" % exception_id)
            if e.status != "open":
                raise InvalidStateError("exception %d is %s, not open" % (exception_id, e.status))
            entry = self._active(s, e.card_number)
            if entry is None:
                card = self._card(s, e.card_number)
                version = self._next_version(s, "add", e.card_number, op)
                s.add(BlacklistEntry(card_number=e.card_number, uid=card.stock.uid, reason="%s (exception %d)" % (
                    e.kind, e.id), evidence=e.evidence, added_version=version))
                self._audit(s, op, "blacklist.add", card=e.card_number, version=version, reason=e.kind,
                            exception=e.id)
            else:
                version = entry.added_version
            e.status, e.closed_at, e.closed_by, e.blacklist_version = "approved", self.now(), op.id, version
            e.close_reason = "blacklisted at version %d" % version
            self._audit(s, op, "exception.approved", card=e.card_number, id=e.id, version=version)
            return _exception_view(e)

        return self._run("exception.approve", operator, do, details={"id": exception_id})
