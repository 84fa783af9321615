"""Operators: who may do what (roles, argon2id passwords, four eyes over who they are).
`operator_row` is the look-up (and role check) every service does before a change.

Four eyes over operators: adding an operator or changing its role is *requested* by one
issuer-admin and takes effect when a second issuer-admin approves it (`approve_operator`) — never
the requester, never the operator it affects. Bootstrap of a new ledger: its first operator is an
issuer-admin that creates itself, and that first admin may add the ledger's second issuer-admin at
once (a ledger needs two admins before anything can be approved); both are marked `bootstrap` in
the audit log. After that, everything waits for approval.

Passwords (passwords.py): argon2id; a hash below the policy (older scheme, weaker cost) is re-hashed
when the operator signs in. On PostgreSQL an operator signs in through its own database login
(`create_login`, pgroles.py): the server checks the password, the ledger binds the connection to
that operator.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select

from icpurse.host.ledger import pgroles
from icpurse.host.ledger.audit import actor_name
from icpurse.host.ledger.errors import (
    AuthenticationError, InvalidStateError, NotFound, RoleError, SeparationOfDutiesError,
)
from icpurse.host.ledger.models import ROLES, Operator
from icpurse.host.ledger.passwords import hash_password, needs_rehash, verify_password
from icpurse.host.ledger.views import OperatorView, operator_view

ADMIN = ("issuer-admin",)


def operator_row(s, op, roles: tuple[str, ...] | None = None, action: str = "") -> Operator:
    """The active operator `op` (a name or an Operator/OperatorView) in session `s`; NotFound if there is
    none, RoleError if disabled, awaiting approval or (with `roles`) of another role, naming `action`."""
    name = op if isinstance(op, str) else op.username
    row = s.execute(select(Operator).where(Operator.username == name)).scalar_one_or_none()
    if row is None:
        raise NotFound("no operator %r" % actor_name(op))
    if row.pending == "add":
        raise RoleError("operator %s awaits approval by a second issuer-admin (`icpurse operator approve %s`)"
                        % (row.username, row.username))
    if not row.active:
        raise RoleError("operator %s is disabled" % row.username)
    if roles is not None and row.role not in roles:
        raise RoleError("%s: operator %s has role %s; needs %s" % (
            action or "this action", row.username, row.role, " or ".join(roles)))
    return row


def _check_name(username: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", username):
        raise ValueError("operator names are 1-64 letters, digits, '.', '_' or '-'")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError("unknown role %r; roles: %s" % (role, ", ".join(ROLES)))


class People:
    """Operators (`Ledger.people`)."""

    def __init__(self, uow):
        self.uow = uow

    def add_operator(self, username: str, password: str, role: str, display_name: str = "",
                     by: Operator | str | None = None) -> OperatorView:
        """Request a new operator (module docstring: four eyes, bootstrap). `by` (an issuer-admin) is
        required once any operator exists. Returns the operator: `pending` is 'add' until a second
        issuer-admin approves it (`approve_operator`)."""
        _check_role(role)
        _check_name(username)
        pw_hash = hash_password(password)  # outside the transaction: slow on purpose

        def do(s):
            count = s.execute(select(func.count()).select_from(Operator)).scalar_one()
            admin = None
            if count == 0:
                if role != "issuer-admin":
                    raise InvalidStateError("the first operator of a ledger must be an issuer-admin")
                bootstrap = True
            else:
                if by is None:
                    raise AuthenticationError("adding an operator needs an issuer-admin (by=...)")
                admin = operator_row(s, by, ADMIN, "add an operator")
                admins = s.execute(select(func.count()).select_from(Operator)
                                   .where(Operator.role == "issuer-admin")).scalar_one()
                bootstrap = role == "issuer-admin" and admins == 1
            if s.execute(select(Operator).where(Operator.username == username)).first():
                raise InvalidStateError("operator %s already exists" % username)
            op = Operator(username=username, display_name=display_name or username, role=role,
                          password_hash=pw_hash, active=bootstrap, created_at=self.uow.now(),
                          pending=None if bootstrap else "add", requested_by=admin.id if admin else None)
            s.add(op)
            s.flush()
            self.uow.audit(s, admin or op, "operator.add", username=username, role=role, bootstrap=bootstrap,
                           approved=bootstrap)
            return operator_view(op)

        return self.uow.run("operator.add", by, do, details={"username": username, "role": role})

    def request_role(self, admin: Operator | str, username: str, role: str) -> OperatorView:
        """Request a role change for `username`; it takes effect when a second issuer-admin approves."""
        _check_role(role)

        def do(s):
            a = operator_row(s, admin, ADMIN, "change an operator's role")
            op = self._row(s, username)
            if op.id == a.id:
                raise SeparationOfDutiesError("%s cannot change its own role: another issuer-admin requests it" %
                                              a.username)
            if op.pending in ("add", "password"):
                raise InvalidStateError("operator %s awaits approval of its %s first" % (
                    username, "addition" if op.pending == "add" else "password reset"))
            if op.role == role:
                raise InvalidStateError("operator %s already has role %s" % (username, role))
            op.pending, op.pending_role, op.requested_by = "role", role, a.id
            self.uow.audit(s, a, "operator.role_requested", username=username, role=role, was=op.role)
            return operator_view(op)

        return self.uow.run("operator.role_requested", admin, do, details={"username": username, "role": role})

    def approve_operator(self, admin: Operator | str, username: str) -> OperatorView:
        """A second issuer-admin approves the pending addition or role change of `username`: not the
        admin who requested it, not the operator it affects."""
        def do(s):
            a = operator_row(s, admin, ADMIN, "approve an operator")
            op = self._row(s, username)
            if op.pending is None:
                raise InvalidStateError("operator %s has nothing awaiting approval" % username)
            if a.id in (op.id, op.requested_by):
                requester = s.get(Operator, op.requested_by) if op.requested_by else None
                raise SeparationOfDutiesError(
                    "%s needs approval by an issuer-admin other than %s%s" % (
                        {"add": "adding %s", "password": "the password reset of %s"}.get(
                            op.pending, "the role change of %s") % username,
                        requester.username if requester else username,
                        "" if requester is None or requester.id == op.id else " (who requested it) and %s" % username))
            what = op.pending
            if what == "add":
                op.active = True
            elif what == "password":  # an admin's reset (reset_password)
                op.password_hash, op.pending_password_hash = op.pending_password_hash, None
            else:
                old, op.role = op.role, op.pending_role
                if op.db_role is not None:  # PostgreSQL: its login follows its new job
                    pgroles.regrant(s, op.db_role, op.role)
            op.pending, op.pending_role, op.approved_by = None, None, a.id
            self.uow.audit(s, a, "operator.approve", username=username, what=what, role=op.role,
                           **({"was": old} if what == "role" else {}))
            return operator_view(op)

        return self.uow.run("operator.approve", admin, do, details={"username": username})

    @staticmethod
    def _row(s, username: str) -> Operator:
        op = s.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
        if op is None:
            raise NotFound("no operator %r" % username)
        return op

    def authenticate_operator(self, username: str, password: str) -> OperatorView:
        """The operator if the password is right; AuthenticationError (audited) otherwise. A hash below
        the password policy is re-hashed with the password just given (audited `operator.rehash`).
        On a connection bound to an operator's own database login (PostgreSQL), the server checked the
        password: the operator must be the login's."""
        bound = self.uow.bound_operator
        with self.uow.read() as s:
            op = s.execute(select(Operator).where(Operator.username == username)).scalar_one_or_none()
            if op is not None and bound is None:
                _ = op.password_hash  # deferred column: load it while the session is open
        if bound is not None:
            ok = op is not None and op.username == bound and op.active and op.pending != "add"
        else:
            ok = op is not None and op.active and op.pending != "add" and verify_password(password, op.password_hash)
        new_hash = hash_password(password) if ok and bound is None and needs_rehash(op.password_hash) else None

        def do(s):
            if not ok:
                raise AuthenticationError("wrong operator name or password")
            if new_hash is not None:
                row = self._row(s, username)
                row.password_hash = new_hash
                self.uow.audit(s, username, "operator.rehash")
            self.uow.audit(s, username, "operator.login")
            return operator_view(op)

        return self.uow.run("operator.login", username if bound is None else bound, do)

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        """The operator changes its own password (on PostgreSQL its database login's too)."""
        op = self.authenticate_operator(username, old_password)
        pw_hash = hash_password(new_password)

        def do(s):
            row = operator_row(s, op)
            row.password_hash = pw_hash
            if self.uow.bound_operator is not None:
                pgroles.set_own_password(s, new_password)
            self.uow.audit(s, op, "operator.change_password")

        self.uow.run("operator.change_password", op, do)

    def create_login(self, admin: Operator | str, username: str, password: str,
                     db_role: str | None = None) -> str:
        """PostgreSQL: create (or reset) `username`'s own database login role, member of its job role,
        on a connection allowed to create roles (the ledger's owner), by an issuer-admin other than
        `username`. Returns the role's name (default pgroles.login_role)."""
        if self.uow.engine.dialect.name != "postgresql":
            raise InvalidStateError("database logins are a PostgreSQL feature; a SQLite ledger is one workstation's "
                                    "file, its owner is trusted")
        if len(password) < 8:
            raise ValueError("password too short: at least 8 characters")

        def do(s):
            a = operator_row(s, admin, ADMIN, "create an operator's database login")
            op = self._row(s, username)
            if op.id == a.id:
                raise SeparationOfDutiesError("%s cannot create its own database login: another issuer-admin does"
                                              % a.username)
            database = s.get_bind().url.database if hasattr(s.get_bind(), "url") else None
            role_name = db_role or pgroles.login_role(database or self.uow.engine.url.database, username)
            pgroles.make_login(s, role_name, op.role, password)
            op.db_role = role_name
            self.uow.audit(s, a, "operator.login_created", username=username, db_role=role_name, role=op.role)
            return role_name

        return self.uow.run("operator.login_created", admin, do, details={"username": username})

    def reset_password(self, admin: Operator | str, username: str, new_password: str, reason: str = "") -> OperatorView:
        """An issuer-admin asks to set another operator's password (forgotten, handed over). Four eyes,
        as for every change to who an operator is: whoever sets a password can act as that operator
        (and so be the "second pair of eyes" of its own request), so the reset takes effect only when
        a second issuer-admin approves it (`approve_operator`) — not the requester, not the operator.
        Audited with the admin, the operator and the reason; the admin never learns the old password.
        An operator with its own PostgreSQL login signs in with the server's password: that one is
        reset with `create_login` (`icpurse operator login NAME`) instead."""
        if len(new_password) < 8:
            raise ValueError("password too short: at least 8 characters")
        pw_hash = hash_password(new_password)  # outside the transaction: slow on purpose

        def do(s):
            a = operator_row(s, admin, ADMIN, "reset an operator's password")
            op = self._row(s, username)
            if op.id == a.id:
                raise SeparationOfDutiesError("%s cannot reset its own password: `icpurse operator passwd` changes it"
                                              % a.username)
            if op.db_role is not None:
                raise InvalidStateError("operator %s signs in with its own database login: an issuer-admin resets its "
                                        "password with `icpurse operator login %s`" % (username, username))
            if op.pending is not None:
                raise InvalidStateError("operator %s has a change awaiting approval (%s): approve or settle it first"
                                        % (username, op.pending))
            op.pending, op.pending_password_hash, op.requested_by = "password", pw_hash, a.id
            self.uow.audit(s, a, "operator.reset_requested", username=username, reason=reason)
            return operator_view(op)

        return self.uow.run("operator.reset_requested", admin, do, details={"username": username})

    def set_operator_active(self, admin: Operator | str, username: str, active: bool) -> None:
        def do(s):
            a = operator_row(s, admin, ADMIN, "enable/disable an operator")
            op = self._row(s, username)
            if op.id == a.id:
                raise SeparationOfDutiesError("%s cannot enable or disable itself" % a.username)
            op.active = active
            self.uow.audit(s, a, "operator.enable" if active else "operator.disable", username=username)

        self.uow.run("operator.set_active", admin, do, details={"username": username})

    def operators(self) -> list[OperatorView]:
        with self.uow.read() as s:
            return [operator_view(o) for o in s.execute(select(Operator).order_by(Operator.username)).scalars()]

    def operator_id(self, username: str) -> int:
        """The id of operator `username` (NotFound)."""
        with self.uow.read() as s:
            return self._row(s, username).id
