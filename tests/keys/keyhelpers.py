"""Helpers of the key-management tests (imported as `keyhelpers`: pytest puts a test module's folder on the import path)."""
from icpurse.keys.hierarchy import KeyDomain

FAST_N = 2 ** 10  # scrypt cost for tests: the format, not the cost, is under test


def material_strings(*holders):
    """Every spelling (hex lower/upper, grouped) of every key in KeyDomains / RoleExports given."""
    out = set()
    for h in holders:
        if isinstance(h, KeyDomain):
            keys = [k for kv in h.versions.values() for k in kv.masters.values()]
        else:  # RoleExport
            keys = [k for v in h.versions.values() for k in v.values()]
        for k in keys:
            hx = k.material.hex()
            out |= {hx, hx.upper(), "-".join(hx.upper()[i:i + 4] for i in range(0, 32, 4)),
                    hx[:12], hx.upper()[:12]}  # 6-byte prefix = a Crypto1-sized leak
    return out


def assert_no_material(text, *holders):
    for s in material_strings(*holders):
        assert s not in text, "key material leaked"
