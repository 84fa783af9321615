"""Double-entry bookkeeping in integer fen.

Sign convention: a posting's amount is a debit when positive and a credit when negative; every
entry's postings sum to zero (checked here before anything is written, and re-checkable at any
time with `unbalanced_entries`). A card's outstanding prepaid balance (预收资金余额) is minus the
sum of the postings on its prepaid liability account, so it is always derivable from postings.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from icpurse.host.ledger.errors import IdempotencyConflict, UnbalancedEntryError
from icpurse.host.ledger.models import Account, Card, JournalEntry, Posting

# code -> (name, type, category). No forfeiture account exists, on purpose.
CHART = {
    "cash": ("Cash receipts", "asset", "cash"),
    "bank": ("Receipts on the dedicated bank account", "asset", "bank"),
    "redeemed": ("Value redeemed (goods and services delivered against cards)", "income", "redeemed"),
    "fee_income": ("Fee income", "income", "fee_income"),
    "refunds_payable": ("Refunds payable to holders (bank transfer)", "liability", "refunds_payable"),
    "discrepancy": ("Reconciliation differences (explicit, never hidden)", "expense", "discrepancy"),
    # a non-cash top-up's money until finance confirmed it arrived (topup_records.py): not yet "bank"
    "payments_pending": ("Non-cash payments awaiting finance confirmation", "asset", "payments_pending"),
}
PREPAID = "prepaid"


def payment_account(method: str) -> str:
    """Cash goes to the cash account, every other method to the dedicated bank account."""
    return "cash" if method == "cash" else "bank"


def account(session: Session, code: str) -> Account:
    acc = session.execute(select(Account).where(Account.code == code)).scalar_one_or_none()
    if acc is None:
        if code not in CHART:
            raise KeyError("unknown account %r" % code)
        name, typ, cat = CHART[code]
        acc = Account(code=code, name=name, type=typ, category=cat)
        session.add(acc)
        session.flush()
    return acc


def prepaid_account(session: Session, card: Card) -> Account:
    acc = session.execute(select(Account).where(Account.card_id == card.id)).scalar_one_or_none()
    if acc is None:
        acc = Account(code="%s:%s" % (PREPAID, card.card_number), name="Prepaid liability, card %s" % card.card_number,
                      type="liability", category=PREPAID, card_id=card.id)
        session.add(acc)
        session.flush()
    return acc


@dataclass(frozen=True)
class Line:
    account: Account
    amount: int  # fen; > 0 debit, < 0 credit


def _check_lines(lines) -> None:
    if len(lines) < 2:
        raise UnbalancedEntryError("a journal entry needs at least two postings, got %d" % len(lines))
    for ln in lines:
        if not isinstance(ln.amount, int) or isinstance(ln.amount, bool):
            raise UnbalancedEntryError("posting amounts are integer fen, got %r" % (ln.amount,))
        if ln.amount == 0:
            raise UnbalancedEntryError("a posting of 0 fen on %s" % ln.account.code)
    total = sum(ln.amount for ln in lines)
    if total != 0:
        raise UnbalancedEntryError("postings do not balance: debits - credits = %d fen" % total)


def _same(entry: JournalEntry, kind: str, lines) -> bool:
    have = [(p.account_id, p.amount) for p in entry.postings]
    return entry.kind == kind and have == [(ln.account.id, ln.amount) for ln in lines]


def book(session: Session, key: str, kind: str, lines: list[Line], when: dt.datetime, card: Card | None = None,
         operator_id: int | None = None, memo: str = "") -> tuple[JournalEntry, bool]:
    """Book an entry once per idempotency key. Returns (entry, created): a retry with the same key and
    the same postings returns the first entry and books nothing; different postings raise
    IdempotencyConflict."""
    _check_lines(lines)
    existing = session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        if not _same(existing, kind, lines):
            raise IdempotencyConflict("booking key %r was already used for a different booking" % key)
        return existing, False
    entry = JournalEntry(idempotency_key=key, kind=kind, card_id=card.id if card else None, operator_id=operator_id,
                         created_at=when, memo=memo)
    try:
        with session.begin_nested():  # a concurrent booking with the same key loses here, not later
            session.add(entry)
            session.flush()
            for i, ln in enumerate(lines, 1):
                session.add(Posting(entry_id=entry.id, line=i, account_id=ln.account.id, amount=ln.amount))
            session.flush()
    except IntegrityError:
        existing = session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
        if existing is None:
            raise
        if not _same(existing, kind, lines):
            raise IdempotencyConflict("booking key %r was already used for a different booking" % key) from None
        return existing, False
    session.refresh(entry)
    return entry, True


def outstanding(session: Session, card: Card | None = None) -> int:
    """Outstanding prepaid balance in fen: of one card, or of every card (预收资金余额)."""
    q = select(func.coalesce(func.sum(Posting.amount), 0)).join(Account, Posting.account_id == Account.id)
    q = q.where(Account.category == PREPAID)
    if card is not None:
        q = q.where(Account.card_id == card.id)
    return -int(session.execute(q).scalar_one())


def unbalanced_entries(session: Session) -> list[int]:
    """Ids of entries whose postings do not sum to zero or that have fewer than two postings."""
    q = (select(JournalEntry.id)
         .outerjoin(Posting, Posting.entry_id == JournalEntry.id)
         .group_by(JournalEntry.id)
         .having((func.coalesce(func.sum(Posting.amount), 0) != 0) | (func.count(Posting.id) < 2))
         .order_by(JournalEntry.id))
    return list(session.execute(q).scalars())


def trial_balance(session: Session) -> dict[str, int]:
    """Account code -> balance (debits - credits) in fen; the values sum to zero."""
    q = (select(Account.code, func.coalesce(func.sum(Posting.amount), 0))
         .outerjoin(Posting, Posting.account_id == Account.id).group_by(Account.code).order_by(Account.code))
    return {code: int(total) for code, total in session.execute(q)}
