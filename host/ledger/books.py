"""The books as a ledger service (`Ledger.books`): balances, the trial balance, the integrity check
of every entry, redemptions at stores (one by one or in bulk from collected reader journals) and
reconciliation differences, and read models of the entries for reports and reconciliation.

The double-entry primitives (accounts, `book`, balances in SQL) are `bookkeeping.py`; every
booking of another service goes through them too.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import func, select

from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger.cards import card_row
from icpurse.host.ledger.errors import InvalidStateError
from icpurse.host.ledger.models import Account, AuditEntry, Card, JournalEntry, Operator, Posting, Terminal, Topup
from icpurse.host.ledger.people import operator_row


@dataclass(frozen=True)
class EntrySummary:
    """One journal entry as the reports see it: its size and its effect on the liability, cash, bank."""

    entry_id: int
    kind: str
    created_at: dt.datetime
    key: str
    card_number: str | None  # the entry's card, else the card of its first prepaid posting
    programme_id: str | None
    amount: int  # gross size of the entry (sum of its debits), fen
    liability: int  # change of the outstanding prepaid balance (+ = more owed to holders), fen
    cash: int  # change of the cash account, fen
    bank: int  # change of the bank account, fen


class Books:
    """Balances and bookings that belong to no other service (`Ledger.books`)."""

    def __init__(self, uow):
        self.uow = uow

    def outstanding_balance(self, card: str | None = None) -> int:
        """Outstanding prepaid balance in fen (预收资金余额): of one card, or in total."""
        with self.uow.read() as s:
            return bk.outstanding(s, card_row(s, card) if card is not None else None)

    def unbalanced_entries(self) -> list[int]:
        """Ids of journal entries that do not balance (should always be empty)."""
        with self.uow.read() as s:
            return bk.unbalanced_entries(s)

    def trial_balance(self) -> dict[str, int]:
        with self.uow.read() as s:
            return bk.trial_balance(s)

    def booking(self, key: str) -> JournalEntry | None:
        """The journal entry booked under `key`, with its postings, or None."""
        with self.uow.read() as s:
            e = s.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
            if e is not None:
                _ = list(e.postings)  # load while the session is open
            return e

    def booked_keys(self, prefix: str) -> set[str]:
        """The idempotency keys booked so far that start with `prefix`."""
        with self.uow.read() as s:
            return set(s.execute(select(JournalEntry.idempotency_key)
                                 .where(JournalEntry.idempotency_key.like(prefix + "%"))).scalars())

    def book_redemption(self, card_number: str, amount: int, key: str, *, terminal: str | None = None,
                        operator: Operator | str | None = None) -> JournalEntry:
        """Value redeemed at a store (a debit seen on the card or in a reader journal), booked once per key."""
        return self._simple_booking("redemption", card_number, amount, key, "redeemed", terminal, operator)

    def book_discrepancy(self, card_number: str, amount: int, key: str, reason: str, *,
                         operator: Operator | str | None = None) -> JournalEntry:
        """A reconciliation difference, booked to the explicit discrepancy account (amount > 0 lowers the
        card's ledger balance, amount < 0 raises it)."""
        return self._simple_booking("discrepancy", card_number, amount, key, "discrepancy", None, operator,
                                    reason=reason, allow_negative=True)

    def _simple_booking(self, kind, card_number, amount, key, counter_account, terminal, operator, reason="",
                        allow_negative=False):
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 or (amount < 0 and not allow_negative):
            raise ValueError("%s amount must be a %s integer number of fen, got %r" % (
                kind, "non-zero" if allow_negative else "positive", amount))

        def do(s):
            op = operator_row(s, operator) if operator is not None else None
            card = card_row(s, card_number)
            if kind == "redemption" and bk.outstanding(s, card) < amount:
                raise InvalidStateError("card %s: redemption of %d fen exceeds the ledger balance (no overdraft)" % (
                    card_number, amount))
            entry, created = bk.book(s, key, kind, [
                bk.Line(bk.prepaid_account(s, card), amount),
                bk.Line(bk.account(s, counter_account), -amount),
            ], self.uow.now(), card=card, operator_id=op.id if op else None, memo=reason)
            if created:
                self.uow.audit(s, op, "book." + kind, card=card_number, terminal=terminal, key=key, amount=amount,
                               reason=reason)
            return entry

        return self.uow.run("book." + kind, operator, do, card=card_number, terminal=terminal, details={"key": key})

    def book_redemptions(self, items, *, operator=None) -> list[tuple[str, int]]:
        """Book debits seen in reader journals as redemptions, in one transaction: `items` are
        (card number, amount, idempotency key, terminal). A key already booked is skipped. A debit
        the card's ledger balance cannot cover is booked anyway; its shortfall is first booked to the
        discrepancy account (key ``discrepancy:<key>``), explicitly. Returns [(key, shortfall)].

        The postings are those of `book_redemption` / `book_discrepancy`; written in bulk (one flush),
        with one audit entry for the batch naming its count, sum and a digest of its keys — the
        entries themselves carry the keys."""
        items = list(items)

        def do(s):
            op = operator_row(s, operator) if operator is not None else None
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
            now = self.uow.now()
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
                    card = card_row(s, number)  # NotFound
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
                self.uow.audit(s, op, "book.redemptions", count=len(booked), amount=sum(a for _, a in booked),
                               first=booked[0][0], last=booked[-1][0], keys_sha256=digest,
                               discrepancies=[[k, m] for k, m in short])
            return short

        return self.uow.run("book.redemptions", operator, do, details={"count": len(items)})

    # --- read models ---

    def entry_summaries(self) -> list[EntrySummary]:
        """Every journal entry with its effect on the prepaid liability, cash and bank, by entry id."""
        with self.uow.read() as s:
            cards = {cid: (num, prog) for cid, num, prog in s.execute(select(Card.id, Card.card_number, Card.programme_id))}
            entries = {}
            q = (select(JournalEntry.id, JournalEntry.kind, JournalEntry.created_at, JournalEntry.card_id,
                        JournalEntry.idempotency_key, Posting.amount, Account.category, Account.card_id)
                 .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Posting.account_id == Account.id)
                 .order_by(JournalEntry.id, Posting.line))
            for eid, kind, at, card_id, key, amount, category, acc_card in s.execute(q):
                e = entries.get(eid)
                if e is None:
                    e = entries[eid] = {"kind": kind, "at": at, "card_id": card_id, "key": key, "amount": 0,
                                        "liability": 0, "cash": 0, "bank": 0, "cards": []}
                if amount > 0:
                    e["amount"] += amount
                if category == bk.PREPAID:
                    e["liability"] -= amount
                    e["cards"].append(acc_card)
                elif category in ("cash", "bank"):
                    e[category] += amount
        out = []
        for eid in sorted(entries):
            e = entries[eid]
            card_id = e["card_id"] if e["card_id"] is not None else (e["cards"][0] if e["cards"] else None)
            number, prog = cards.get(card_id, (None, None))
            out.append(EntrySummary(eid, e["kind"], e["at"], e["key"], number, prog, e["amount"], e["liability"],
                                    e["cash"], e["bank"]))
        return out

    def booking_terminals(self) -> dict[str, str]:
        """Booking key -> terminal number, from the audit log (store redemptions) and top-ups."""
        out = {}
        with self.uow.read() as s:
            q = select(AuditEntry.terminal_number, AuditEntry.details).where(
                AuditEntry.action == "book.redemption", AuditEntry.result == "ok",
                AuditEntry.terminal_number.is_not(None))
            for terminal, details in s.execute(q):
                key = json.loads(details).get("key")
                if key is not None:
                    out[key] = terminal
            q = select(Topup.txn_id, Terminal.number).join(Terminal, Topup.terminal_id == Terminal.id)
            for txn, number in s.execute(q):
                out["topup:%s" % txn] = number
        return out
