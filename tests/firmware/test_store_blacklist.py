"""The reader's blacklist: a sorted file searched in place (index in RAM, one run read per tap).

Dual-run (CPython and MicroPython)."""
import mpytest

from icpurse.firmware.hal.sim import SimNvs
from icpurse.firmware.store import Store


def test_every_listed_number_is_found_and_no_other():
    for n in (0, 1, 63, 64, 65, 200):
        st = Store(SimNvs(), mpytest.tmpdir())
        entries = [bytes((0x50, 0x39, 0, (i * 3) >> 8, (i * 3) & 255, 0)) for i in range(n)]
        st.stage_blacklist_chunk(0, b"".join(reversed(entries)))  # sorted by commit_blacklist
        assert st.commit_blacklist(1, n)
        for i in range(n * 3 + 2):
            e = bytes((0x50, 0x39, 0, i >> 8, i & 255, 0))
            assert st.blacklisted(e) == (i % 3 == 0 and i < 3 * n), (n, i)
        assert not st.blacklisted(b"\x00" * 6) and not st.blacklisted(b"\x99" * 6)


def test_a_new_list_replaces_the_open_one():
    st = Store(SimNvs(), mpytest.tmpdir())
    a, b = b"\x50\x31\x00\x00\x00\x01", b"\x50\x31\x00\x00\x00\x02"
    st.stage_blacklist_chunk(0, a)
    st.commit_blacklist(1, 1)
    assert st.blacklisted(a) and not st.blacklisted(b)
    st.stage_blacklist_chunk(0, b)
    st.commit_blacklist(2, 1)
    assert st.blacklisted(b) and not st.blacklisted(a)
