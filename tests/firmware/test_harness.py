"""Proves the dual-run harness itself: runs under pytest (CPython) and under MicroPython via
tests/micropython/run.mjs.  Expected values are literal bytes, not derived from the code under test."""
import os
import struct
import sys

import mpytest


def test_firmware_package_imports():
    import icpurse.firmware

    assert icpurse.firmware.__name__ == "icpurse.firmware"


def test_interpreter_is_detected():
    # The runner's Node process only ever hosts MicroPython; pytest only CPython.
    assert mpytest.is_micropython() == (sys.implementation.name == "micropython")
    assert sys.implementation.name in ("micropython", "cpython")


def test_struct_little_endian_layout():
    assert struct.pack("<HI", 0x1234, 0xDEADBEEF) == b"\x34\x12\xef\xbe\xad\xde"
    assert struct.unpack("<i", b"\xff\xff\xff\xff") == (-1,)
    assert struct.calcsize("<BHI") == 7


def test_int_bytes_round_trip():
    # Positional byteorder only: MicroPython rejects the keyword form and signed=.
    assert (100000).to_bytes(4, "little") == b"\xa0\x86\x01\x00"
    assert int.from_bytes(b"\xa0\x86\x01\x00", "little") == 100000
    assert int.from_bytes(b"\x00\x01", "big") == 1


def test_raises_catches_expected_exception():
    with mpytest.raises(ValueError) as caught:
        int("not a number")
    assert isinstance(caught.value, ValueError)


def test_raises_accepts_tuple_and_match():
    with mpytest.raises((KeyError, IndexError)):
        [][1]
    with mpytest.raises(ValueError, match="fen"):
        raise ValueError("negative fen amount")


def test_raises_fails_when_nothing_raised():
    try:
        with mpytest.raises(ValueError):
            pass
    except AssertionError as e:
        assert "DID NOT RAISE" in str(e)
    else:
        raise AssertionError("mpytest.raises let a silent block pass")


def test_raises_fails_when_message_does_not_match():
    try:
        with mpytest.raises(ValueError, match="fen"):
            raise ValueError("other")
    except AssertionError as e:
        assert "fen" in str(e)
    else:
        raise AssertionError("mpytest.raises ignored match=")


def test_raises_lets_other_exceptions_through():
    try:
        with mpytest.raises(ValueError):
            raise KeyError("k")
    except KeyError:
        pass
    else:
        raise AssertionError("mpytest.raises swallowed an unexpected exception type")


def test_tmpdir_is_fresh_and_writable():
    a = mpytest.tmpdir()
    b = mpytest.tmpdir()
    assert a != b
    assert os.listdir(a) == []
    name = a + "/card.bin"
    with open(name, "wb") as f:
        f.write(b"\x01\x02\x03")
    with open(name, "rb") as f:
        assert f.read() == b"\x01\x02\x03"
    assert os.listdir(a) == ["card.bin"]


def test_alloc_bytes_sees_an_allocation():
    result, used = mpytest.alloc_bytes(bytearray, 4096)
    assert len(result) == 4096
    assert used >= 4096
