"""The issuer's side of a card: `IssuerCard` (host/cards/issuer.py), the one class through which
every issuer flow opens, reads and writes a card with key B, the ledger-id -> card `txn` mapping
`card_txn`, and the one set of exceptions those flows raise (host/cards/errors.py)."""
from icpurse.host.cards.errors import (
    CardFlowError, CardGone, CardProblem, IntegrityProblem, OperationRefused, WriteInterrupted, WrongCardType,
)
from icpurse.host.cards.issuer import ABSENT, COMMITTED, ISSUER_TERMINAL, UNKNOWN, IssuerCard, card_txn

__all__ = ["IssuerCard", "card_txn", "ISSUER_TERMINAL", "COMMITTED", "ABSENT", "UNKNOWN", "CardFlowError",
           "OperationRefused", "CardProblem", "CardGone", "WrongCardType", "WriteInterrupted", "IntegrityProblem"]
