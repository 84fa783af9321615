"""The manual ledger clock (one implementation, hil/ledgerclock.py) and the tests' start time."""
import datetime as dt

from icpurse.hil.ledgerclock import ManualClock as _Clock

START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 China Standard Time


class ManualClock(_Clock):
    def __init__(self, start=START):
        super().__init__(start)
