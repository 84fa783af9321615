"""`Ledger`: the issuer's ledger service used by the CLI and the other parts, and `open_ledger`."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from icpurse.host.ledger import bookkeeping as bk
from icpurse.host.ledger.blacklist import BlacklistMixin
from icpurse.host.ledger.core import CHINA_STANDARD_TIME, DEFAULT_CUTOFF, utc_now
from icpurse.host.ledger.db import create_ledger_engine, migrate, resolve_url
from icpurse.host.ledger.errors import InvalidStateError
from icpurse.host.ledger.issuance import IssuanceMixin
from icpurse.host.ledger.lifecycle import LifecycleMixin
from icpurse.host.ledger.models import JournalEntry, Operator
from icpurse.host.ledger.people import PeopleMixin
from icpurse.host.ledger.personalisation import PersonalisationMixin
from icpurse.host.ledger.rekey import RekeyMixin
from icpurse.host.ledger.storeops import StoreOpsMixin
from icpurse.host.ledger.topups import TopupMixin


class Ledger(PeopleMixin, IssuanceMixin, PersonalisationMixin, TopupMixin, BlacklistMixin, StoreOpsMixin, LifecycleMixin,
             RekeyMixin):
    """The issuer's ledger. Every state-changing method writes its audit entry in the same
    transaction; rule refusals raise a `Refused` subclass and are audited too."""

    # --- bookkeeping views and bookings used by store operations ---

    def outstanding_balance(self, card: str | None = None) -> int:
        """Outstanding prepaid balance in fen (预收资金余额): of one card, or in total."""
        with self.session() as s:
            return bk.outstanding(s, self._card(s, card) if card is not None else None)

    def unbalanced_entries(self) -> list[int]:
        """Ids of journal entries that do not balance (should always be empty)."""
        with self.session() as s:
            return bk.unbalanced_entries(s)

    def trial_balance(self) -> dict[str, int]:
        with self.session() as s:
            return bk.trial_balance(s)

    def book_redemption(self, card_number: str, amount: int, key: str, *, terminal: str | None = None,
                        operator: Operator | str | None = None) -> JournalEntry:
        """Value redeemed at a store (a debit seen on the card or in a reader journal), booked once per key."""
        return self._simple_booking("redemption", card_number, amount, key, "redeemed", terminal, operator)

    def book_discrepancy(self, card_number: str, amount: int, key: str, reason: str, *,
                         operator: Operator | str | None = None) -> JournalEntry:
        """A reconciliation difference, booked to the explicit discrepancy account (amount > 0 lowers the
        card's ledger balance, amount < 0 raises it)."""
        return self._simple_booking("discrepancy", card_number, amount, key, "discrepancy", None, operator,
                                    reason=reason, allow_negative=True)

    def _simple_booking(self, kind, card_number, amount, key, counter_account, terminal, operator, reason="",
                        allow_negative=False):
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 or (amount < 0 and not allow_negative):
            raise ValueError("%s amount must be a %s integer number of fen, got %r" % (
                kind, "non-zero" if allow_negative else "positive", amount))

        def do(s):
            op = self._operator(s, operator) if operator is not None else None
            card = self._card(s, card_number)
            if kind == "redemption" and bk.outstanding(s, card) < amount:
                raise InvalidStateError("card %s: redemption of %d fen exceeds the ledger balance (no overdraft)" % (
                    card_number, amount))
            entry, created = bk.book(s, key, kind, [
                bk.Line(bk.prepaid_account(s, card), amount),
                bk.Line(bk.account(s, counter_account), -amount),
            ], self.now(), card=card, operator_id=op.id if op else None, memo=reason)
            if created:
                self._audit(s, op, "book." + kind, card=card_number, terminal=terminal, key=key, amount=amount,
                            reason=reason)
            return entry

        return self._run("book." + kind, operator, do, card=card_number, terminal=terminal, details={"key": key})


def open_ledger(url: str | None = None, *, data_key: bytes | None = None,
                clock: Callable[[], dt.datetime] = utc_now, business_tz: dt.tzinfo = CHINA_STANDARD_TIME,
                daily_cutoff: dt.time = DEFAULT_CUTOFF, echo: bool = False) -> Ledger:
    """Open (creating if needed) the ledger at `url` (default: $ICPURSE_DB, else SQLite in the user's
    data directory) and migrate its schema to head. `data_key` (>= 16 random bytes, from the keystore)
    encrypts holder ID numbers; without it named-card sales are refused."""
    engine = create_ledger_engine(resolve_url(url), echo=echo)
    migrate(engine)
    return Ledger(engine, data_key=data_key, clock=clock, business_tz=business_tz, daily_cutoff=daily_cutoff)
