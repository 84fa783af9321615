"""Typed command-line values, checked by click before a command runs: a value typed wrong is a
usage error (exit 2, one `Error:` line naming the option, never a traceback) and nothing is opened,
read or written. One type per kind of value the commands take:

| type | takes | gives |
|---|---|---|
| `UID` | a card UID, 4, 7 or 10 bytes of ASCII hex (`04A1B2C3`, `04:a1:b2:c3`) | upper-case hex |
| `FEN` | an amount in integer fen, ASCII digits, > 0 (`1250`) | int |
| `YUAN` | an amount in yuan, at most two decimals (`12.50`) | int fen |
| `DATE` | a calendar date YYYY-MM-DD that a card can carry (2000-01-01 .. 2179-06-06) | date |
| `TIME_OF_DAY` | HH:MM, 24-hour clock | time |
| `TERMINAL` | an 8-digit terminal number | str |
| `CARD_NUMBER` | a card number as typed: ASCII digits (the programme's scheme is checked later) | str |

`uid_text(text, where)` is the same UID rule for lines of a file (`--uids-file`).
"""
from __future__ import annotations

import datetime as dt
import re

import click

from icpurse.protocol import cardtime
from icpurse.protocol.money import parse_fen, parse_yuan

_HEX = frozenset("0123456789ABCDEF")
UID_BYTES = (4, 7, 10)  # ISO/IEC 14443-3 single, double and triple size UIDs
_CARD_DAY_MAX = 0xFFFF  # dates on a card are u16 card days (docs/card-layout.md)
FIRST_DATE = dt.date(2000, 1, 1)  # the card epoch
MAX_FEN = 0x7FFFFFFF  # a purse value block holds a signed 32-bit number of fen


def last_date():
    return cardtime.to_date(_CARD_DAY_MAX)


def uid_text(text, where="UID"):
    """A UID as upper-case hex; click.BadParameter naming `where` otherwise."""
    raw = "".join(str(text).split()).replace(":", "").upper()
    if not raw or any(c not in _HEX for c in raw) or len(raw) // 2 not in UID_BYTES or len(raw) % 2:
        raise click.BadParameter("a card UID is 4, 7 or 10 bytes of hex (8, 14 or 20 hex digits, e.g. 04A1B2C3), "
                                 "got %r" % (text,), param_hint=where)
    return raw


class _Type(click.ParamType):
    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)

    def parse(self, text):  # pragma: no cover - each type has its own
        raise NotImplementedError


class UidType(_Type):
    name = "uid"

    def parse(self, text):
        try:
            return uid_text(text)
        except click.BadParameter as e:
            raise ValueError(e.message) from None


def _amount(fen, text):
    if fen <= 0:
        raise ValueError("an amount is more than 0, got %r" % text)
    if fen > MAX_FEN:
        raise ValueError("an amount is at most 21,474,836.47 yuan (%d fen: what a card can hold), got %r" % (
            MAX_FEN, text))
    return fen


class FenType(_Type):
    name = "fen"

    def parse(self, text):
        try:
            fen = parse_fen(text.strip())
        except ValueError:
            raise ValueError("an amount in fen is a whole number of ASCII digits (1250 = 12.50 yuan), got %r; for "
                             "yuan use --yuan" % text) from None
        return _amount(fen, text)


class YuanType(_Type):
    name = "yuan"

    def parse(self, text):
        return _amount(parse_yuan(text), text)


class DateType(_Type):
    name = "date"

    def parse(self, text):
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
            raise ValueError("a date is YYYY-MM-DD (ASCII digits), got %r" % text)
        try:
            day = dt.date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError("no such date: %r" % text) from None
        if not FIRST_DATE <= day <= last_date():
            raise ValueError("%s is outside the dates the ledger and the cards keep (%s to %s)" % (
                day, FIRST_DATE, last_date()))
        return day


class TimeOfDayType(_Type):
    name = "HH:MM"

    def parse(self, text):
        m = re.fullmatch(r"([0-9]{2}):([0-9]{2})", text.strip())
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise ValueError("a time of day is HH:MM on the 24-hour clock (e.g. 23:00), got %r" % text)
        return dt.time(int(m.group(1)), int(m.group(2)))


class TerminalType(_Type):
    name = "terminal"

    def parse(self, text):
        if not re.fullmatch(r"[0-9]{8}", text):
            raise ValueError("a terminal number is 8 ASCII digits (e.g. 10000001), got %r" % text)
        return text


class CardNumberType(_Type):
    name = "card"

    def parse(self, text):
        if not re.fullmatch(r"[0-9]{1,32}", text):
            raise ValueError("a card number is ASCII digits (as printed on the card), got %r" % text)
        return text


UID, FEN, YUAN, DATE = UidType(), FenType(), YuanType(), DateType()
TIME_OF_DAY, TERMINAL, CARD_NUMBER = TimeOfDayType(), TerminalType(), CardNumberType()
