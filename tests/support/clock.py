"""The manual ledger clock: the ledger's `clock` callable, moved by hand (no sleeps)."""
import datetime as dt

START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 China Standard Time


class ManualClock:
    """Returns `t` (an aware datetime) until a test moves it: `advance(minutes=5)` or `t = ...`."""

    def __init__(self, start=START):
        self.t = start

    def __call__(self):
        return self.t

    def advance(self, **kw):
        """Move forward by `datetime.timedelta(**kw)`."""
        self.t += dt.timedelta(**kw)
