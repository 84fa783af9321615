"""The v2 header's card number (5-byte integer) <-> the 6 BCD bytes the blacklist and the link
carry, under real MicroPython and CPython (a dual-run file). Every expected value is written out
by hand. No pytest here."""
import mpytest
from icpurse.firmware import purse2
from icpurse.protocol.mpy import check_sint, check_uint

CASES = (
    (b"\x00\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00\x00"),
    (b"\x00\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x01"),
    (b"\x00\x00\x0f\x42\x3f", b"\x00\x00\x00\x99\x99\x99"),  # 999,999
    (b"\x00\x00\x0f\x42\x40", b"\x00\x00\x01\x00\x00\x00"),  # 1,000,000
    (b"\x75\x52\xc7\xcf\x03", b"\x50\x39\x00\x00\x00\x03"),  # 503,900,000,003
    (b"\xe8\xd4\xa5\x0f\xff", b"\x99\x99\x99\x99\x99\x99"),  # 999,999,999,999
)


def test_header_number_to_bcd_and_back():
    for u40, bcd in CASES:
        assert purse2.card_number_bcd(u40) == bcd, (u40, purse2.card_number_bcd(u40))
        assert purse2.card_number_u40(bcd) == u40, (bcd, purse2.card_number_u40(bcd))


def test_range_checks_at_the_field_widths():
    for bits, top in ((8, 255), (16, 65535), (32, 4294967295), (40, 1099511627775)):
        check_uint(0, bits, "f")
        check_uint(top, bits, "f")
        for bad in (-1, top + 1):
            with mpytest.raises(ValueError, match="f out of range"):
                check_uint(bad, bits, "f")
    check_sint(-2147483648, 32, "f")
    check_sint(2147483647, 32, "f")
    for bad in (2147483648, -2147483649):
        with mpytest.raises(ValueError, match="f out of range"):
            check_sint(bad, 32, "f")
