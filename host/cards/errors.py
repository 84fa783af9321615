"""The one set of exceptions of the issuer's card flows: top-up and void, re-confirmation,
activation (face value), `card recover`, personalisation, re-keying and the holder lifecycle.

Each says what happened and what to do next, and carries the exit code the CLI returns for it
(README, "Exit codes"): 1 refused, 4 card problem, 5 integrity problem. Flows raise these, never
their own; `IssuerCard` (host/cards/issuer.py) turns the purse's refusals (`purse.Refused`) and
the card's errors (`MifareError`) into them.
"""


class CardFlowError(Exception):
    """Refused or failed; the message says what happened and what to do next."""

    exit_code = 1
    audited = False  # set when the ledger already wrote this refusal to its audit log
    refusal = None  # codec.R_* when the card's purse rules refused: nothing of the operation was written
    reason = None  # ... and the purse's own words for it
    cause = None  # the card's (or reader's) own error behind a card problem


class OperationRefused(CardFlowError):
    """Refused by a rule (the ledger's, the programme's, the card's purse rules): nothing was done."""

    exit_code = 1


class CardProblem(CardFlowError):
    """The card: not on the reader, of another issuer or key version, of the wrong type, or it did
    not answer. Present the right card (again)."""

    exit_code = 4


class CardGone(CardProblem):
    """No card came, or the card left the field."""


class WrongCardType(CardProblem):
    """Not the kind of card the operation needs (e.g. not a blank of the programme's type)."""


class WriteInterrupted(CardProblem):
    """A card write broke off: whether it landed is unknown until the card is read again (the flow
    that started it settles it: run it again with the card on the reader)."""


class IntegrityProblem(CardFlowError):
    """The card contradicts itself or the ledger: a forged or corrupt record, a UID that is not the
    registered one, a counter below one seen before (an old copy). Report the card."""

    exit_code = 5


__all__ = ["CardFlowError", "OperationRefused", "CardProblem", "CardGone", "WrongCardType", "WriteInterrupted",
           "IntegrityProblem"]
