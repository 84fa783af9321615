"""Split knowledge: each master is split into N custodian components, any M of which rebuild it.

Shamir secret sharing over GF(2^8) (the AES field, x^8+x^4+x^3+x+1), one polynomial of degree
M-1 per key byte: component i holds f(i) for i = 1..N, the master is f(0). Fewer than M components
say nothing about the master (every master is consistent with them). A component is printable:

    icpurse-component issuer=1 version=1 master=sector_a index=2 threshold=2/3
        data=1A2B-3C4D-5E6F-7081-92A3-B4C5-D6E7-F809 kcv=ABC123 master-kcv=DEF456

(one line). `kcv` (of the component itself) catches a typo in `data` at once; `master-kcv` checks
the combined master.
"""
import hmac
import secrets

from icpurse.keys.hierarchy import MASTERS, Key, KeyDomain, KeyVersion, kcv
from icpurse.protocol.crypto.cmac import KEY_SIZE

MAX_SHARES = 255  # x = 1..255: the non-zero elements of GF(2^8)
TAG = "icpurse-component"

# exp/log tables of GF(2^8) with generator 0x03
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x ^= (_x << 1) ^ (0x11B if _x & 0x80 else 0)  # x * 3 = x*2 + x, reduced
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


class ComponentError(ValueError):
    """Components that cannot be combined (the message names components, never their data)."""


def gf_mul(a, b):
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_div(a, b):
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] + 255 - _LOG[b]]


def _check_threshold(threshold, shares):
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise ValueError("need 2 <= threshold <= custodians <= %d, got %d of %d"
                         % (MAX_SHARES, threshold, shares))


def split_secret(secret, threshold, shares, randbytes=secrets.token_bytes):
    """[(x, f(x))] for x = 1..shares; f has `secret` as constant term, random other coefficients."""
    _check_threshold(threshold, shares)
    coeffs = [bytes(secret)] + [randbytes(len(secret)) for _ in range(threshold - 1)]
    out = []
    for x in range(1, shares + 1):
        y = bytearray(len(secret))
        for b in range(len(secret)):
            acc = 0
            for c in reversed(coeffs):  # Horner
                acc = gf_mul(acc, x) ^ c[b]
            y[b] = acc
        out.append((x, bytes(y)))
    return out


def combine_secret(points):
    """f(0) by Lagrange interpolation through the points [(x, y)] (distinct non-zero x)."""
    xs = [x for x, _ in points]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ComponentError("component indexes must be distinct and non-zero")
    size = len(points[0][1])
    secret = bytearray(size)
    for i, (xi, yi) in enumerate(points):
        # basis polynomial at 0: prod_{j != i} x_j / (x_j - x_i); minus is XOR in GF(2^8)
        li = 1
        for j, xj in enumerate(xs):
            if j != i:
                li = gf_mul(li, gf_div(xj, xj ^ xi))
        for b in range(size):
            secret[b] ^= gf_mul(li, yi[b])
    return bytes(secret)


class Component:
    """One custodian's part of one master. Prints as its KCV; `text()` is the secret line."""

    def __init__(self, issuer, version, master, index, threshold, custodians, data, master_kcv):
        if master not in MASTERS:
            raise ComponentError("unknown master %r" % (master,))
        self.issuer = issuer
        self.version = version
        self.master = master
        self.index = index
        self.threshold = threshold
        self.custodians = custodians
        self._data = bytes(data)
        self.master_kcv = master_kcv

    @property
    def kcv(self):
        return kcv(self._data)

    @property
    def label(self):
        return "%s v%d #%d" % (self.master, self.version, self.index)

    def text(self):
        """The printable line for the custodian: this is key material."""
        hexdata = self._data.hex().upper()
        groups = "-".join(hexdata[i:i + 4] for i in range(0, len(hexdata), 4))
        return ("%s issuer=%d version=%d master=%s index=%d threshold=%d/%d data=%s kcv=%s master-kcv=%s"
                % (TAG, self.issuer, self.version, self.master, self.index, self.threshold,
                   self.custodians, groups, self.kcv, self.master_kcv))

    def __repr__(self):
        return "Component(%s, kcv=%s)" % (self.label, self.kcv)

    __str__ = __repr__


def split_key(key, threshold, custodians, issuer, version, master, randbytes=secrets.token_bytes):
    """The `custodians` components of one master (any `threshold` of them rebuild it)."""
    return [Component(issuer, version, master, x, threshold, custodians, y, key.kcv)
            for x, y in split_secret(key.material, threshold, custodians, randbytes)]


def split_version(domain, version):
    """{custodian index: [that custodian's component of every master of `version`]}."""
    kv = domain.version(version)
    per_master = [split_key(kv[name], domain.threshold, domain.custodians, domain.issuer, version, name)
                  for name in MASTERS]
    return {i + 1: [comps[i] for comps in per_master] for i in range(domain.custodians)}


def combine_key(components):
    """The master rebuilt from components of one master; ComponentError if they do not fit."""
    if not components:
        raise ComponentError("no components given")
    first = components[0]
    for c in components:
        if (c.issuer, c.version, c.master, c.threshold, c.custodians) != (
                first.issuer, first.version, first.master, first.threshold, first.custodians):
            raise ComponentError("components of different masters mixed: %s and %s" % (first.label, c.label))
        if c.master_kcv != first.master_kcv:
            raise ComponentError("components %s and %s name different master KCVs" % (first.label, c.label))
        if not 1 <= c.index <= c.custodians:
            raise ComponentError("component %s: index out of 1..%d" % (c.label, c.custodians))
    seen = {}
    for c in components:
        if c.index in seen:
            same = hmac.compare_digest(seen[c.index]._data, c._data)
            raise ComponentError("component %s given twice%s" % (c.label, "" if same else " with different data"))
        seen[c.index] = c
    if len(seen) < first.threshold:
        raise ComponentError("%s v%d: %d component(s) given, %d needed"
                             % (first.master, first.version, len(seen), first.threshold))
    master = Key(combine_secret([(c.index, c._data) for c in components]))
    if master.kcv != first.master_kcv:
        raise ComponentError("%s v%d: the combined master's KCV %s is not the expected %s "
                             "(a wrong component)" % (first.master, first.version, master.kcv, first.master_kcv))
    return master


def combine_domain(components, name=""):
    """A KeyDomain from components of every master of one or more versions (highest = current)."""
    if not components:
        raise ComponentError("no components given")
    issuers = {c.issuer for c in components}
    if len(issuers) != 1:
        raise ComponentError("components of several issuers mixed: %s" % sorted(issuers))
    groups = {}
    for c in components:
        groups.setdefault(c.version, {}).setdefault(c.master, []).append(c)
    versions = []
    for version, masters in sorted(groups.items()):
        missing = [m for m in MASTERS if m not in masters]
        if missing:
            raise ComponentError("version %d: no components of %s" % (version, ", ".join(missing)))
        versions.append(KeyVersion(version, {m: combine_key(masters[m]) for m in MASTERS}))
    any_c = components[0]
    return KeyDomain(issuers.pop(), versions, versions[-1].version, name, any_c.custodians, any_c.threshold)


def parse_component(line):
    """A Component from its printed line; ComponentError naming what is wrong."""
    tokens = line.split()
    if not tokens or tokens[0].lower() != TAG:
        raise ComponentError("not a component line (it must start with %r)" % TAG)
    fields = {}
    for tok in tokens[1:]:
        key, sep, value = tok.partition("=")
        if not sep:
            raise ComponentError("component line: %r is not key=value" % key[:20])
        fields[key.lower()] = value
    need = ("issuer", "version", "master", "index", "threshold", "data", "kcv", "master-kcv")
    missing = [k for k in need if k not in fields]
    if missing:
        raise ComponentError("component line: missing %s" % ", ".join(missing))
    try:
        m, _, n = fields["threshold"].partition("/")
        ints = [int(fields["issuer"]), int(fields["version"]), int(fields["index"]), int(m), int(n)]
    except ValueError:
        raise ComponentError("component line: issuer, version, index and threshold M/N must be numbers") from None
    issuer, version, index, threshold, custodians = ints
    hexdata = fields["data"].replace("-", "")
    try:
        data = bytes.fromhex(hexdata)
    except ValueError:
        raise ComponentError("component %s v%d #%d: data is not hex" % (fields["master"], version, index)) from None
    if len(data) != KEY_SIZE:
        raise ComponentError("component %s v%d #%d: data must be %d bytes, got %d"
                             % (fields["master"], version, index, KEY_SIZE, len(data)))
    c = Component(issuer, version, fields["master"], index, threshold, custodians, data,
                  fields["master-kcv"].upper())
    if c.kcv != fields["kcv"].upper():
        raise ComponentError("component %s: check value mismatch (expected %s, data gives %s): a typo?"
                             % (c.label, fields["kcv"].upper(), c.kcv))
    return c


def parse_components(text):
    """Every component line in `text` (blank lines and # comments skipped)."""
    return [parse_component(line) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
