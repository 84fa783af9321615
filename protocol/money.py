# micropython: yes
"""Money: integer fen (分) to yuan (元) text and back. The only place that does it.

Money is an integer number of fen everywhere (100 fen = 1 yuan), never a float: amounts are
parsed from text digit by digit and formatted with integer arithmetic. One formatter serves
every output; its parameters choose the form:

    fmt_yuan(123450)                                   '1,234.50 yuan'   messages (the default)
    fmt_yuan(120000)                                   '1,200 yuan'      whole yuan: no decimals
    fmt_yuan(123450, unit="", always_decimals=True)    '1,234.50'        report tables
    fmt_yuan(123450, unit="", sep="", always_decimals=True)
                                                       '1234.50'         CSV, the demo's totals
    fmt_yuan(-1234, unit="", sep="", symbol="Y", always_decimals=True)
                                                       '-Y12.34'         the reader's display

Plain Python written to compile under MicroPython (the reader's display uses it).
"""


def is_fen(value):
    """True for an integer amount of fen; False for bool, float, Decimal, str, None."""
    return isinstance(value, int) and not isinstance(value, bool)


def fmt_yuan(fen, unit=" yuan", sep=",", symbol="", always_decimals=False):
    """Integer fen -> yuan text: the minus sign, `symbol`, the whole yuan with `sep` between
    groups of three digits ('' for none), '.' and two decimals (left out for whole yuan unless
    `always_decimals`), then `unit` ('' for none). TypeError for anything but an integer."""
    if not is_fen(fen):
        raise TypeError("money is an integer number of fen, got %r" % (fen,))
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    whole, cents = fen // 100, fen % 100  # not divmod(): its tuple costs heap on the reader
    if sep and whole >= 1000:
        whole = _grouped(str(whole), sep)
    if cents or always_decimals:
        return "%s%s%s.%02d%s" % (sign, symbol, whole, cents, unit)
    return "%s%s%s%s" % (sign, symbol, whole, unit)


def _grouped(digits, sep):
    first = len(digits) % 3 or 3
    return sep.join([digits[:first]] + [digits[i:i + 3] for i in range(first, len(digits), 3)])


def _is_digits(text):
    # ASCII only: str.isdigit() also accepts full-width and superscript digits
    if not text:
        return False
    for c in text:
        if c < "0" or c > "9":
            return False
    return True


def parse_yuan(text):
    """Yuan text -> integer fen: '12' -> 1200, '12.5' -> 1250, '0.07' -> 7. ASCII digits with at
    most two decimals, no sign, no exponent, no thousands separator; white space around it is
    ignored. ValueError saying what an amount looks like otherwise."""
    if not isinstance(text, str):
        raise TypeError("an amount in yuan is text, got %r" % (text,))
    t = text.strip()
    dot = t.find(".")
    whole, frac = (t, "00") if dot < 0 else (t[:dot], t[dot + 1:])
    if not _is_digits(whole) or not _is_digits(frac) or len(frac) > 2:
        raise ValueError("an amount in yuan looks like 12 or 12.5 or 12.50, got %r" % text)
    return int(whole) * 100 + int((frac + "0")[:2])


def parse_fen(text):
    """Fen text -> integer fen: '1250' -> 1250. ASCII digits only (no sign, no decimals); white
    space around them is ignored. ValueError otherwise."""
    if not isinstance(text, str):
        raise TypeError("an amount in fen is text, got %r" % (text,))
    t = text.strip()
    if not _is_digits(t):
        raise ValueError("an amount in fen is a whole number such as 1250 (= 12.50 yuan), got %r" % text)
    return int(t)


def percent_of(fen, percent):
    """`percent` % of `fen`, rounded up to the next fen (a custody floor is a minimum)."""
    if not is_fen(fen):
        raise TypeError("money is an integer number of fen, got %r" % (fen,))
    return -((-fen * percent) // 100)
