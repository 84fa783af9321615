"""Split knowledge: Shamir over GF(2^8), printable components, refusals."""
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpurse.keys import split
from icpurse.keys.hierarchy import MASTERS, Key
from icpurse.keys.split import ComponentError

from keyhelpers import assert_no_material


def test_gf_mul_fips197_vectors():
    # FIPS-197 §4.2: {57}·{83} = {c1}; §4.2.1: {57}·{13} = {fe}
    assert split.gf_mul(0x57, 0x83) == 0xC1
    assert split.gf_mul(0x57, 0x13) == 0xFE
    assert split.gf_mul(0x57, 0x01) == 0x57 and split.gf_mul(0, 0x13) == 0


def test_gf_div_inverts_mul():
    for a in range(256):
        for b in range(1, 256, 7):
            assert split.gf_div(split.gf_mul(a, b), b) == a


@settings(max_examples=60, deadline=None)
@given(secret=st.binary(min_size=16, max_size=16), data=st.data())
def test_any_m_of_n_recovers_the_secret(secret, data):
    n = data.draw(st.integers(2, 8))
    m = data.draw(st.integers(2, n))
    shares = split.split_secret(secret, m, n)
    subset = data.draw(st.lists(st.sampled_from(shares), min_size=m, max_size=n, unique=True))
    assert split.combine_secret(subset) == secret


def test_m_minus_one_shares_can_be_identical_for_different_secrets():
    # threshold 2: f(x) = s + a·x, so f(1) = s XOR a. With a2 = a1 ^ s1 ^ s2 the first shares of two
    # different secrets coincide: one share says nothing about the secret.
    s1, s2 = b"\x00" * 16, b"\xff" * 16
    a1 = bytes(range(16))
    a2 = bytes(x ^ y ^ z for x, y, z in zip(a1, s1, s2))
    sh1 = split.split_secret(s1, 2, 3, randbytes=lambda n: a1)
    sh2 = split.split_secret(s2, 2, 3, randbytes=lambda n: a2)
    assert sh1[0] == sh2[0]
    assert sh1[1] != sh2[1]
    assert split.combine_secret(sh1[:2]) == s1 and split.combine_secret(sh2[:2]) == s2


@pytest.mark.parametrize("secret", [bytes(16), b"\xff" * 16])
def test_one_share_is_uniform_whatever_the_secret(secret):
    # 600 splits x 16 byte positions = 9600 share bytes: every byte value shows up for any secret
    seen = set()
    for _ in range(600):
        seen.update(split.split_secret(secret, 2, 2)[0][1])
    assert len(seen) == 256


def _components(threshold=2, custodians=3, master="sector_a", key=None):
    key = key or Key.generate()
    return key, split.split_key(key, threshold, custodians, 7, 1, master)


def test_component_text_round_trip():
    key, comps = _components(3, 5)
    parsed = [split.parse_component(c.text()) for c in comps]
    assert split.combine_key(parsed[1:4]) == key
    assert split.combine_key(parsed) == key  # more than M is fine too
    line = comps[0].text()
    assert line.startswith("icpurse-component issuer=7 version=1 master=sector_a index=1 threshold=3/5 data=")
    assert "master-kcv=%s" % key.kcv in line and "kcv=%s" % comps[0].kcv in line


def test_parse_is_lenient_on_case_and_comments():
    key, comps = _components()
    text = "# custodian 1\n\n" + comps[0].text().lower() + "\n" + comps[2].text() + "\n"
    assert split.combine_key(split.parse_components(text)) == key


def test_too_few_components():
    key, comps = _components(3, 5)
    with pytest.raises(ComponentError, match="2 component.s. given, 3 needed"):
        split.combine_key(comps[:2])


def test_duplicate_component():
    key, comps = _components(2, 3)
    with pytest.raises(ComponentError, match="given twice"):
        split.combine_key([comps[0], comps[0]])


def test_typo_in_a_component_is_caught_by_its_kcv():
    key, comps = _components()
    line = comps[1].text()
    data_at = line.index("data=") + 5
    typo = line[:data_at] + ("0" if line[data_at] != "0" else "1") + line[data_at + 1:]
    with pytest.raises(ComponentError, match="check value mismatch"):
        split.parse_component(typo)


def test_component_of_another_split_is_caught_by_the_master_kcv():
    key, comps = _components()
    _, others = _components(key=key)  # same master, fresh polynomial: shares do not mix
    with pytest.raises(ComponentError, match="KCV .* is not the expected"):
        split.combine_key([comps[0], others[1]])


def test_mixed_masters_refused():
    _, a = _components(master="sector_a")
    _, b = _components(master="sector_b")
    with pytest.raises(ComponentError, match="different masters"):
        split.combine_key([a[0], b[1]])


@pytest.mark.parametrize("line, message", [
    ("hello", "not a component line"),
    ("icpurse-component issuer=7", "missing"),
    ("icpurse-component issuer=x version=1 master=sector_a index=1 threshold=2/3 data=00 kcv=0 master-kcv=0",
     "must be numbers"),
    ("icpurse-component issuer=7 version=1 master=sector_a index=1 threshold=2/3 data=zz kcv=0 master-kcv=0",
     "not hex"),
    ("icpurse-component issuer=7 version=1 master=sector_a index=1 threshold=2/3 data=0011 kcv=0 master-kcv=0",
     "16 bytes"),
    ("icpurse-component issuer=7 version=1 master=nope index=1 threshold=2/3 data=%s kcv=0 master-kcv=0"
     % ("00" * 16), "unknown master"),
])
def test_malformed_lines(line, message):
    with pytest.raises(ComponentError, match=message):
        split.parse_component(line)


@pytest.mark.parametrize("m, n", [(1, 3), (4, 3), (2, 256)])
def test_threshold_bounds(m, n):
    with pytest.raises(ValueError):
        split.split_secret(bytes(16), m, n)


def test_domain_split_and_combine_every_pair_of_custodians(domain):
    by_custodian = split.split_version(domain, 1)
    assert sorted(by_custodian) == [1, 2, 3]
    assert [c.master for c in by_custodian[1]] == list(MASTERS)
    for pair in itertools.combinations(by_custodian.values(), 2):
        text = "\n".join(c.text() for comps in pair for c in comps)
        again = split.combine_domain(split.parse_components(text))
        assert again.version(1).masters == domain.version(1).masters
        assert (again.issuer, again.current, again.threshold, again.custodians) == (7, 1, 2, 3)


def test_domain_combine_needs_every_master(domain):
    by_custodian = split.split_version(domain, 1)
    comps = [c for c in by_custodian[1] + by_custodian[2] if c.master != "load_mac"]
    with pytest.raises(ComponentError, match="no components of load_mac"):
        split.combine_domain(comps)


def test_component_repr_and_errors_carry_no_material(domain):
    by_custodian = split.split_version(domain, 1)
    c = by_custodian[1][0]
    assert c.text().split("data=")[1].split()[0] not in repr(c) + str(c)
    try:
        split.combine_key([by_custodian[1][0], by_custodian[1][0]])
    except ComponentError as e:
        assert_no_material(str(e), domain)
        assert c.text().split("data=")[1].split()[0] not in str(e)
