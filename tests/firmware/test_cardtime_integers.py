"""The integer rules of protocol/cardtime.py, under real MicroPython and CPython (a dual-run file:
tests/test_micropython.py runs it under MicroPython, which has no `datetime`). Expected values are
worked out by hand. No pytest here."""
from icpurse.protocol import cardtime

# 2026-03-02 01:00 UTC. Unix days to 2026-01-01: 56 years, 14 of them leap (1972..2024) ->
# 56 * 365 + 14 = 20454; + 31 (Jan) + 28 (Feb) + 1 -> 20514 days; * 86400 + 3600 s.
UNIX_2026_03_02_0100 = 1772413200
# The same instant in card seconds: card day 20514 - 10957 = 9557, plus one hour.
CARD_2026_03_02_0100 = 9557 * 86400 + 3600


def test_epoch_and_day():
    # 1970..1999: 30 years, 7 leap days (1972..1996) -> 10957 days
    assert cardtime.EPOCH_UNIX == 10957 * 86400 == 946684800
    assert cardtime.DAY == 24 * 60 * 60


def test_from_unix():
    assert cardtime.from_unix(946684800) == 0
    assert cardtime.from_unix(946684799) == -1
    assert cardtime.from_unix(UNIX_2026_03_02_0100) == CARD_2026_03_02_0100 == 825728400


def test_day_of_seconds_at_the_day_boundaries():
    assert cardtime.day_of_seconds(0) == 0
    assert cardtime.day_of_seconds(86399) == 0
    assert cardtime.day_of_seconds(86400) == 1
    assert cardtime.day_of_seconds(CARD_2026_03_02_0100) == 9557
    assert cardtime.day_of_seconds(9557 * 86400 - 1) == 9556  # 2026-03-01 23:59:59 UTC
    # the last u32 card second: 49710 * 86400 = 4294944000 <= 2**32 - 1
    assert cardtime.day_of_seconds(0xFFFFFFFF) == 49710
