"""Reconciliation's side of the ledger (`Ledger.reconciliation`): set-based reads and writes for a
city day, and the watermarks that make a run incremental. The rules live in
`icpurse.host.reconcile.engine`; this module only moves rows.

- `marks()` / `new_debits(marks)`: per terminal, the highest collected record (reader_journal.id)
  whose debits are booked, and the committed debits after it. A watermark row carries an HMAC under
  the audit key; one that does not verify is ignored (that terminal starts over: the bookings'
  idempotency keys keep the books right), so only a key holder can make a run skip records.
- `book_debits(items, marks)`: every redemption of a batch, and the discrepancy booking in front
  of each debit the card's ledger balance cannot cover, in ONE transaction: ids taken up front
  (SQLite: after the highest id under the writers' lock; PostgreSQL: from the tables' sequences),
  rows written by `bulk.insert_rows`, balances by one `GROUP BY` per 500 cards, ONE audit entry for
  the batch (count, fen, a digest of its keys) sealing exactly these entries (`audit.append(booked=)`:
  the seal is computed from the rows as written, the same bytes a re-read gives). The postings are
  those `Books.book_redemptions` writes one by one (the oracle in the tests).
- `touched_cards(mark)`: the cards anything happened to since the last run (named by an audit
  entry, booked in a journal entry, observed), so a run re-threads only those.
- `card_inputs(numbers)`: what threading needs of those cards (their committed debits, observations,
  confirmed top-ups, ledger balances, last seen), by IN lists and GROUP BY; a card with a keyed tail
  (`recon_card_tails`, written by `finish`) gets only its debits after the record the tail reached.
- `finish(...)`: last-seen updates by bulk UPDATE, the cards' mismatch flags and tails, the logs'
  mark, in one transaction with one audit entry for the run.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import Integer, and_, bindparam, cast, delete, func, or_, select, text, update

from icpurse.host import codec
from icpurse.host.ledger import audit, bookkeeping as bk, bulk
from icpurse.host.ledger.audit import canonical_json
from icpurse.host.ledger.cards import card_row
from icpurse.host.ledger.models import (
    Account, AuditEntry, Card, CardObservation, JournalEntry, Posting, ReaderJournalRecord, ReconCard, ReconCardTail,
    ReconException, ReconMark, ReconTerminal, StockCard, Terminal, TerminalBatch, TerminalSignIn, Topup,
)
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.store import exception_view

CHUNK = 500  # values per IN list


class DebitRow(NamedTuple):
    """A collected record as reconciliation reads it (no raw bytes; a tuple: a city day has many)."""

    id: int
    terminal: str
    number: int
    kind: int
    state: int
    uid: str
    card_seq: int
    amount: int
    balance_after: int
    txn: int
    reader_time: int
    collected_at: object  # datetime the office stored it (reconciliation bounds the reader's clock by it)


@dataclass(frozen=True)
class Mark:
    audit_upto: int
    entry_upto: int
    observation_upto: int


_ZERO_MARK = Mark(0, 0, 0)
_ROW_COLUMNS = (ReaderJournalRecord.id, Terminal.number, ReaderJournalRecord.number, ReaderJournalRecord.kind,
                ReaderJournalRecord.state, ReaderJournalRecord.uid, ReaderJournalRecord.card_seq,
                ReaderJournalRecord.amount, ReaderJournalRecord.balance_after, ReaderJournalRecord.txn,
                ReaderJournalRecord.reader_time, audit.raw_time(ReaderJournalRecord.collected_at))


def _debit_rows(result) -> list:
    """DebitRows of a query of `_ROW_COLUMNS` (collected_at converted once per distinct value)."""
    times = audit.TimeCache()
    return [DebitRow(*r[:11], times(r[11])) for r in result]


def _driver_rows(s, q) -> list[tuple]:
    """The rows of `q` as the driver returns them (plain tuples, no Row objects: a city day reads a
    million), on the session's connection, in its transaction. `q`'s parameters must be plain values
    the driver takes as they are (ints, strs): no type's bind processing is applied."""
    conn = s.connection()
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args = tuple(params[k] for k in compiled.positiontup) if compiled.positional else params
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(compiled.string, args)
        return cur.fetchall()
    finally:
        cur.close()


_BY_TERMINAL = itemgetter(1, 2)  # a DebitRow's (terminal, number)


def _chunks(values, n=CHUNK):
    values = list(values)
    for i in range(0, len(values), n):
        yield values[i:i + n]


def _mac(key: bytes, *fields) -> str:
    return hmac.digest(key, ("recon:" + canonical_json(list(fields))).encode("utf-8"), "sha256").hex()


def _next_ids(s, table, n: int) -> list[int]:
    """`n` fresh primary keys of `table`, in the caller's writing transaction (writers' lock held)."""
    if n == 0:
        return []
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                            {"t": table.name, "n": n}).scalars()
        return sorted(int(v) for v in rows)
    top = s.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + n))


def _known_debits(known, top):
    """({uid: [DebitRow]} of step 1's debits, the lowest tail record a card must have reached to take
    its debits from them) or (None, None). Step 1 read, per terminal, every committed debit after its
    watermark up to the record it reached, each terminal's whole journal as it stood (the highest
    record id then is `reached`; serialised writers give later records higher ids). When nothing was
    collected since (`top` == `reached`), a card's committed debits after record R are all among them
    once R is at or above every watermark (`marked`): a terminal's records after R are after its
    watermark. Otherwise (or without `known`) nothing is taken from step 1."""
    if known is None:
        return None, None
    rows, marked, reached = known
    if not reached or top != reached:
        return None, None
    mine, ids = {}, set()
    for r in rows:
        if r[0] not in ids and r[0] <= top:  # (a debit read twice counts once)
            ids.add(r[0])
            have = mine.get(r[5])
            if have is None:
                mine[r[5]] = [r]
            else:
                have.append(r)
    for have in mine.values():
        have.sort(key=_BY_TERMINAL)  # (in that order already but for debits added to step 1's)
    return mine, marked


class Reconciliation:
    """Set-based reads and writes of a reconciliation run (module docstring)."""

    def __init__(self, uow):
        self.uow = uow
        self._own = {}  # {audit seq: audit.Appended} the bookings of this run sealed (`verify_books`)

    def _key(self) -> bytes:
        key = self.uow.audit_key
        if key is None:
            raise audit.AuditKeyError("reconciling needs the audit key: give a key set (--keystore)")
        return key

    # --- watermarks ---

    def marks(self) -> dict[int, tuple[int, int]]:
        """{terminal id: (highest record id booked, oldest unresolved interrupted sale's id)} of every
        terminal whose watermark verifies. A run starts here."""
        key = self._key()
        self._own = {}
        with self.uow.read() as s:
            rows = s.execute(select(ReconTerminal.terminal_id, ReconTerminal.record_upto, ReconTerminal.pending_from,
                                    ReconTerminal.mac)).all()
        return {t: (upto, pfrom) for t, upto, pfrom, mac in rows
                if hmac.compare_digest(mac, _mac(key, "terminal", t, upto, pfrom))}

    def mark(self) -> Mark:
        """Where the last run stopped in the ledger's logs (zeros: never, or the row does not verify)."""
        key = self._key()
        with self.uow.read() as s:
            row = s.get(ReconMark, 1)
        if row is None or not hmac.compare_digest(
                row.mac, _mac(key, "mark", row.audit_upto, row.entry_upto, row.observation_upto)):
            return _ZERO_MARK
        return Mark(row.audit_upto, row.entry_upto, row.observation_upto)

    def new_debits(self, marks: dict) -> tuple[list[DebitRow], dict[int, int], list[str]]:
        """Committed debits collected after each terminal's watermark (`marks()`), by terminal and
        number, the watermarks the records reach ({terminal id: highest record id}) and the numbers
        of the terminals with new records."""
        marks = {t: m[0] for t, m in marks.items()}
        out, reach = [], {}
        with self.uow.read() as s:
            terminals = s.execute(select(Terminal.id, Terminal.number)).all()
            # each terminal's newest record, in one range of the primary key: every terminal's
            # records above the lowest watermark (all of them while a terminal has none). (A max(id)
            # per terminal made PostgreSQL walk the primary key back through the other terminals'.)
            low = min((marks.get(tid, 0) for tid, _ in terminals), default=0)
            q = (select(ReaderJournalRecord.terminal_id, func.max(ReaderJournalRecord.id))
                 .where(ReaderJournalRecord.id > low).group_by(ReaderJournalRecord.terminal_id))
            for tid, top in s.execute(q).all():
                if top is not None and top > marks.get(tid, 0):
                    reach[tid] = top
            conds = [and_(ReaderJournalRecord.terminal_id == tid, ReaderJournalRecord.id > marks.get(tid, 0),
                          ReaderJournalRecord.id <= top) for tid, top in reach.items()]
            for part in _chunks(conds, 200):
                q = (select(*_ROW_COLUMNS).join(Terminal, ReaderJournalRecord.terminal_id == Terminal.id)
                     .where(or_(*part), ReaderJournalRecord.state == codec.JR_COMMITTED,
                            ReaderJournalRecord.kind == codec.TXN_DEBIT))
                out.extend(_debit_rows(_driver_rows(s, q)))
        out.sort(key=lambda r: (r.terminal, r.number))
        names = dict(terminals)
        return out, reach, sorted(names[t] for t in reach)

    def records_of(self, terminal: str, txns) -> list[DebitRow]:
        """The terminal's records of these reader transactions (any state)."""
        out = []
        with self.uow.read() as s:
            for part in _chunks(sorted(set(txns))):
                q = (select(*_ROW_COLUMNS).join(Terminal, ReaderJournalRecord.terminal_id == Terminal.id)
                     .where(Terminal.number == terminal, ReaderJournalRecord.txn.in_(part)))
                out.extend(_debit_rows(s.execute(q)))
        return out

    def uid_numbers(self, uids) -> dict[str, str]:
        """{uid: card number} of the registered cards among `uids`."""
        out = {}
        with self.uow.read() as s:
            for part in _chunks(sorted(set(uids))):
                q = (select(StockCard.uid, Card.card_number).join(Card, Card.stock_card_id == StockCard.id)
                     .where(StockCard.uid.in_(part)))
                out.update(dict(s.execute(q).all()))
        return out

    def unbooked_unknown(self) -> list[DebitRow]:
        """Debits earlier runs could not book (their UID had no card: `unknown_card` findings)
        whose booking key is still unused: booked once their card is registered."""
        with self.uow.read() as s:
            fps = s.execute(select(ReconException.fingerprint).where(ReconException.kind == "unknown_card",
                                                                     ReconException.fingerprint.like("unknown_uid:%"))
                            ).scalars().all()
            want = {}
            for fp in fps:
                _, terminal, txn = fp.split(":")
                want.setdefault(terminal, set()).add(int(txn))
            booked = set()
            keys = ["debit:%s:%d" % (t, x) for t, xs in want.items() for x in xs]
            for part in _chunks(keys):
                booked |= set(s.execute(select(JournalEntry.idempotency_key)
                                        .where(JournalEntry.idempotency_key.in_(part))).scalars())
        out = []
        for terminal, txns in sorted(want.items()):
            todo = [x for x in txns if "debit:%s:%d" % (terminal, x) not in booked]
            out += [r for r in self.records_of(terminal, todo)
                    if r.state == codec.JR_COMMITTED and r.kind == codec.TXN_DEBIT]
        return out

    # --- bookings ---

    def book_debits(self, items, marks: dict, *, operator=None) -> list[tuple[str, int]]:
        """Book (card number, amount, key, terminal) debits as redemptions in one transaction (keys
        already booked are skipped; a shortfall is booked to the discrepancy account first, key
        ``discrepancy:<key>``) and move the terminals' watermarks to `marks` {terminal id: (record
        upto, pending from)}. Returns [(key, shortfall)]."""
        items = list(items)
        key_ = self._key()
        for _, amount, _, _ in items:
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                raise ValueError("redemption amount must be a positive integer number of fen, got %r" % (amount,))

        def do(s):
            op = operator_row(s, operator) if operator is not None else None
            done = set()
            for part in _chunks([k for _, _, k, _ in items]):
                done.update(k for k, in _driver_rows(s, select(JournalEntry.idempotency_key)
                                                    .where(JournalEntry.idempotency_key.in_(part))))
            todo = []
            for it in items:
                if it[2] not in done:
                    todo.append(it)
                    done.add(it[2])
            short, sealed = [], None
            if todo:
                short, sealed = self._write_bookings(s, op, todo)
            self._set_marks(s, key_, marks)
            return short, sealed

        short, sealed = self.uow.run("book.redemptions", operator, do, details={"count": len(items)})
        if sealed is not None:  # committed: verify_books takes this seal as computed (it says why)
            self._own[sealed.seq] = sealed
        return short

    def _write_bookings(self, s, op, todo):
        numbers = sorted({n for n, _, _, _ in todo})
        cards, prepaid, balances = {}, {}, {}
        for part in _chunks(numbers):
            for cid, number in s.execute(select(Card.id, Card.card_number).where(Card.card_number.in_(part))):
                cards[number] = cid
        for number in numbers:
            if number not in cards:
                card_row(s, number)  # NotFound, with its message
        by_id = {cid: n for n, cid in cards.items()}
        for part in _chunks(list(by_id)):
            for aid, code, cid in s.execute(select(Account.id, Account.code, Account.card_id)
                                            .where(Account.card_id.in_(part))):
                prepaid[by_id[cid]] = (aid, code)
            q = (select(Account.card_id, func.coalesce(func.sum(Posting.amount), 0))
                 .join(Posting, Posting.account_id == Account.id)
                 .where(Account.card_id.in_(part)).group_by(Account.card_id))
            for cid, total in _driver_rows(s, q):
                balances[by_id[cid]] = -int(total)
        for number in numbers:
            if number not in prepaid:
                acc = bk.prepaid_account(s, card_row(s, number))
                prepaid[number] = (acc.id, acc.code)
        redeemed = bk.account(s, "redeemed")
        discrepancy = None
        now = self.uow.now()
        op_id = op.id if op else None
        entries, lines, short = [], [], []
        for number, amount, key, _ in todo:
            acc = prepaid[number]
            missing = amount - balances.get(number, 0)
            if missing > 0:
                discrepancy = discrepancy or bk.account(s, "discrepancy")
                memo = "debit %s of %d fen exceeds the card's ledger balance by %d fen" % (key, amount, missing)
                entries.append(("discrepancy:" + key, "discrepancy", cards[number], memo,
                                ((acc, -missing), ((discrepancy.id, discrepancy.code), missing))))
                balances[number] = balances.get(number, 0) + missing
                short.append((key, missing))
            entries.append((key, "redemption", cards[number], "", ((acc, amount), ((redeemed.id, redeemed.code), -amount))))
            balances[number] = balances.get(number, 0) - amount
        s.flush()  # accounts made above get their ids before ours are taken
        entry_ids = _next_ids(s, JournalEntry.__table__, len(entries))
        posting_ids = _next_ids(s, Posting.__table__, 2 * len(entries))
        at = bulk.bind_value(s, JournalEntry.__table__.c.created_at, now)
        erows, prows, sealed = [], [], []
        for i, (key, kind, card_id, memo, legs) in enumerate(entries):
            eid = entry_ids[i]
            erows.append((eid, key, kind, card_id, op_id, at, memo))
            posted = []
            for line, ((aid, code), amount) in enumerate(legs, 1):
                prows.append((posting_ids[2 * i + line - 1], eid, line, aid, amount))
                posted.append((line, code, amount))
            sealed.append((eid, key, kind, card_id, op_id, now, memo, posted))
        copy = self.uow.bound_operator is None  # COPY refuses tables under row-level security
        bulk.insert_rows(s, JournalEntry.__table__, ("id", "idempotency_key", "kind", "card_id", "operator_id",
                                                     "created_at", "memo"), erows, copy=copy)
        bulk.insert_rows(s, Posting.__table__, ("id", "entry_id", "line", "account_id", "amount"), prows, copy=copy)
        keys = [e[0] for e in entries if e[1] == "redemption"]
        fen = sum(amount for _, amount, _, _ in todo)
        appended = self.uow.audit(s, op, "book.redemptions", booked=sealed, count=len(keys), amount=fen,
                                  first=keys[0], last=keys[-1],
                                  keys_sha256=hashlib.sha256("\n".join(keys).encode()).hexdigest(),
                                  discrepancies=[[k, m] for k, m in short])
        return short, appended

    def _set_marks(self, s, key: bytes, marks: dict):
        if not marks:
            return
        for part in _chunks(list(marks)):
            s.execute(delete(ReconTerminal).where(ReconTerminal.terminal_id.in_(part)))
        bulk.insert_rows(s, ReconTerminal.__table__, ("terminal_id", "record_upto", "pending_from", "mac"),
                         [(t, upto, pfrom, _mac(key, "terminal", t, upto, pfrom))
                          for t, (upto, pfrom) in sorted(marks.items())], copy=False)

    # --- cards ---

    def log_tops(self) -> Mark:
        """The ledger's logs as they stand: where this run's look at them ends."""
        with self.uow.read() as s:
            return Mark(s.execute(select(func.coalesce(func.max(AuditEntry.seq), 0))).scalar_one(),
                        s.execute(select(func.coalesce(func.max(JournalEntry.id), 0))).scalar_one(),
                        s.execute(select(func.coalesce(func.max(CardObservation.id), 0))).scalar_one())

    def touched_cards(self, since: Mark, upto: Mark) -> set[str]:
        """Card numbers named by audit entries, journal entries (their card or a prepaid posting) or
        observations after `since` up to `upto`."""
        with self.uow.read() as s:
            out = set(s.execute(select(AuditEntry.card_number).distinct().where(
                AuditEntry.seq > since.audit_upto, AuditEntry.seq <= upto.audit_upto,
                AuditEntry.card_number.is_not(None))).scalars())
            ids = set(s.execute(select(JournalEntry.card_id).distinct().where(
                JournalEntry.id > since.entry_upto, JournalEntry.id <= upto.entry_upto,
                JournalEntry.card_id.is_not(None))).scalars())
            ids |= set(s.execute(select(Account.card_id).distinct().join(Posting, Posting.account_id == Account.id).where(
                Posting.entry_id > since.entry_upto, Posting.entry_id <= upto.entry_upto,
                Account.card_id.is_not(None))).scalars())
            ids |= set(s.execute(select(CardObservation.card_id).distinct().where(
                CardObservation.id > since.observation_upto, CardObservation.id <= upto.observation_upto)).scalars())
            for part in _chunks(ids):
                out |= set(s.execute(select(Card.card_number).where(Card.id.in_(part))).scalars())
        return out

    def card_inputs(self, numbers, *, tails: bool = True, known: tuple | None = None) -> dict:
        """For the cards `numbers`: {"uids": {uid: number}, "debits": [DebitRow committed debits],
        "observations": [(number, row)], "topups": [(number, Topup)], "balances": {number: fen},
        "last_seen": {number: seq or None}, "others": {number: digest of its observations and
        confirmed top-ups}, "tails": {number: (tail dict, record upto)}, "upto": the highest collected
        record id the debits were read up to}; each card's debits in (terminal, number) order. `tails`: a card with a
        stored tail that verifies and whose other observations are still those it threaded
        (`others` digest) gets only its debits after the tail's record (`finish` stores tails).
        `known`: (the committed debits step 1 of this run read — `new_debits` and any more —, the
        highest watermark it read after, the highest record id it reached): a card whose debits after
        its tail's record (after 0 without a tail) provably are all among them takes them from there
        (`_known_debits`) instead of reading them again."""
        out = {"uids": {}, "debits": [], "observations": [], "topups": [], "balances": {}, "last_seen": {},
               "others": {}, "tails": {}}
        key = self._key() if tails else None
        with self.uow.read() as s:
            # the debits read are those up to here ("upto": what a tail made now has seen; writers are
            # serialised, so every record with a lower id is already there)
            top = out["upto"] = s.execute(select(func.coalesce(func.max(ReaderJournalRecord.id), 0))).scalar_one()
            mine, marked = _known_debits(known, top)
            queried = []
            for part in _chunks(sorted(set(numbers))):
                rows = s.execute(select(Card.id, Card.card_number, Card.last_seen_seq, StockCard.uid)
                                 .outerjoin(StockCard, Card.stock_card_id == StockCard.id)
                                 .where(Card.card_number.in_(part))).all()
                by_id = {cid: n for cid, n, _, _ in rows}
                for cid, n, seen, uid in rows:
                    out["last_seen"][n] = seen
                    out["balances"][n] = 0
                    if uid is not None:
                        out["uids"][uid] = n
                others = {n: [] for n in by_id.values()}
                q = select(CardObservation).where(CardObservation.card_id.in_(list(by_id))).order_by(CardObservation.id)
                for o in s.execute(q).scalars():
                    out["observations"].append((by_id[o.card_id], o))
                    others[by_id[o.card_id]].append("o%d" % o.id)
                q = (select(Topup).where(Topup.card_id.in_(list(by_id)), Topup.state == "confirmed")
                     .order_by(Topup.id))
                for t in s.execute(q).scalars():
                    out["topups"].append((by_id[t.card_id], t))
                    others[by_id[t.card_id]].append("t%d" % t.id)
                for n, ids in others.items():
                    out["others"][n] = hashlib.sha256(",".join(ids).encode()).hexdigest()
                upto = {}
                if key is not None:
                    for cid, rec_upto, oth, tail, mac in s.execute(
                            select(ReconCardTail.card_id, ReconCardTail.record_upto, ReconCardTail.others,
                                   ReconCardTail.tail, ReconCardTail.mac).where(ReconCardTail.card_id.in_(list(by_id)))):
                        n = by_id[cid]
                        if oth == out["others"][n] and hmac.compare_digest(
                                mac, _mac(key, "tail", cid, rec_upto, oth, tail)):
                            out["tails"][n] = (json.loads(tail), rec_upto)
                            upto[n] = rec_upto
                since = {u: upto.get(n, 0) for _, n, _, u in rows if u is not None}
                if mine is not None:
                    for u, after in list(since.items()):
                        if after >= marked:
                            out["debits"] += [r for r in mine.get(u, ()) if r.id > after]
                            del since[u]
                uids = [u for u, after in since.items() if after == 0]
                since = {u: after for u, after in since.items() if after}
                conn = s.connection()
                base = (select(*_ROW_COLUMNS).join(Terminal, ReaderJournalRecord.terminal_id == Terminal.id)
                        .where(ReaderJournalRecord.state == codec.JR_COMMITTED,
                               ReaderJournalRecord.kind == codec.TXN_DEBIT, ReaderJournalRecord.id <= top))
                if uids:
                    queried.extend(_debit_rows(conn.execute(base.where(ReaderJournalRecord.uid.in_(uids)))))
                if since:
                    q = base.where(ReaderJournalRecord.uid.in_(list(since)),
                                   ReaderJournalRecord.id > min(since.values()))
                    queried.extend(r for r in _debit_rows(conn.execute(q)) if r.id > since[r.uid])
                q = (select(Account.card_id, func.coalesce(func.sum(Posting.amount), 0))
                     .join(Posting, Posting.account_id == Account.id)
                     .where(Account.card_id.in_(list(by_id)), Account.category == bk.PREPAID)
                     .group_by(Account.card_id))
                for cid, total in s.execute(q):
                    out["balances"][by_id[cid]] = -int(total)
        queried.sort(key=_BY_TERMINAL)
        out["debits"] += queried  # (a card's debits come from one of the two: in order either way)
        return out

    def add_findings(self, findings, *, operator=None) -> list[tuple]:
        """Put findings on the exception list once per fingerprint, in one transaction (one audit entry
        per new exception, as `Store.add_exception`). `findings`: (fingerprint, kind, summary, kwargs).
        Returns [(ExceptionView, created)] in order."""
        findings = list(findings)
        if not findings:
            return []

        def do(s):
            have = {}
            for part in _chunks(sorted({f[0] for f in findings})):
                for row in s.execute(select(ReconException).where(ReconException.fingerprint.in_(part))).scalars():
                    have[row.fingerprint] = row
            out = []
            now = self.uow.now()
            for fingerprint, kind, summary, kw in findings:
                row = have.get(fingerprint)
                if row is not None:
                    out.append((row, False))
                    continue
                row = ReconException(fingerprint=fingerprint, kind=kind, card_number=kw.get("card_number"),
                                     terminal_number=kw.get("terminal"), amount=kw.get("amount"), summary=summary,
                                     evidence=canonical_json(kw.get("evidence") or {}), proposal=kw.get("proposal"),
                                     status="open", business_date=self.uow.business_date(now), created_at=now)
                s.add(row)
                s.flush()
                self.uow.audit(s, None, "exception.add", card=row.card_number, terminal=row.terminal_number, kind=kind,
                               id=row.id, fingerprint=fingerprint, amount=row.amount, proposal=row.proposal)
                have[fingerprint] = row
                out.append((row, True))
            return [(exception_view(r), c) for r, c in out]

        return self.uow.run("exception.add", operator, do)

    def finish(self, seen: dict, flags: dict, upto: Mark, verified: tuple | None = None, *, operator=None,
               tails: dict | None = None) -> int:
        """End a run: `seen` {number: (seq, balance, source)} moves each card's last-seen forward (bulk
        UPDATE, only where the counter is newer); `flags` {number: mismatched} the cards looked at;
        `tails` {number: (tail dict, record upto, others digest) or None} the cards' new tails (None:
        the card's history is not one clean line: its tail is dropped, the next run threads it all);
        the logs' mark moves to `upto`; `verified` (`verify_books`) is where the next run's check
        of the audit log starts. One transaction, one audit entry. Returns cards updated."""
        key = self._key()

        def do(s):
            ids = {}
            tails_ = tails or {}
            for part in _chunks(sorted(set(seen) | set(flags) | set(tails_))):
                ids.update(dict(s.execute(select(Card.card_number, Card.id).where(Card.card_number.in_(part))).all()))
            now = self.uow.now()
            moved = []
            for number, (seq, balance, source) in sorted(seen.items()):
                moved.append({"cid": ids[number], "seq": seq, "bal": balance, "src": source, "at": now})
            changed = 0
            if moved:
                t = Card.__table__
                stmt = (update(t).where(t.c.id == bindparam("cid"),
                                        or_(t.c.last_seen_seq.is_(None), t.c.last_seen_seq < bindparam("seq")))
                        .values(last_seen_seq=bindparam("seq"), last_seen_balance=bindparam("bal"),
                                last_seen_source=bindparam("src"), last_seen_at=bindparam("at")))
                changed = s.connection().execute(stmt.execution_options(synchronize_session=False), moved).rowcount
            fl = sorted((ids[n], bool(m)) for n, m in flags.items())
            for part in _chunks([cid for cid, _ in fl]):
                s.execute(delete(ReconCard).where(ReconCard.card_id.in_(part)))
            bulk.insert_rows(s, ReconCard.__table__, ("card_id", "mismatched"), fl, copy=False)
            tids = sorted(ids[n] for n in tails_)
            for part in _chunks(tids):
                s.execute(delete(ReconCardTail).where(ReconCardTail.card_id.in_(part)))
            trows = []
            for n, t in sorted(tails_.items()):
                if t is not None:
                    body = canonical_json(t[0])
                    trows.append((ids[n], t[1], t[2], body, _mac(key, "tail", ids[n], t[1], t[2], body)))
            bulk.insert_rows(s, ReconCardTail.__table__, ("card_id", "record_upto", "others", "tail", "mac"), trows,
                             copy=False)
            row = s.get(ReconMark, 1)
            mac = _mac(key, "mark", upto.audit_upto, upto.entry_upto, upto.observation_upto)
            if row is None:
                s.add(ReconMark(id=1, audit_upto=upto.audit_upto, entry_upto=upto.entry_upto,
                                observation_upto=upto.observation_upto, mac=mac))
            else:
                row.audit_upto, row.entry_upto, row.observation_upto, row.mac = (
                    upto.audit_upto, upto.entry_upto, upto.observation_upto, mac)
            self.uow.audit(s, operator, "reconcile.cards", cards=len(flags), seen=len(moved),
                           mismatched=sum(1 for _, m in fl if m),
                           tails=sum(1 for t in tails_.values() if t is not None), audit_upto=upto.audit_upto,
                           entry_upto=upto.entry_upto, observation_upto=upto.observation_upto,
                           verified=list(verified) if verified else None)
            return changed

        return self.uow.run("reconcile.cards", operator, do)

    # --- totals ---

    def totals(self, day_range: tuple[int, int] | None) -> dict:
        """Figures of every collected journal and every card looked at, by aggregate queries."""
        with self.uow.read() as s:
            debit = and_(ReaderJournalRecord.state == codec.JR_COMMITTED, ReaderJournalRecord.kind == codec.TXN_DEBIT)
            q = select(func.count(), func.coalesce(func.sum(ReaderJournalRecord.amount), 0)).where(debit)
            all_n, all_fen = s.execute(q).one()
            if day_range is not None:
                day_n, day_fen = s.execute(q.where(ReaderJournalRecord.reader_time >= day_range[0],
                                                   ReaderJournalRecord.reader_time < day_range[1])).one()
            else:
                day_n, day_fen = all_n, all_fen
            reader_fen, journal_fen = s.execute(select(func.coalesce(func.sum(TerminalBatch.reader_sum), 0),
                                                       func.coalesce(func.sum(TerminalBatch.journal_sum), 0))).one()
            seen, mismatched = s.execute(select(func.count(), func.coalesce(func.sum(
                cast(ReconCard.mismatched, Integer)), 0))).one()
        return {"journal_debits": int(day_n), "journal_debit_fen": int(day_fen), "all_journal_debit_fen": int(all_fen),
                "day_close_reader_fen": int(reader_fen), "day_close_journal_fen": int(journal_fen),
                "cards_seen": int(seen), "cards_mismatched": int(mismatched)}

    def pending_unresolved(self, marks: dict, reach: dict[int, int]) -> tuple[list[tuple[DebitRow, bool]], dict]:
        """Interrupted sales (PENDING) no COMMITTED/ROLLED_BACK record of the same terminal and
        transaction resolves, each with whether a later sign-in (the reader's next day) exists; looked
        for from each terminal's `pending_from` on (what resolves a sale comes after it in the journal).
        Also the new marks {terminal id: (record upto, pending from)} for the terminals in `reach`."""
        r2 = ReaderJournalRecord.__table__.alias("r2")
        rows = []
        with self.uow.read() as s:
            resolved = (select(r2.c.id).where(r2.c.terminal_id == ReaderJournalRecord.terminal_id,
                                               r2.c.txn == ReaderJournalRecord.txn,
                                               r2.c.state.in_((codec.JR_COMMITTED, codec.JR_ROLLED_BACK)))
                        .exists())
            tids = sorted(set(marks) | set(reach))
            found = []  # (terminal id, row): one query per 200 terminals, not one per terminal
            for part in _chunks(tids, 200):
                conds = [and_(ReaderJournalRecord.terminal_id == tid,
                              ReaderJournalRecord.id >= marks.get(tid, (0, 0))[1]) for tid in part]
                q = (select(ReaderJournalRecord.terminal_id, *_ROW_COLUMNS)
                     .join(Terminal, ReaderJournalRecord.terminal_id == Terminal.id)
                     .where(or_(*conds), ReaderJournalRecord.state == codec.JR_PENDING, ~resolved))
                found += [(r[0], r[1:]) for r in s.execute(q).all()]
            # a later sign-in: one whose first record number is above the sale's (its newest suffices)
            newest = {}
            for part in _chunks(sorted({tid for tid, _ in found})):
                newest.update(s.execute(select(TerminalSignIn.terminal_id, func.max(TerminalSignIn.first_number))
                                        .where(TerminalSignIn.terminal_id.in_(part))
                                        .group_by(TerminalSignIn.terminal_id)).all())
            for tid, row in found:
                top = newest.get(tid)
                rows.append((tid, _debit_rows([row])[0], top is not None and top > row[2]))
        new_marks = {}
        for tid, top in reach.items():
            open_ids = [r.id for t, r, _ in rows if t == tid and r.id <= top]
            new_marks[tid] = (top, min(open_ids) if open_ids else top + 1)
        rows.sort(key=lambda x: (x[1].terminal, x[1].number))
        return [(r, later) for _, r, later in rows], new_marks

    def verify_books(self) -> tuple:
        """The audit chain and the seal over every booking (audit.verify) since the checkpoint the
        last run left in its `reconcile.cards` entry (that entry authentic under the audit key, the
        checkpoint's entry still carrying the hash it named); everything when there is none. Returns
        (AuditBreak or None, this run's checkpoint or None). `icpurse audit verify` re-reads it all.

        The booking entries this run wrote (`book_debits`) are not read back: their audit entries
        sealed the rows as this run wrote them, in the transactions that wrote them, so their seal is
        taken as computed then — for exactly those audit entries (same seq, same keyed hash, same
        sealed range: `audit.verify(own=)`). The chain through them, every seal before and after them
        (another writer's bookings in between) and the unsealed-booking check are verified as always.
        This detects no less than re-reading them: an edit made before this run (an earlier run's
        posting changed, an entry inserted between runs) lies between the checkpoint and this run's
        entries, or breaks the chain, and is found here; an edit of this run's rows after they were
        written is one made after their sealing transaction committed — as for every entry behind a
        checkpoint (what a run verified is trusted by the next), finding it is the full verify's job
        (`icpurse audit verify`), which re-reads every seal. docs/back-office.md "Books check"."""
        key = self._key()
        own, self._own = self._own, {}
        with self.uow.read() as s:
            tail = audit.checkpoint(s)
            after = None
            e = s.execute(select(AuditEntry).where(AuditEntry.action == "reconcile.cards", AuditEntry.result == "ok")
                          .order_by(AuditEntry.seq.desc()).limit(1)).scalar_one_or_none()
            if e is not None and audit.authentic(key, e):
                v = json.loads(e.details).get("verified")
                if v:
                    prior = s.get(AuditEntry, v[0])
                    if prior is not None and hmac.compare_digest(prior.entry_hash, v[1]):
                        after = (int(v[0]), v[1], int(v[2]))
            broken = audit.verify(s, key, after=after, own=own)
        return broken, (None if broken is not None else tail)

    def reset(self) -> None:
        """Forget every watermark (the next run looks at everything again; nothing is booked twice)."""
        def do(s):
            for model in (ReconTerminal, ReconMark, ReconCard, ReconCardTail):
                s.execute(delete(model))
            self.uow.audit(s, None, "reconcile.reset")

        self.uow.run("reconcile.reset", None, do)

