# micropython: yes
"""Card time: how the card, the reader and the back office count time. The only place that does.

The card epoch is 2000-01-01 00:00 UTC. Two units count from it (docs/card-layout.md):

- *card seconds* (u32): the reader's clock, journal record times, on-card log entry times,
  the time a card was personalised;
- *card days* (u16): the identity record's issue date and expiry, the day of a purse slot's day
  total, the day a reader signed in. A card day is the UTC day of the card seconds (a day is
  86,400 s: no time zones, no leap seconds), so 07:00 in Beijing (UTC+8) still falls in the
  previous card day.

The integer rules come first; they run on the reader too (MicroPython has no `datetime`). The
conversions from and to `datetime`/`date` and calendar-month arithmetic follow, for the host;
they need the standard `datetime` module and are not available where it is missing.

Plain Python written to compile under MicroPython (no f-strings, no typing).
"""
try:
    import datetime as _dt  # type: ignore[import-not-found]  # host only; absent from the MicroPython stubs
except ImportError:  # MicroPython on the reader: the integer rules only
    _dt = None

EPOCH_UNIX = 946684800  # 2000-01-01T00:00:00Z in Unix seconds
DAY = 86400  # seconds in a card day


def day_of_seconds(seconds):
    """Card seconds -> the card day they fall in."""
    return seconds // DAY


def from_unix(unix_seconds):
    """Unix seconds (since 1970-01-01 UTC, as `time.time()` counts) -> card seconds."""
    return unix_seconds - EPOCH_UNIX


# --- host: datetime and date -----------------------------------------------------------------

if _dt is not None:
    EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
    EPOCH_DATE = EPOCH.date()


def seconds(when):
    """An aware datetime -> card seconds (whole seconds, rounded down)."""
    if when.utcoffset() is None:
        raise TypeError("card time needs an aware datetime (with a time zone), got %r" % (when,))
    return (when - EPOCH) // _dt.timedelta(seconds=1)


def day(when):
    """A date, or an aware datetime (its UTC date) -> card day."""
    if isinstance(when, _dt.datetime):
        return day_of_seconds(seconds(when))
    return (when - EPOCH_DATE).days


def to_datetime(card_seconds):
    """Card seconds -> aware datetime in UTC."""
    return EPOCH + _dt.timedelta(seconds=card_seconds)


def to_date(card_day):
    """Card day -> date."""
    return EPOCH_DATE + _dt.timedelta(days=card_day)


def add_months(date, months):
    """`date` plus whole calendar months (negative: back), on the same day of the month, or on the
    month's last day when it is shorter (31 Jan + 1 month = 28 Feb, or 29 Feb in a leap year)."""
    y, m = divmod(date.month - 1 + months, 12)
    year, month = date.year + y, m + 1
    for d in (date.day, 30, 29, 28):
        try:
            return _dt.date(year, month, d)
        except ValueError:  # no such day in that month: try an earlier one
            continue
    raise AssertionError("every month has a 28th")
