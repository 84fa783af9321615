"""Business days and quarters. A business day ends at the ledger's daily cut-off (日切, 23:00 China
Standard Time by default): anything booked after the cut-off belongs to the next business day."""
import datetime as dt


def business_day(when, tz, cutoff):
    local = when.astimezone(tz)
    day = local.date()
    return day + dt.timedelta(days=1) if cutoff != dt.time(0, 0) and local.time() >= cutoff else day


def day_end(day, tz, cutoff):
    """The instant business day `day` closes (its cut-off), as an aware datetime."""
    if cutoff == dt.time(0, 0):
        return dt.datetime.combine(day + dt.timedelta(days=1), cutoff, tzinfo=tz)
    return dt.datetime.combine(day, cutoff, tzinfo=tz)


def quarter_of(day):
    return (day.year, (day.month - 1) // 3 + 1)


def quarter_label(q):
    return "%dQ%d" % q


def quarter_last_day(q):
    year, n = q
    if n == 4:
        return dt.date(year, 12, 31)
    return dt.date(year, 3 * n + 1, 1) - dt.timedelta(days=1)


def previous_quarter(q):
    year, n = q
    return (year - 1, 4) if n == 1 else (year, n - 1)


def quarters(first, last):
    """Every quarter from the one holding `first` to the one holding `last`."""
    q, end = quarter_of(first), quarter_of(last)
    out = []
    while q <= end:
        out.append(q)
        q = (q[0] + 1, 1) if q[1] == 4 else (q[0], q[1] + 1)
    return out


def days(first, last):
    out, d = [], first
    while d <= last:
        out.append(d)
        d += dt.timedelta(days=1)
    return out
