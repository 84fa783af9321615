"""The seal's per-entry encoding (`audit._sealed_json`) is the canonical JSON encoder's output byte
for byte: a stored seal made with either verifies with the other."""
import random

from icpurse.host.ledger import audit

_ALPHABET = ['"', "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "a", "Z", "0", " ", ":", ",", "é", "对",
             "账", "\u2028", "\ufeff", "😀", "\U0010ffff"]


def _text(rng):
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(0, 12)))


def _int(rng):
    return rng.choice([0, 1, -1, 2 ** 31, -(2 ** 63), 2 ** 64 + 7, 10 ** 30, rng.randrange(-10 ** 6, 10 ** 6)])


def _odd(rng):
    """A value an edited row might hold instead (another type): the encoder's own output is expected."""
    return rng.choice([True, False, 1.5, "7", None, b"x".decode(), -0.0, 12])


def _entry(rng):
    maybe = lambda f: None if rng.random() < 0.3 else f(rng)  # noqa: E731
    e = [_int(rng), _text(rng), _text(rng), maybe(_int), maybe(_int), maybe(_text), _text(rng),
         [(_int(rng), _text(rng), _int(rng)) for _ in range(rng.randrange(0, 4))]]
    if rng.random() < 0.2:  # a field of another type
        i = rng.randrange(0, 7)
        e[i] = _odd(rng)
    if rng.random() < 0.1 and e[7]:
        e[7][0] = (_odd(rng), _odd(rng) if rng.random() < 0.5 else "x", _int(rng))
    return e


def test_the_fast_encoding_is_the_json_encoders_byte_for_byte():
    rng = random.Random(20261203)
    for _ in range(20000):
        eid, key, kind, card_id, op_id, stamp, memo, lines = _entry(rng)
        want = audit.canonical_json([eid, key, kind, card_id, op_id, stamp, memo, [list(x) for x in lines]])
        assert audit._sealed_json(eid, key, kind, card_id, op_id, stamp, memo, lines) == want


def test_the_digest_is_the_one_of_the_json_encoding():
    import datetime as dt
    import hashlib

    rng = random.Random(7)
    at = dt.datetime(2026, 12, 3, 18, 0, 1, 5, tzinfo=dt.timezone.utc)
    entries = [(i, _text(rng), "redemption", rng.choice([None, i]), None, at, _text(rng),
                [(1, "prepaid:%d" % i, -i), (2, "redeemed", i)]) for i in range(1, 9000)]
    h = hashlib.sha256()
    for eid, key, kind, card_id, op_id, when, memo, lines in entries:
        h.update((audit.canonical_json([eid, key, kind, card_id, op_id, audit.format_at(when), memo,
                                        [list(x) for x in lines]]) + "\n").encode("utf-8"))
    assert audit.seal_digest(entries) == h.hexdigest()
