"""Operators: who may do what (roles, scrypt passwords). `operator_row` is the look-up (and role
check) every service does before a change."""
from __future__ import annotations

import re

from sqlalchemy import select

from icpurse.host.ledger.audit import actor_name
from icpurse.host.ledger.errors import AuthenticationError, InvalidStateError, NotFound, RoleError
from icpurse.host.ledger.models import ROLES, Operator
from icpurse.host.ledger.passwords import hash_password, verify_password
from icpurse.host.ledger.views import OperatorView, operator_view

ADMIN = ("issuer-admin",)


def operator_row(s, op, roles: tuple[str, ...] | None = None, action: str = "") -> Operator:
    """The active operator `op` (a name or an Operator/OperatorView) in session `s`; NotFound if there is
    none, RoleError if disabled or (with `roles`) of another role, naming `action`."""
    name = op if isinstance(op, str) else op.username
    row = s.execute(select(Operator).where(Operator.username == name)).scalar_one_or_none()
    if row is None:
        raise NotFound("no operator %r" % actor_name(op))
    if not row.active:
        raise RoleError("operator %s is disabled" % row.username)
    if roles is not None and row.role not in roles:
        raise RoleError("%s: operator %s has role %s; needs %s" % (
            action or "this action", row.username, row.role, " or ".join(roles)))
    return row


class People:
    """Operators (`Ledger.people`)."""

    def __init__(self, uow):
        self.uow = uow

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
                admin = operator_row(s, by, ADMIN, "add an operator")
            if s.execute(select(Operator).where(Operator.username == username)).first():
                raise InvalidStateError("operator %s already exists" % username)
            op = Operator(username=username, display_name=display_name or username, role=role,
                          password_hash=pw_hash, active=True, created_at=self.uow.now())
            s.add(op)
            s.flush()
            self.uow.audit(s, admin or op, "operator.add", username=username, role=role, bootstrap=first)
            return operator_view(op)

        return self.uow.run("operator.add", by, do, details={"username": username, "role": role})

    def authenticate_operator(self, username: str, password: str) -> OperatorView:
        """The operator if the password is right; AuthenticationError (audited) otherwise."""
        with self.uow.read() as s:
            op = s.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
        ok = op is not None and op.active and verify_password(password, op.password_hash)

        def do(s):
            if not ok:
                raise AuthenticationError("wrong operator name or password")
            self.uow.audit(s, username, "operator.login")
            return operator_view(op)

        return self.uow.run("operator.login", username, do)

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        op = self.authenticate_operator(username, old_password)
        pw_hash = hash_password(new_password)

        def do(s):
            row = operator_row(s, op)
            row.password_hash = pw_hash
            self.uow.audit(s, op, "operator.change_password")

        self.uow.run("operator.change_password", op, do)

    def reset_password(self, admin: Operator | str, username: str, new_password: str, reason: str = "") -> None:
        """An issuer-admin sets another operator's password (forgotten, or handed over): audited
        with the admin, the operator and the reason; the admin never learns the old one."""
        pw_hash = hash_password(new_password)  # outside the transaction: scrypt is slow on purpose

        def do(s):
            a = operator_row(s, admin, ADMIN, "reset an operator's password")
            row = s.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
            if row is None:
                raise NotFound("no operator %r" % username)
            row.password_hash = pw_hash
            self.uow.audit(s, a, "operator.reset_password", username=username, reason=reason)

        self.uow.run("operator.reset_password", admin, do, details={"username": username})

    def set_operator_active(self, admin: Operator | str, username: str, active: bool) -> None:
        def do(s):
            a = operator_row(s, admin, ADMIN, "enable/disable an operator")
            op = s.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
            if op is None:
                raise NotFound("no operator %r" % username)
            op.active = active
            self.uow.audit(s, a, "operator.enable" if active else "operator.disable", username=username)

        self.uow.run("operator.set_active", admin, do, details={"username": username})

    def operators(self) -> list[OperatorView]:
        with self.uow.read() as s:
            return [operator_view(o) for o in s.execute(select(Operator).order_by(Operator.username)).scalars()]
