"""protocol/money.py under real MicroPython and CPython (a dual-run file: tests/test_micropython.py
runs it under MicroPython). Every expected value is written out by hand. No pytest here."""
import mpytest
from icpurse.protocol.money import fmt_yuan, is_fen, parse_fen, parse_yuan, percent_of

REPORT = {"unit": "", "always_decimals": True}  # report tables
PLAIN = {"unit": "", "sep": "", "always_decimals": True}  # CSV, the demo's totals
DISPLAY = {"unit": "", "sep": "", "symbol": "Y", "always_decimals": True}  # the reader's display


def test_message_form_drops_zero_decimals_and_groups_thousands():
    cases = (
        (0, "0 yuan"),
        (1, "0.01 yuan"),
        (10, "0.10 yuan"),
        (99, "0.99 yuan"),
        (100, "1 yuan"),
        (1250, "12.50 yuan"),
        (20000, "200 yuan"),
        (99999, "999.99 yuan"),
        (100000, "1,000 yuan"),
        (123456, "1,234.56 yuan"),
        (4294967295, "42,949,672.95 yuan"),
        (100000000001, "1,000,000,000.01 yuan"),
    )
    for fen, text in cases:
        assert fmt_yuan(fen) == text, (fen, fmt_yuan(fen))


def test_negative_amounts_put_the_sign_first():
    assert fmt_yuan(-5) == "-0.05 yuan"
    assert fmt_yuan(-100) == "-1 yuan"
    assert fmt_yuan(-100000) == "-1,000 yuan"
    assert fmt_yuan(-123456) == "-1,234.56 yuan"
    assert fmt_yuan(-5, **REPORT) == "-0.05"
    assert fmt_yuan(-100000000, **PLAIN) == "-1000000.00"
    assert fmt_yuan(-1234, **DISPLAY) == "-Y12.34"


def test_report_csv_and_display_forms():
    assert fmt_yuan(0, **REPORT) == "0.00"
    assert fmt_yuan(100000, **REPORT) == "1,000.00"
    assert fmt_yuan(123456, **REPORT) == "1,234.56"
    assert fmt_yuan(100000000001, **REPORT) == "1,000,000,000.01"
    assert fmt_yuan(123456, **PLAIN) == "1234.56"
    assert fmt_yuan(7, **PLAIN) == "0.07"
    assert fmt_yuan(0, **DISPLAY) == "Y0.00"
    assert fmt_yuan(1250, **DISPLAY) == "Y12.50"
    assert fmt_yuan(123456, **DISPLAY) == "Y1234.56"
    assert fmt_yuan(123456789, sep=" ") == "1 234 567.89 yuan"
    assert fmt_yuan(999, sep=" ") == "9.99 yuan"


def test_large_values_stay_exact():
    # beyond 2**53: a float would have lost the last fen
    assert fmt_yuan(123456789012345678901) == "1,234,567,890,123,456,789.01 yuan"
    assert fmt_yuan(123456789012345678901, **PLAIN) == "1234567890123456789.01"


def test_only_integers_are_money():
    for bad in (1.5, 100.0, True, False, "100", None):
        with mpytest.raises(TypeError, match="integer number of fen"):
            fmt_yuan(bad)
    assert is_fen(0) and is_fen(-1) and is_fen(10 ** 30)
    for bad in (True, 1.0, "1", None):
        assert not is_fen(bad), bad


def test_parse_yuan():
    cases = (
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("0.07", 7),
        ("19.99", 1999),
        ("100", 10000),
        ("0", 0),
        ("0.00", 0),
        ("007.10", 710),
        (" 12.50 ", 1250),
        ("\t3\n", 300),
        ("42949672.95", 4294967295),
        ("12345678901234567890", 1234567890123456789000),
    )
    for text, fen in cases:
        assert parse_yuan(text) == fen, (text, parse_yuan(text))


def test_parse_yuan_refuses_what_is_not_an_amount():
    bad = ("1.234", "12.505", "-1", "+1", "-0.5", "\uff11\uff12", "1\uff12", "\u00b2", "1e3", "1E3", "",
           "   ", "12.", ".5", "1,000", "1 000", "nan", "inf", "12..5", "1.2.3", "0x10", "12 yuan",
           "\u00a512", "1_000")
    for text in bad:
        with mpytest.raises(ValueError, match="12 or 12.5 or 12.50") as e:
            parse_yuan(text)
        assert repr(text) in str(e.value), str(e.value)
    for text in (None, 12, b"12"):
        with mpytest.raises(TypeError):
            parse_yuan(text)


def test_parse_fen():
    assert parse_fen("1250") == 1250
    assert parse_fen("0") == 0
    assert parse_fen("000") == 0
    assert parse_fen(" 7 ") == 7
    for text in ("12.50", "-1", "+1", "\uff11\uff12", "\u00b2", "1e3", "", " ", "1_000", "1,000"):
        with mpytest.raises(ValueError, match="whole number"):
            parse_fen(text)
    with mpytest.raises(TypeError):
        parse_fen(1250)


def test_percent_of_rounds_up_to_the_next_fen():
    assert percent_of(155400, 30) == 46620
    assert percent_of(101, 30) == 31  # 30.3 fen
    assert percent_of(100, 30) == 30
    assert percent_of(1, 1) == 1  # 0.01 fen
    assert percent_of(0, 30) == 0
    with mpytest.raises(TypeError):
        percent_of(1.5, 30)
