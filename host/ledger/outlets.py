"""Sales points, kiosk terminals, terminal status and the daily cut-off (`Ledger.outlets`).

- Sales points (the counters stock is issued to): added and disabled by an issuer-admin; a disabled
  point takes no more cards.
- Kiosk terminals: a top-up kiosk has an 8-digit terminal number bound to its outlet and a status,
  like a store reader, but no reader device to provision: it is registered here, signs in (签到) once
  per business day before it takes top-ups, and is enabled or disabled by an issuer-admin.
- Cut-off (日切): set for the whole ledger, a programme or an outlet; the most specific one applies
  to a transaction (its terminal's outlet, then its card's programme, then the ledger, then the
  ledger's built-in time). A void is possible only before it; after it a refund or adjustment.
- A store reader switched between store and issuance use (transparent card access) is recorded
  here first, by an issuer-admin or a terminal-operator (`record_reader_use`).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select

from icpurse.host.ledger.errors import InvalidStateError, NotFound
from icpurse.host.ledger.models import CutOff, Operator, ProgrammeRecord, SalesPoint, Terminal, TerminalSignIn
from icpurse.host.ledger.people import ADMIN, operator_row
from icpurse.host.ledger.views import TerminalView, terminal_view

KIOSK_OPERATOR_ROLES = ("issuer-admin", "terminal-operator", "seller", "finance")
READER_MODE_ROLES = ("issuer-admin", "terminal-operator")


@dataclass(frozen=True)
class SalesPointView:
    code: str
    name: str
    active: bool
    cards: int  # cards at the point now (issued to it, not sold)


@dataclass(frozen=True)
class CutOffView:
    scope: str  # ledger | programme | outlet
    target: str
    at: dt.time


def _point_row(s, code):
    p = s.execute(select(SalesPoint).where(SalesPoint.code == code)).scalar_one_or_none()
    if p is None:
        raise NotFound("no sales point %s (list them with `icpurse salespoint list`)" % code)
    return p


def _point_view(s, p) -> SalesPointView:
    from sqlalchemy import func

    from icpurse.host.ledger.models import StockCard

    n = s.execute(select(func.count()).select_from(StockCard).where(
        StockCard.sales_point_id == p.id, StockCard.state == "issued_to_point")).scalar_one()
    return SalesPointView(p.code, p.name, bool(p.active), int(n))


def _terminal(s, number) -> Terminal:
    t = s.execute(select(Terminal).where(Terminal.number == number)).scalar_one_or_none()
    if t is None:
        raise NotFound("no terminal %s" % number)
    return t


def _time_text(at: dt.time) -> str:
    return at.strftime("%H:%M")


def check_point_code(code: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", code or ""):
        raise ValueError("a sales point code is 1-32 ASCII letters, digits, '.', '_' or '-', got %r" % (code,))
    return code


class Outlets:
    """Sales points, kiosks, terminal status and cut-offs (`Ledger.outlets`)."""

    def __init__(self, uow):
        self.uow = uow

    # --- sales points ---

    def add_sales_point(self, admin: Operator | str, code: str, name: str) -> SalesPointView:
        check_point_code(code)
        if not name.strip():
            raise ValueError("a sales point needs a name")

        def do(s):
            a = operator_row(s, admin, ADMIN, "add a sales point")
            if s.execute(select(SalesPoint).where(SalesPoint.code == code)).first():
                raise InvalidStateError("sales point %s already exists" % code)
            p = SalesPoint(code=code, name=name, active=True)
            s.add(p)
            s.flush()
            self.uow.audit(s, a, "stock.add_sales_point", code=code, name=name)
            return _point_view(s, p)

        return self.uow.run("stock.add_sales_point", admin, do, details={"code": code})

    def set_sales_point_active(self, admin: Operator | str, code: str, active: bool) -> SalesPointView:
        def do(s):
            a = operator_row(s, admin, ADMIN, "enable or disable a sales point")
            p = _point_row(s, code)
            if not active:
                view = _point_view(s, p)
                if view.cards:
                    raise InvalidStateError("sales point %s still holds %d card(s): return them to the warehouse "
                                            "first (a stock count there lists them)" % (code, view.cards))
            p.active = active
            self.uow.audit(s, a, "stock.sales_point_enable" if active else "stock.sales_point_disable", code=code)
            return _point_view(s, p)

        return self.uow.run("stock.sales_point_status", admin, do, details={"code": code, "active": active})

    def sales_points(self) -> list[SalesPointView]:
        with self.uow.read() as s:
            return [_point_view(s, p) for p in s.execute(select(SalesPoint).order_by(SalesPoint.code)).scalars()]

    # --- terminals: status and kiosks ---

    def set_terminal_status(self, admin: Operator | str, number: str, status: str, reason: str = "") -> TerminalView:
        """Enable or disable a terminal (store reader or kiosk). A disabled terminal may not sign in,
        be provisioned or take top-ups; its journal can still be collected (nothing is lost)."""
        if status not in ("enabled", "disabled"):
            raise ValueError("terminal status is enabled or disabled, got %r" % (status,))

        def do(s):
            a = operator_row(s, admin, ADMIN, "enable or disable a terminal")
            t = _terminal(s, number)
            before = t.status
            t.status = status
            self.uow.audit(s, a, "terminal.status", terminal=number, status=status, before=before, reason=reason)
            return terminal_view(t)

        return self.uow.run("terminal.status", admin, do, terminal=number)

    def register_kiosk(self, admin: Operator | str, number: str, outlet: str, merchant: str) -> TerminalView:
        """A top-up kiosk, bound to its outlet (no reader device: nothing is provisioned)."""
        if not re.fullmatch(r"[0-9]{8}", number or ""):
            raise ValueError("a terminal number is 8 digits, got %r" % (number,))
        if not outlet.strip() or not merchant.strip():
            raise ValueError("a kiosk needs its outlet and merchant")

        def do(s):
            a = operator_row(s, admin, ADMIN, "register a kiosk")
            if s.execute(select(Terminal).where(Terminal.number == number)).first():
                raise InvalidStateError("terminal %s already exists" % number)
            t = Terminal(number=number, outlet=outlet, merchant=merchant, status="enabled", kind="kiosk",
                         key_version=1, fixed_price=None, created_at=self.uow.now())
            s.add(t)
            s.flush()
            self.uow.audit(s, a, "terminal.add", terminal=number, outlet=outlet, merchant=merchant, kind="kiosk")
            return terminal_view(t)

        return self.uow.run("terminal.add", admin, do, terminal=number)

    def rebind_outlet(self, admin: Operator | str, number: str, outlet: str) -> TerminalView:
        """Move a terminal to another outlet (audited with the old one)."""
        def do(s):
            a = operator_row(s, admin, ADMIN, "move a terminal to another outlet")
            t = _terminal(s, number)
            before, t.outlet = t.outlet, outlet
            self.uow.audit(s, a, "terminal.outlet", terminal=number, outlet=outlet, before=before)
            return terminal_view(t)

        return self.uow.run("terminal.outlet", admin, do, terminal=number)

    def record_reader_use(self, operator: Operator | str, number: str | None, use: str) -> None:
        """Before a store reader is switched between store and issuance use (`icpurse reader mode`):
        issuance use opens transparent card access through it, so only an issuer-admin or a
        terminal-operator may, audited with the terminal (None: a reader not provisioned yet). A
        disabled terminal is not switched to issuance use."""
        if use not in ("issuance", "store"):
            raise ValueError("a reader's use is issuance or store, got %r" % (use,))

        def do(s):
            op = operator_row(s, operator, READER_MODE_ROLES, "switch a reader between store and issuance use")
            if number is not None:
                t = s.execute(select(Terminal).where(Terminal.number == number)).scalar_one_or_none()
                if t is not None and t.kind != "store":
                    raise InvalidStateError("terminal %s is a kiosk, not a store reader" % number)
                if t is not None and use == "issuance" and t.status != "enabled":
                    raise InvalidStateError("terminal %s is disabled: it is not switched to issuance use" % number)
            self.uow.audit(s, op, "terminal.use", terminal=number, use=use)

        self.uow.run("terminal.use", operator, do, terminal=number, details={"use": use})

    def sign_in_kiosk(self, operator: Operator | str, number: str) -> TerminalView:
        """签到 of a kiosk: once per business day, before its first top-up (audited)."""
        def do(s):
            op = operator_row(s, operator, KIOSK_OPERATOR_ROLES, "sign a kiosk in")
            t = _terminal(s, number)
            if t.kind != "kiosk":
                raise InvalidStateError("terminal %s is a store reader: it signs in over its USB link "
                                        "(`icpurse terminal sign-in %s --reader serial:PORT`)" % (number, number))
            if t.status != "enabled":
                raise InvalidStateError("terminal %s is disabled: it may not sign in" % number)
            now = self.uow.now()
            s.add(TerminalSignIn(terminal_id=t.id, at=now, reader_time=0, blacklist_version=0, day=0, batch=0,
                                 first_number=0, operator_id=op.id))
            t.last_sign_in_at = now
            self.uow.audit(s, op, "terminal.sign_in", terminal=number, kind="kiosk",
                           business_date=self.uow.business_date(now).isoformat())
            return terminal_view(t)

        return self.uow.run("terminal.sign_in", operator, do, terminal=number)

    # --- cut-off (日切) ---

    def set_cutoff(self, admin: Operator | str, at: dt.time, *, programme: str | None = None,
                   outlet: str | None = None) -> CutOffView:
        if programme is not None and outlet is not None:
            raise ValueError("a cut-off is set for the ledger, one programme or one outlet, not both")
        scope, target = ("programme", programme) if programme else ("outlet", outlet) if outlet else ("ledger", "")

        def do(s):
            a = operator_row(s, admin, ADMIN + ("finance",), "set the daily cut-off")
            if scope == "programme" and s.get(ProgrammeRecord, target) is None:
                raise NotFound("no programme %s registered" % target)
            if scope == "outlet" and not s.execute(select(Terminal.id).where(Terminal.outlet == target)).first():
                raise NotFound("no terminal is bound to outlet %r" % target)
            row = s.execute(select(CutOff).where(CutOff.scope == scope, CutOff.target == target)).scalar_one_or_none()
            before = row.at if row else None
            if row is None:
                row = CutOff(scope=scope, target=target, at=_time_text(at), set_by=a.id, set_at=self.uow.now())
                s.add(row)
            else:
                row.at, row.set_by, row.set_at = _time_text(at), a.id, self.uow.now()
            self.uow.audit(s, a, "cutoff.set", scope=scope, target=target, at=_time_text(at), before=before)
            return CutOffView(scope, target, at)

        return self.uow.run("cutoff.set", admin, do, details={"scope": scope, "target": target})

    def cutoffs(self) -> list[CutOffView]:
        with self.uow.read() as s:
            rows = s.execute(select(CutOff).order_by(CutOff.scope, CutOff.target)).scalars()
            return [CutOffView(r.scope, r.target, dt.time.fromisoformat(r.at)) for r in rows]

    def effective_cutoff(self, *, programme: str | None = None, outlet: str | None = None) -> tuple[dt.time, str]:
        """(cut-off, where it comes from) for a transaction at `outlet` on a card of `programme`."""
        with self.uow.read() as s:
            return effective_cutoff(s, self.uow.calendar.cutoff, programme=programme, outlet=outlet)


def effective_cutoff(s, default: dt.time, *, programme=None, outlet=None) -> tuple[dt.time, str]:
    """The cut-off that applies (in session `s`): outlet, then programme, then ledger, then `default`."""
    for scope, target in (("outlet", outlet), ("programme", programme), ("ledger", "")):
        if target is None:
            continue
        row = s.execute(select(CutOff).where(CutOff.scope == scope, CutOff.target == target)).scalar_one_or_none()
        if row is not None:
            return dt.time.fromisoformat(row.at), ("%s %s" % (scope, target) if target else "ledger")
    return default, "built-in"
