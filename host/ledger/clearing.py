"""Clearing-house reconciliation (对账, `Ledger.clearing`): the counterparty's daily file of kiosk
top-ups compared with the ledger's, item by item.

Each business day the clearing house sends its journal of the kiosk top-ups it settled. Matched
by transaction id (the kiosk's idempotency key, which both sides keep), every difference goes on
the day's list:

- `long`: in the ledger only (we credited a card; the clearing house has no payment for it);
- `short`: in the clearing house's file only (it took a payment; we have no top-up for it);
- `amount_mismatch`: both have it, with different amounts.

The ledger's side is every kiosk top-up of that business day that was booked and not taken back
(confirmed, or still pending/unconfirmed; a voided or reversed top-up nets to zero and must be
absent from the file or listed with amount 0). An item stays open until an operator resolves it
with an action and a reason (audited). Importing the same file for the same day again changes
nothing; another file for the same day adds the items it finds that are not listed yet.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from icpurse.host.ledger.errors import InvalidStateError, NotFound
from icpurse.host.ledger.models import ClearingImport, ClearingItem, Operator, Terminal, Topup
from icpurse.host.ledger.people import operator_row

CLEARING_ROLES = ("finance", "issuer-admin", "auditor")
ACTIONS = {
    "ours-correct": "the ledger is right; the clearing house corrects its side",
    "theirs-correct": "the clearing house is right; the ledger side was corrected (refund / adjustment named in "
                      "the reason)",
    "settled-later": "the transaction settles on another business day (named in the reason)",
    "duplicate": "the same transaction listed twice; nothing to correct",
}
_BOOKED = ("confirmed", "pending", "unconfirmed")


@dataclass(frozen=True)
class ClearingRow:
    """One line of the clearing house's file."""

    txn_id: str
    terminal: str
    card_number: str
    amount: int  # fen


@dataclass(frozen=True)
class ItemView:
    id: int
    business_date: dt.date
    kind: str
    txn_id: str
    terminal: str | None
    card_number: str | None
    our_amount: int | None
    their_amount: int | None
    status: str
    action: str | None
    reason: str | None


@dataclass(frozen=True)
class ImportResult:
    import_id: int
    business_date: dt.date
    rows: int
    matched: int
    new_items: list
    already_imported: bool


def _item_view(i: ClearingItem, day) -> ItemView:
    return ItemView(i.id, day, i.kind, i.txn_id, i.terminal_number, i.card_number, i.our_amount, i.their_amount,
                    i.status, i.action, i.reason)


class Clearing:
    """Clearing-house imports and their difference lists (`Ledger.clearing`)."""

    def __init__(self, uow):
        self.uow = uow

    def ours(self, s, day: dt.date) -> dict:
        """{txn_id: (terminal, card number, amount)} of the ledger's kiosk top-ups on business day `day`."""
        q = (select(Topup).join(Terminal, Topup.terminal_id == Terminal.id)
             .where(Topup.business_date == day, Terminal.kind == "kiosk", Topup.state.in_(_BOOKED)))
        return {t.txn_id: (t.terminal.number, t.card.card_number, t.amount) for t in s.execute(q).scalars()}

    def import_file(self, operator: Operator | str, day: dt.date, rows: list[ClearingRow], *, source: str,
                    digest: str) -> ImportResult:
        """Compare the clearing house's rows for business day `day` with the ledger (one audited
        transaction); the rows are checked by the caller (the CSV reader) before they get here."""
        seen = set()
        for r in rows:
            if r.txn_id in seen:
                raise ValueError("the file lists transaction %s twice" % r.txn_id)
            seen.add(r.txn_id)

        def do(s):
            op = operator_row(s, operator, CLEARING_ROLES, "import a clearing-house file")
            done = s.execute(select(ClearingImport).where(ClearingImport.business_date == day,
                                                          ClearingImport.digest == digest)).scalar_one_or_none()
            if done is not None:
                return ImportResult(done.id, day, done.rows, done.matched, [], True)
            ours = self.ours(s, day)
            theirs = {r.txn_id: r for r in rows if r.amount != 0}
            found = []
            for txn, (term, card, amount) in sorted(ours.items()):
                r = theirs.get(txn)
                if r is None:
                    found.append(("long", txn, term, card, amount, None))
                elif r.amount != amount:
                    found.append(("amount_mismatch", txn, term, card, amount, r.amount))
            for txn, r in sorted(theirs.items()):
                if txn not in ours:
                    found.append(("short", txn, r.terminal, r.card_number, None, r.amount))
            matched = sum(1 for txn, r in theirs.items() if txn in ours and ours[txn][2] == r.amount)
            imp = ClearingImport(business_date=day, source=source[:255], digest=digest, rows=len(rows),
                                 matched=matched, imported_by=op.id, imported_at=self.uow.now())
            s.add(imp)
            s.flush()
            listed = {(i.kind, i.txn_id) for i, _ in s.execute(
                select(ClearingItem, ClearingImport.id).join(ClearingImport, ClearingItem.import_id == ClearingImport.id)
                .where(ClearingImport.business_date == day))}
            new = []
            for kind, txn, term, card, our, their in found:
                if (kind, txn) in listed:
                    continue
                item = ClearingItem(import_id=imp.id, kind=kind, txn_id=txn, terminal_number=term, card_number=card,
                                    our_amount=our, their_amount=their, status="open")
                s.add(item)
                s.flush()
                new.append(_item_view(item, day))
            self.uow.audit(s, op, "clearing.import", business_date=day.isoformat(), source=source, digest=digest,
                           rows=len(rows), matched=matched, long=sum(1 for f in found if f[0] == "long"),
                           short=sum(1 for f in found if f[0] == "short"),
                           mismatch=sum(1 for f in found if f[0] == "amount_mismatch"), new_items=len(new))
            return ImportResult(imp.id, day, len(rows), matched, new, False)

        return self.uow.run("clearing.import", operator, do, details={"business_date": day.isoformat(),
                                                                      "digest": digest})

    def items(self, day: dt.date | None = None, status: str | None = None) -> list[ItemView]:
        with self.uow.read() as s:
            q = (select(ClearingItem, ClearingImport.business_date)
                 .join(ClearingImport, ClearingItem.import_id == ClearingImport.id).order_by(ClearingItem.id))
            if day is not None:
                q = q.where(ClearingImport.business_date == day)
            if status is not None:
                q = q.where(ClearingItem.status == status)
            return [_item_view(i, d) for i, d in s.execute(q)]

    def resolve(self, operator: Operator | str, item_id: int, action: str, reason: str) -> ItemView:
        if action not in ACTIONS:
            raise ValueError("the action is one of %s, got %r" % (", ".join(ACTIONS), action))
        if not (reason or "").strip():
            raise ValueError("resolving a clearing item needs a reason (--reason)")

        def do(s):
            op = operator_row(s, operator, CLEARING_ROLES, "resolve a clearing item")
            i = s.get(ClearingItem, item_id)
            if i is None:
                raise NotFound("no clearing item %d" % item_id)
            if i.status != "open":
                raise InvalidStateError("clearing item %d is already resolved (%s)" % (item_id, i.action))
            i.status, i.action, i.reason, i.resolved_by, i.resolved_at = "resolved", action, reason, op.id, self.uow.now()
            day = s.get(ClearingImport, i.import_id).business_date
            self.uow.audit(s, op, "clearing.resolve", card=i.card_number, terminal=i.terminal_number, id=i.id,
                           kind=i.kind, txn=i.txn_id, resolution=action, reason=reason)
            return _item_view(i, day)

        return self.uow.run("clearing.resolve", operator, do, details={"id": item_id, "action": action})
