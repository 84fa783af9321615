"""Card stock (`Ledger.stock`): 验收入库 (receive), 领用/发出 (issue to a sales point), 盘点 (count).

Every physical card is traceable by UID from receipt to closure; its state moves only along
`TRANSITIONS` (`move`). `stock_row` is the look-up by UID; `bind_uid` identifies a card of a batch
received by count when it is first read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from icpurse.host.ledger.errors import InvalidStateError, NotFound
from icpurse.host.ledger.models import Operator, SalesPoint, StockBatch, StockCard
from icpurse.host.ledger.people import operator_row

# Allowed lifecycle moves; every card is traceable from receipt to closure.
TRANSITIONS = {
    "in_stock": {"issued_to_point", "lost"},
    "issued_to_point": {"in_stock", "sold", "lost"},
    "sold": {"paid", "issued_to_point"},
    "paid": {"activated", "refunded"},
    "activated": {"in_use", "lost", "blocked", "expired", "refunded", "closed"},
    "in_use": {"lost", "blocked", "expired", "refunded", "closed"},
    "lost": {"blocked", "refunded", "closed"},
    "blocked": {"in_use", "refunded", "closed"},
    "expired": {"in_use", "refunded", "closed"},
    "refunded": {"closed"},
    "closed": set(),
}
STOCK_ROLES = ("issuer-admin", "finance")


@dataclass
class StockCount:
    """Result of a stock count (盘点) at the warehouse or one sales point."""

    location: str
    expected: int
    counted: int
    missing: list[str] = field(default_factory=list)  # in the ledger here, not physically present
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (uid, where the ledger has it)
    unknown: list[str] = field(default_factory=list)  # present, never received into stock
    unidentified: int = 0  # expected cards received by count only (UIDs not known yet)
    unidentified_present: list[str] = field(default_factory=list)  # present UIDs taken as those cards

    @property
    def missing_unidentified(self) -> int:
        """Cards received by count that were not found."""
        return self.unidentified - len(self.unidentified_present)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.unknown or self.missing_unidentified)


def normal_uid(uid: str | bytes) -> str:
    if isinstance(uid, (bytes, bytearray)):
        return bytes(uid).hex().upper()
    text = "".join(uid.split()).replace(":", "").upper()
    if not text or len(text) > 20 or any(c not in "0123456789ABCDEF" for c in text) or len(text) % 2:
        raise ValueError("a card UID is 4, 7 or 10 bytes of hex, got %r" % (uid,))
    return text


def stock_row(s, uid: str) -> StockCard:
    """The stock card with this (normalised) UID; NotFound if it was never received."""
    sc = s.execute(select(StockCard).where(StockCard.uid == uid)).scalar_one_or_none()
    if sc is None:
        raise NotFound("card UID %s was never received into stock" % uid)
    return sc


def move(uow, sc: StockCard, state: str) -> None:
    """Move a stock card to `state` (InvalidStateError unless `TRANSITIONS` allows it)."""
    if state not in TRANSITIONS[sc.state]:
        raise InvalidStateError("card %s is %s; it cannot become %s" % (sc.uid, sc.state, state))
    sc.state = state
    sc.updated_at = uow.now()


def bind_uid(uow, s, op, batch_reference: str, uid: str) -> StockCard:
    """Identify one card of a batch received by count, in the caller's transaction (audited)."""
    batch = s.execute(select(StockBatch).where(StockBatch.reference == batch_reference)).scalar_one_or_none()
    if batch is None:
        raise NotFound("no stock batch %s" % batch_reference)
    if s.execute(select(StockCard).where(StockCard.uid == uid)).first():
        raise InvalidStateError("card %s is already in the stock ledger" % uid)
    bound = s.execute(select(func.count()).select_from(StockCard).where(StockCard.batch_id == batch.id)).scalar()
    if batch.declared_count is None or bound >= batch.declared_count:
        raise InvalidStateError("batch %s has no unidentified cards left (%s); receive card %s into stock first" % (
            batch_reference, "received by UID" if batch.declared_count is None else
            "all %d identified" % batch.declared_count, uid))
    sc = StockCard(uid=uid, batch_id=batch.id, state="in_stock", updated_at=uow.now())
    s.add(sc)
    s.flush()
    uow.audit(s, op, "stock.identify", batch=batch_reference, uid=uid)
    return sc


def _unidentified_in_stock(s) -> int:
    """Cards received by count whose UID is not known yet (all still in the warehouse)."""
    total = 0
    for batch in s.execute(select(StockBatch).where(StockBatch.declared_count.is_not(None))).scalars():
        bound = s.execute(select(func.count()).select_from(StockCard).where(StockCard.batch_id == batch.id)).scalar()
        total += max(0, batch.declared_count - bound)
    return total


class Stock:
    """Card stock and sales points (`Ledger.stock`)."""

    def __init__(self, uow):
        self.uow = uow

    def add_sales_point(self, admin: Operator | str, code: str, name: str) -> SalesPoint:
        def do(s):
            a = operator_row(s, admin, ("issuer-admin",), "add a sales point")
            if s.execute(select(SalesPoint).where(SalesPoint.code == code)).first():
                raise InvalidStateError("sales point %s already exists" % code)
            p = SalesPoint(code=code, name=name)
            s.add(p)
            s.flush()
            self.uow.audit(s, a, "stock.add_sales_point", code=code, name=name)
            return p

        return self.uow.run("stock.add_sales_point", admin, do, details={"code": code})

    def receive_stock(self, operator: Operator | str, batch_reference: str, uids=(), note: str = "",
                      count: int | None = None) -> StockBatch:
        """验收入库: blank cards received into stock as one batch, by UID; or by `count` alone when the
        UIDs are not known yet (each card is then identified when first read, `bind_stock_uid`)."""
        uids = [normal_uid(u) for u in uids]
        if len(set(uids)) != len(uids):
            raise ValueError("the batch lists a UID twice")
        if count is not None:
            if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
                raise ValueError("a batch count is a positive number of cards, got %r" % (count,))
            if count < len(uids):
                raise ValueError("the batch lists %d UIDs but declares only %d cards" % (len(uids), count))
        elif not uids:
            raise ValueError("receive cards by UID or give their count")

        def do(s):
            op = operator_row(s, operator, STOCK_ROLES, "receive stock")
            if s.execute(select(StockBatch).where(StockBatch.reference == batch_reference)).first():
                raise InvalidStateError("batch %s was already received" % batch_reference)
            dup = s.execute(select(StockCard.uid).where(StockCard.uid.in_(uids))).scalars().all() if uids else []
            if dup:
                raise InvalidStateError("UIDs already in stock: %s" % ", ".join(sorted(dup)))
            now = self.uow.now()
            batch = StockBatch(reference=batch_reference, received_at=now, received_by=op.id, note=note,
                               declared_count=count)
            s.add(batch)
            s.flush()
            s.add_all(StockCard(uid=u, batch_id=batch.id, state="in_stock", updated_at=now) for u in uids)
            self.uow.audit(s, op, "stock.receive", batch=batch_reference,
                           count=count if count is not None else len(uids), uids=uids)
            return batch

        return self.uow.run("stock.receive", operator, do, details={"batch": batch_reference,
                                                                    "count": count if count is not None else len(uids)})

    def bind_stock_uid(self, operator: Operator | str, batch_reference: str, uid: str | bytes) -> None:
        """Identify one card of a batch received by count: its UID joins the batch, in stock."""
        uid = normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, STOCK_ROLES, "identify a stock card")
            bind_uid(self.uow, s, op, batch_reference, uid)

        self.uow.run("stock.identify", operator, do, details={"batch": batch_reference, "uid": uid})

    def issue_to_point(self, operator: Operator | str, uids, point_code: str) -> int:
        """领用/发出: move cards from the warehouse to a sales point."""
        uids = [normal_uid(u) for u in uids]

        def do(s):
            op = operator_row(s, operator, STOCK_ROLES, "issue stock to a sales point")
            point = s.execute(select(SalesPoint).where(SalesPoint.code == point_code)).scalar_one_or_none()
            if point is None:
                raise NotFound("no sales point %s (add it: `icpurse salespoint add %s --name ...`)" % (
                    point_code, point_code))
            if not point.active:
                raise InvalidStateError("sales point %s is disabled: it takes no cards" % point_code)
            for u in uids:
                sc = stock_row(s, u)
                move(self.uow, sc, "issued_to_point")
                sc.sales_point_id = point.id
            self.uow.audit(s, op, "stock.issue_to_point", point=point_code, count=len(uids), uids=uids)
            return len(uids)

        return self.uow.run("stock.issue_to_point", operator, do, details={"point": point_code, "count": len(uids)})

    def count_stock(self, operator: Operator | str, present_uids, point_code: str | None = None) -> StockCount:
        """盘点: compare the cards physically present with the ledger (warehouse, or one sales point)."""
        present = {normal_uid(u) for u in present_uids}

        def do(s):
            op = operator_row(s, operator, ("issuer-admin", "finance", "auditor"), "count stock")
            q = select(StockCard)
            if point_code is None:
                q = q.where(StockCard.state == "in_stock")
            else:
                point = s.execute(select(SalesPoint).where(SalesPoint.code == point_code)).scalar_one_or_none()
                if point is None:
                    raise NotFound("no sales point %s" % point_code)
                q = q.where(StockCard.state == "issued_to_point", StockCard.sales_point_id == point.id)
            expected = {sc.uid for sc in s.execute(q).scalars()}
            unidentified = _unidentified_in_stock(s) if point_code is None else 0
            result = StockCount(location=point_code or "warehouse", expected=len(expected) + unidentified,
                                counted=len(present), missing=sorted(expected - present), unidentified=unidentified)
            for u in sorted(present - expected):
                sc = s.execute(select(StockCard).where(StockCard.uid == u)).scalar_one_or_none()
                if sc is None:
                    # may be one of the cards received by count (their UIDs are not known yet)
                    if len(result.unidentified_present) < unidentified:
                        result.unidentified_present.append(u)
                    else:
                        result.unknown.append(u)
                else:
                    where = sc.state + (" at " + sc.sales_point.code if sc.sales_point else "")
                    result.unexpected.append((u, where))
            self.uow.audit(s, op, "stock.count", result="ok" if result.ok else "differences",
                           location=result.location, expected=result.expected, counted=result.counted,
                           missing=result.missing, unexpected=[list(x) for x in result.unexpected],
                           unknown=result.unknown, unidentified=unidentified,
                           unidentified_present=result.unidentified_present)
            return result

        return self.uow.run("stock.count", operator, do, details={"location": point_code or "warehouse"})

    def stock_state(self, uid: str | bytes) -> str | None:
        """The lifecycle state of a stock card, or None if the UID was never received."""
        uid = normal_uid(uid)
        with self.uow.read() as s:
            return s.execute(select(StockCard.state).where(StockCard.uid == uid)).scalar_one_or_none()
