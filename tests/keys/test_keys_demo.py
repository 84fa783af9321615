"""The INSECURE DEMO KEYS keyset: fixed, public and loudly marked everywhere."""
import hashlib
import json
import logging

from icpurse.keys import demo, exports
from icpurse.keys.hierarchy import MASTERS


def test_demo_keys_are_fixed_and_public():
    a, b = demo.demo_domain(), demo.demo_domain()
    assert a.version(1).masters == b.version(1).masters
    # anyone can recompute them from the public seed
    expected = hashlib.sha256(b"icpurse INSECURE DEMO KEYS - public, never for real cards|sector_a|v1").digest()[:16]
    assert a.version(1)["sector_a"].material == expected
    assert len({k.material for k in a.version(1).masters.values()}) == len(MASTERS)


def test_demo_versions():
    d = demo.demo_domain(versions=2)
    assert (d.current, d.previous) == (2, 1)
    assert d.version(1).masters == demo.demo_domain().version(1).masters


def test_everything_says_insecure(caplog):
    with caplog.at_level(logging.WARNING):
        d = demo.demo_domain()
    assert "INSECURE DEMO KEYS" in caplog.text
    assert "INSECURE DEMO KEYS" in repr(d)
    assert d.summary()["warning"] == "INSECURE DEMO KEYS"
    for ex in (exports.reader_keyset(d, 1), exports.workstation_keyset(d)):
        assert ex.demo and "INSECURE DEMO KEYS" in repr(ex)
        assert json.loads(json.dumps(ex.summary()))["warning"] == "INSECURE DEMO KEYS"


def test_real_domains_are_not_marked(domain):
    assert "INSECURE" not in repr(domain) and "warning" not in domain.summary()
