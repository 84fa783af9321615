"""protocol/cardtime.py on the host: datetime and date conversions, calendar months. The integer
rules are in tests/firmware/test_cardtime_integers.py (run under MicroPython too). Expected values are
worked out by hand from the calendar."""
import datetime as dt

import pytest

from icpurse.protocol import cardtime

UTC = dt.timezone.utc
CST = dt.timezone(dt.timedelta(hours=8))  # Beijing
D = dt.date


def test_epoch():
    assert cardtime.EPOCH == dt.datetime(2000, 1, 1, tzinfo=UTC)
    assert cardtime.EPOCH_DATE == D(2000, 1, 1)


def test_seconds():
    assert cardtime.seconds(dt.datetime(2000, 1, 1, tzinfo=UTC)) == 0
    assert cardtime.seconds(dt.datetime(2000, 1, 1, 23, 59, 59, tzinfo=UTC)) == 86399
    assert cardtime.seconds(dt.datetime(2000, 1, 2, tzinfo=UTC)) == 86400
    # 2026-03-02 = card day 9557 (see tests/firmware/test_cardtime_integers.py), plus one hour
    assert cardtime.seconds(dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) == 825728400
    assert cardtime.seconds(dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)) == 825728400  # the same instant
    # whole seconds, rounded down (never up into the next second)
    assert cardtime.seconds(dt.datetime(2000, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)) == 0
    assert cardtime.seconds(dt.datetime(2026, 3, 2, 1, 0, 59, 999999, tzinfo=UTC)) == 825728459
    assert cardtime.seconds(dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)) == -1


def test_seconds_needs_a_time_zone():
    with pytest.raises(TypeError, match="aware datetime"):
        cardtime.seconds(dt.datetime(2026, 3, 2, 1, 0))


def test_day_of_a_date():
    assert cardtime.day(D(2000, 1, 1)) == 0
    assert cardtime.day(D(2000, 2, 29)) == 59  # 2000 is a leap year (divisible by 400)
    assert cardtime.day(D(2000, 3, 1)) == 60
    assert cardtime.day(D(2001, 1, 1)) == 366
    assert cardtime.day(D(2026, 3, 2)) == 9557
    # + 365 (to 2027-03-02) + 366 (to 2028-03-02, over 2028-02-29) + 365 (to 2029-03-02)
    assert cardtime.day(D(2029, 3, 2)) == 10653


def test_day_of_a_datetime_is_its_utc_day():
    assert cardtime.day(dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC)) == 9557
    assert cardtime.day(dt.datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)) == 9557
    assert cardtime.day(dt.datetime(2026, 3, 2, 7, 59, 59, tzinfo=CST)) == 9556  # 2026-03-01 23:59:59 UTC
    assert cardtime.day(dt.datetime(2026, 3, 2, 8, 0, tzinfo=CST)) == 9557


def test_back_to_datetime_and_date():
    assert cardtime.to_datetime(0) == dt.datetime(2000, 1, 1, tzinfo=UTC)
    assert cardtime.to_datetime(86399) == dt.datetime(2000, 1, 1, 23, 59, 59, tzinfo=UTC)
    assert cardtime.to_datetime(825728400) == dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert cardtime.to_datetime(825728400).utcoffset() == dt.timedelta(0)
    assert cardtime.to_date(0) == D(2000, 1, 1)
    assert cardtime.to_date(60) == D(2000, 3, 1)
    assert cardtime.to_date(9557) == D(2026, 3, 2)
    assert cardtime.to_date(10653) == D(2029, 3, 2)


@pytest.mark.parametrize("start, months, expected", [
    (D(2026, 1, 15), 1, D(2026, 2, 15)),
    (D(2026, 1, 29), 1, D(2026, 2, 28)),
    (D(2026, 1, 30), 1, D(2026, 2, 28)),
    (D(2026, 1, 31), 1, D(2026, 2, 28)),
    (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
    (D(2026, 3, 31), 1, D(2026, 4, 30)),
    (D(2026, 12, 15), 1, D(2027, 1, 15)),
    (D(2026, 11, 30), 3, D(2027, 2, 28)),
    (D(2026, 1, 15), 12, D(2027, 1, 15)),
    (D(2026, 3, 2), 36, D(2029, 3, 2)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2024, 2, 29), 48, D(2028, 2, 29)),
    (D(2099, 12, 31), 2, D(2100, 2, 28)),  # 2100 is not a leap year
    (D(2026, 1, 31), 0, D(2026, 1, 31)),
    (D(2026, 3, 31), -1, D(2026, 2, 28)),
    (D(2026, 1, 15), -1, D(2025, 12, 15)),
    (D(2026, 5, 31), -3, D(2026, 2, 28)),
])
def test_add_months_clamps_to_the_month_end(start, months, expected):
    assert cardtime.add_months(start, months) == expected
