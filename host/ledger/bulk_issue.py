"""Bulk issue for benches and tests: many anonymous cards registered, sold for cash, paid and
activated in ONE transaction, written as rows (ids assigned up front, `bulk.insert_rows`) instead
of four audited API calls per card.

It writes exactly the rows the API path writes — `Cards.register_card`, `Sales.record_sale`,
`Sales.confirm_payment`, `Sales.activate`, card after card, in that order — with the same ids, the
same audit entries (chained with `audit.entry_hash`, the sale's booking sealed by its
`card.confirm_payment` entry with `audit.seal_digest`) and the same books; the test
tests/ledger/test_bulk_issue.py compares every table of the two ledgers row by row. What it does
not do is judge: it takes an anonymous cash sale of a programme's face value for granted and checks
only what would make its rows wrong (the programme's kind and face value, the numbering scheme, the
cap, the stock cards' states, numbers not yet registered, distinct roles for the three operators).
A city day of 20,000 cards would otherwise take the bench ~10 minutes to set up.
"""
from __future__ import annotations

from sqlalchemy import func, select, text

from icpurse.host.ledger import audit, bookkeeping as bk, bulk
from icpurse.host.ledger.errors import InvalidStateError, SeparationOfDutiesError
from icpurse.host.ledger.models import Account, AuditEntry, Card, JournalEntry, Posting, Sale, StockCard
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.programmes import load_programme
from icpurse.host.ledger.stock import normal_uid
from icpurse.host.programmes import load_profile

_ISSUABLE = ("issued_to_point",)  # a card is sold at a sales point


def _ids(s, table, n: int):
    """An iterator over `n` fresh primary keys of `table`, in order, in the caller's writing
    transaction (writers' lock held): SQLite after the highest; PostgreSQL from the table's sequence
    (as the API's inserts take them)."""
    conn = s.connection()
    if n == 0:
        return iter(())
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                            {"t": table.name, "n": n}).scalars()
        return iter(sorted(int(v) for v in rows))
    top = s.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return iter(range(top + 1, top + 1 + n))


def sell_cards(ledger, cards, programme_id: str, face_value: int, *, finance: str, seller: str,
               activator: str, key_version: int = 1) -> int:
    """Register (`finance`), sell (`seller`, cash), confirm the payment (`finance`) and activate
    (`activator`) the anonymous cards `cards` [(uid, card number)] in one transaction, as the API
    calls would one after the other (module docstring). Returns the number of cards."""
    cards = [(normal_uid(u), n) for u, n in cards]
    uow = ledger.uow
    key = uow.audit_key
    if key is None:
        raise audit.AuditKeyError("a bulk issue is recorded: give the audit key")
    kind = "anonymous"

    def do(s):
        fin = operator_row(s, finance, ("issuer-admin", "finance"), "register a card")
        fin_pay = operator_row(s, finance, ("finance",), "confirm a payment")
        sel = operator_row(s, seller, ("seller",), "sell a card")
        act = operator_row(s, activator)
        if fin_pay.id == sel.id or act.id == sel.id or act.role == sel.role:
            raise SeparationOfDutiesError("the seller, the finance operator and the activator must differ")
        prog = load_programme(s, programme_id)
        if kind not in prog.kinds or face_value not in prog.terms[kind].face_values:
            raise InvalidStateError("programme %s has no %s face value of %d fen" % (programme_id, kind, face_value))
        cap = prog.effective_cap(kind, load_profile(prog.profile))
        if cap is not None and face_value > cap:
            raise InvalidStateError("face value %d fen exceeds the cap of %d fen" % (face_value, cap))
        scheme = prog.numbering_scheme()
        numbers = [scheme.validate(n) if scheme is not None else n for _, n in cards]
        stock = {}
        uids = [u for u, _ in cards]
        for i in range(0, len(uids), 500):
            for sid, uid, state in s.execute(select(StockCard.id, StockCard.uid, StockCard.state)
                                             .where(StockCard.uid.in_(uids[i:i + 500]))):
                stock[uid] = (sid, state)
        for uid in uids:
            if uid not in stock or stock[uid][1] not in _ISSUABLE:
                raise InvalidStateError("card %s is not a stock card that can get a number" % uid)
        if len(set(numbers)) != len(numbers) or len(set(uids)) != len(uids):
            raise InvalidStateError("a card number or UID appears twice")
        for i in range(0, len(numbers), 500):
            if s.execute(select(Card.id).where(Card.card_number.in_(numbers[i:i + 500])).limit(1)).first():
                raise InvalidStateError("a card number is already registered")
        cash = s.execute(select(Account.id).where(Account.code == bk.payment_account("cash"))).scalar()
        cash_name = bk.payment_account("cash")
        now = uow.now()
        at = audit.format_at(now)
        tail = s.execute(select(AuditEntry.seq, AuditEntry.entry_hash, AuditEntry.sealed_upto)
                         .order_by(AuditEntry.seq.desc()).limit(1)).first()
        seq, prev, hw = (tail[0], tail[1], tail[2] or 0) if tail else (0, audit.GENESIS, 0)
        if s.execute(select(JournalEntry.id).where(JournalEntry.id > hw).limit(1)).first() is not None:
            raise InvalidStateError("the ledger has unsealed bookings")
        n = len(cards)
        card_ids, sale_ids = _ids(s, Card.__table__, n), _ids(s, Sale.__table__, n)
        acc_ids = _ids(s, Account.__table__, n + (cash is None))
        entry_ids, posting_ids = _ids(s, JournalEntry.__table__, n), _ids(s, Posting.__table__, 2 * n)
        rows = {"cards": [], "accounts": [], "sales": [], "entries": [], "postings": [], "audit": []}

        def log(operator, action, card, details, sealed=None):
            nonlocal seq, prev, hw
            seq += 1
            body = audit.canonical_json(details)
            upto, seal = (sealed[-1][0], audit.seal_digest(sealed)) if sealed else (hw, None)
            h = audit.entry_hash(key, prev, seq, at, operator, action, card, None, "ok", body, upto, seal)
            rows["audit"].append((seq, at, operator, action, card, None, "ok", body, prev, audit.KEYED, upto, seal, h))
            prev, hw = h, upto

        for (uid, _), number in zip(cards, numbers):
            card_id, acc_id = next(card_ids), next(acc_ids)
            rows["cards"].append((card_id, number, stock[uid][0], programme_id, kind, face_value, key_version, now))
            prepaid = (acc_id, "%s:%s" % (bk.PREPAID, number))
            rows["accounts"].append((acc_id, prepaid[1], "Prepaid liability, card %s" % number, "liability",
                                     bk.PREPAID, card_id))
            log(fin.username, "card.register", number, {"uid": uid, "programme": programme_id, "kind": kind,
                                                         "face_value": face_value, "key_version": key_version})
            sale_id = next(sale_ids)
            rows["sales"].append((sale_id, card_id, sel.id, face_value, "cash", "individual", False, "activated",
                                  now, fin_pay.id, now, act.id, now))
            log(sel.username, "card.sell", number, {"sale": sale_id, "amount": face_value, "payment_method": "cash",
                                                    "buyer": "individual", "remote": False, "real_name": False,
                                                    "agent": False, "payer_account": False})
            if cash is None:  # the first confirmed cash payment opens the cash account
                cash = next(acc_ids)
                name, typ, cat = bk.CHART[cash_name]
                rows["accounts"].append((cash, cash_name, name, typ, cat, None))
            entry_id = next(entry_ids)
            skey = "sale:%d" % sale_id
            rows["entries"].append((entry_id, skey, "sale", card_id, fin_pay.id, now, ""))
            rows["postings"] += [(next(posting_ids), entry_id, 1, cash, face_value),
                                 (next(posting_ids), entry_id, 2, prepaid[0], -face_value)]
            log(fin_pay.username, "card.confirm_payment", number, {"sale": sale_id, "amount": face_value,
                                                                   "reference": ""},
                sealed=[(entry_id, skey, "sale", card_id, fin_pay.id, now, "",
                         [(1, cash_name, face_value), (2, prepaid[1], -face_value)])])
            log(act.username, "card.activate", number, {"sale": sale_id, "seller": sel.username})

        b = lambda column: bulk.bind_value(s, column, now)  # noqa: E731 - the datetime as each column binds it
        copy = uow.bound_operator is None
        bulk.insert_rows(s, Card.__table__, ("id", "card_number", "stock_card_id", "programme_id", "kind",
                                             "face_value", "key_version", "registered_at"),
                         [r[:7] + (b(Card.__table__.c.registered_at),) for r in rows["cards"]], copy=copy)
        bulk.insert_rows(s, Account.__table__, ("id", "code", "name", "type", "category", "card_id"),
                         rows["accounts"], copy=copy)
        sale_at = b(Sale.__table__.c.created_at)
        bulk.insert_rows(s, Sale.__table__, ("id", "card_id", "seller_id", "amount", "payment_method", "buyer_kind",
                                             "remote", "state", "created_at", "confirmed_by", "confirmed_at",
                                             "activated_by", "activated_at"),
                         [r[:8] + (sale_at, r[9], sale_at, r[11], sale_at) for r in rows["sales"]], copy=copy)
        entry_at = b(JournalEntry.__table__.c.created_at)
        bulk.insert_rows(s, JournalEntry.__table__, ("id", "idempotency_key", "kind", "card_id", "operator_id",
                                                     "created_at", "memo"),
                         [r[:5] + (entry_at, r[6]) for r in rows["entries"]], copy=copy)
        bulk.insert_rows(s, Posting.__table__, ("id", "entry_id", "line", "account_id", "amount"), rows["postings"],
                         copy=copy)
        t = StockCard.__table__
        sids = [stock[u][0] for u in uids]
        for i in range(0, len(sids), 500):
            s.execute(t.update().where(t.c.id.in_(sids[i:i + 500])).values(state="activated", updated_at=now)
                      .execution_options(synchronize_session=False))
        bulk.insert_rows(s, AuditEntry.__table__, ("seq", "at", "operator", "action", "card_number",
                                                   "terminal_number", "result", "details", "prev_hash", "scheme",
                                                   "sealed_upto", "seal", "entry_hash"), rows["audit"], copy=copy)
        return len(cards)

    with uow.transaction() as s:
        return do(s)
