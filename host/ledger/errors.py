"""Ledger errors. `Refused` errors are rule refusals: nothing is changed and the refusal itself is
written to the audit log."""


class LedgerError(Exception):
    """Base class of every ledger error."""

    exit_code = 1  # refused or failed (the icpurse command's exit code)


class NotFound(LedgerError, LookupError):
    """No such card, operator, terminal, sale, top-up or programme."""


class Refused(LedgerError):
    """An operation refused by a rule; the ledger is unchanged and the refusal is audited."""


class SeparationOfDutiesError(Refused, PermissionError):
    """The same operator or role would hold two incompatible duties (e.g. sell and activate)."""


class RoleError(Refused, PermissionError):
    """The operator's role may not perform this action."""


class AuthenticationError(Refused, PermissionError):
    """Unknown operator, wrong password or disabled operator (deliberately not told apart)."""


class InvalidStateError(Refused):
    """The card, sale or top-up is not in a state that allows this action."""


class CapExceededError(Refused):
    """The balance after the operation would exceed the programme / profile cap."""


class ProgrammeViolationError(Refused):
    """The programme breaks its regulatory profile and no override with a reason was given."""

    def __init__(self, message, violations=()):
        super().__init__(message)
        self.violations = list(violations)


class BlacklistedError(Refused):
    """The card is on the blacklist."""


class RealNameRequiredError(Refused):
    """The profile requires real-name capture for this purchase or top-up."""


class NonCashRequiredError(Refused):
    """The profile requires a non-cash payment (or forbids this payment method) here."""


class IdempotencyConflict(LedgerError):
    """An idempotency key (booking key, transaction id) reused for a different booking."""


class UnbalancedEntryError(LedgerError, ValueError):
    """A journal entry whose postings do not sum to zero, or with fewer than two postings."""


class LoginError(LedgerError):
    """PostgreSQL refused the operator's own database login (no such login, wrong password)."""


class DataKeyError(LedgerError):
    """The ledger data key is missing or wrong (holder ID numbers cannot be stored or read)."""


class IdentityMismatchError(Refused):
    """The ID presented does not match the named card's registered holder (lost report, 退卡)."""


class LifecycleRefused(Refused):
    """A holder lifecycle action the card's programme or regulatory profile does not allow
    (e.g. reporting an anonymous card lost, redeeming too early)."""


class CashLimitError(Refused):
    """A cash payout above the profile's limit: pay to a same-name bank account (or to the card)."""
