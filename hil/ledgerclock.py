"""The manual ledger clock of the demo, the rig and the tests: the ledger's `clock` callable, moved
by hand, so a business day runs in seconds with no sleeping."""
import datetime as dt


class ManualClock:
    """Returns `t` (an aware datetime) until it is moved: `advance(minutes=5)` or `t = ...`."""

    def __init__(self, start):
        self.t = start

    def __call__(self):
        return self.t

    def advance(self, **kw):
        """Move forward by `datetime.timedelta(**kw)`."""
        self.t += dt.timedelta(**kw)
