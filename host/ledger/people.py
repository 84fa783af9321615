"""Operators (roles, scrypt passwords) and terminals (8-digit number bound to an outlet)."""
from __future__ import annotations

import re

from sqlalchemy import select

from icpurse.host.ledger.core import LedgerCore
from icpurse.host.ledger.errors import AuthenticationError, InvalidStateError, NotFound
from icpurse.host.ledger.models import ROLES, TERMINAL_STATUSES, Operator, Terminal
from icpurse.host.ledger.passwords import hash_password, verify_password
from icpurse.host.ledger.views import OperatorView, TerminalView, operator_view, terminal_view

ADMIN = ("issuer-admin",)


class PeopleMixin(LedgerCore):
    # --- operators ---

    def add_operator(self, username: str, password: str, role: str, display_name: str = "",
                     by: Operator | str | None = None) -> OperatorView:
        """Create an operator. `by` (an issuer-admin) is required once any issuer-admin exists;
        the very first operator bootstraps the ledger and must be an issuer-admin."""
        if role not in ROLES:
            raise ValueError("unknown role %r; roles: %s" % (role, ", ".join(ROLES)))
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", username):
            raise ValueError("operator names are 1-64 letters, digits, '.', '_' or '-'")
        pw_hash = hash_password(password)  # outside the transaction: scrypt is slow on purpose

        def do(s):
            first = s.execute(select(Operator.id).limit(1)).first() is None
            admin = None
            if first:
                if role != "issuer-admin":
                    raise InvalidStateError("the first operator of a ledger must be an issuer-admin")
            else:
                if by is None:
                    raise AuthenticationError("adding an operator needs an issuer-admin (by=...)")
                admin = self._operator(s, by, ADMIN, "add an operator")
            if s.execute(select(Operator).where(Operator.username == username)).first():
                raise InvalidStateError("operator %s already exists" % username)
            op = Operator(username=username, display_name=display_name or username, role=role,
                          password_hash=pw_hash, active=True, created_at=self.now())
            s.add(op)
            s.flush()
            self._audit(s, admin or op, "operator.add", username=username, role=role, bootstrap=first)
            return operator_view(op)

        return self._run("operator.add", by, do, details={"username": username, "role": role})

    def authenticate_operator(self, username: str, password: str) -> OperatorView:
        """The operator if the password is right; AuthenticationError (audited) otherwise."""
        with self.session() as s:
            op = s.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
        ok = op is not None and op.active and verify_password(password, op.password_hash)

        def do(s):
            if not ok:
                raise AuthenticationError("wrong operator name or password")
            self._audit(s, username, "operator.login")
            return operator_view(op)

        return self._run("operator.login", username, do)

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        op = self.authenticate_operator(username, old_password)
        pw_hash = hash_password(new_password)

        def do(s):
            row = self._operator(s, op)
            row.password_hash = pw_hash
            self._audit(s, op, "operator.change_password")

        self._run("operator.change_password", op, do)

    def set_operator_active(self, admin: Operator | str, username: str, active: bool) -> None:
        def do(s):
            a = self._operator(s, admin, ADMIN, "enable/disable an operator")
            op = s.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
            if op is None:
                raise NotFound("no operator %r" % username)
            op.active = active
            self._audit(s, a, "operator.enable" if active else "operator.disable", username=username)

        self._run("operator.set_active", admin, do, details={"username": username})

    def operators(self) -> list[OperatorView]:
        with self.session() as s:
            return [operator_view(o) for o in s.execute(select(Operator).order_by(Operator.username)).scalars()]

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
            a = self._operator(s, admin, ADMIN, "provision a terminal")
            if s.execute(select(Terminal).where(Terminal.number == number)).first():
                raise InvalidStateError("terminal %s already exists" % number)
            t = Terminal(number=number, outlet=outlet, merchant=merchant, status=status, key_version=key_version,
                         fixed_price=fixed_price, created_at=self.now())
            s.add(t)
            s.flush()
            self._audit(s, a, "terminal.add", terminal=number, outlet=outlet, merchant=merchant,
                        key_version=key_version, fixed_price=fixed_price)
            return terminal_view(t)

        return self._run("terminal.add", admin, do, terminal=number)

    def set_terminal_status(self, admin: Operator | str, number: str, status: str) -> TerminalView:
        if status not in TERMINAL_STATUSES:
            raise ValueError("terminal status is enabled or disabled, got %r" % (status,))

        def do(s):
            a = self._operator(s, admin, ADMIN, "change a terminal's status")
            t = self._terminal(s, number)
            t.status = status
            self._audit(s, a, "terminal.status", terminal=number, status=status)
            return terminal_view(t)

        return self._run("terminal.status", admin, do, terminal=number)

    def terminal(self, number: str) -> TerminalView:
        with self.session() as s:
            return terminal_view(self._terminal(s, number))

    def _terminal(self, s, number: str) -> Terminal:
        t = s.execute(select(Terminal).where(Terminal.number == number)).scalar_one_or_none()
        if t is None:
            raise NotFound("no terminal %s" % number)
        return t
