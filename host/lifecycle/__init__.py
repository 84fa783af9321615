"""Holder lifecycle at the issuer's counter: lost named cards and their replacement, redemption
(退卡), refunds of goods to the card, expired cards (re-activate or exchange), closing a card.

Each flow checks the card (host/cards `IssuerCard`: key B, every MAC verified), asks the ledger
(`host.ledger.lifecycle_records`, audited, refusals change nothing) and writes the card with the one purse
implementation (`firmware/purse.py`). Ledger first, card second, and both steps are idempotent, so
a card pulled mid-way is finished by running the same flow again. Failures are the host card
exceptions (host/cards/errors.py).
"""
from icpurse.host.lifecycle.flows import (
    close_card, exchange_card, reactivate_card, redeem_card, refund_goods, replace_lost_card, report_lost,
)

__all__ = ["report_lost", "replace_lost_card", "redeem_card", "refund_goods", "reactivate_card", "exchange_card",
           "close_card"]
