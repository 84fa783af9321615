"""Money formatting from integer fen, with integer arithmetic only."""


def _check(fen):
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("money is an integer number of fen, got %r" % (fen,))


def yuan(fen):
    """123456 -> '1,234.56'; -5 -> '-0.05'."""
    _check(fen)
    sign = "-" if fen < 0 else ""
    y, f = divmod(abs(fen), 100)
    return "%s%s.%02d" % (sign, "{:,}".format(y), f)


def yuan_plain(fen):
    """123456 -> '1234.56' (CSV: no thousands separator)."""
    _check(fen)
    sign = "-" if fen < 0 else ""
    y, f = divmod(abs(fen), 100)
    return "%s%d.%02d" % (sign, y, f)


def percent_of(fen, percent):
    """`percent` % of `fen`, rounded up to the next fen (a custody floor is a minimum)."""
    _check(fen)
    return -((-fen * percent) // 100)
