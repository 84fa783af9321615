# micropython: yes
"""What every MicroPython module of icpurse shares: the one `const` shim and the range checks of the
generated codecs (firmware/codec.py, host/codec.py).

`const` is MicroPython's: `_NAME = const(1)` is folded into the bytecode by the compiler (it
recognises the name `const`, wherever it was imported from) and, with a leading underscore, takes
no RAM at all. CPython gets the identity function. Import it from here, never write the fallback
again:

    from icpurse.protocol.mpy import const
"""
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # stand-in: the stub's const is generic
        return x


# 1 << bits for every field width up to 64, made once: on a 32-bit MicroPython 1 << 32 is a long
# integer, and building it in every check allocated one per field of every record encoded.
_LIMIT = tuple(1 << b for b in range(65))


def check_uint(value, bits, name):
    if not 0 <= value < _LIMIT[bits]:
        raise ValueError("%s out of range: %r" % (name, value))


def check_sint(value, bits, name):
    if not -_LIMIT[bits - 1] <= value < _LIMIT[bits - 1]:
        raise ValueError("%s out of range: %r" % (name, value))


def check_len(value, n, name):
    if len(value) != n:
        raise ValueError("%s must be %d bytes, got %d" % (name, n, len(value)))


def need(buf, off, n, name):
    if off < 0 or len(buf) - off < n:
        raise ValueError("%s needs %d bytes at offset %d, got %d" % (name, n, off, len(buf) - off))
