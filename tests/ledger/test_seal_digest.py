"""The seal over the books (audit.seal_digest) formats its lines directly for speed; they must be the
bytes the definition names: one line of canonical JSON (compact, sorted keys, UTF-8 unescaped) per
entry. The reference below is that definition written out with the standard library."""
import datetime as dt
import hashlib
import json

from icpurse.host.ledger import audit

UTC = dt.timezone.utc


def _reference(entries):
    enc = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = ""
    for eid, key, kind, card_id, op_id, at, memo, lines in entries:
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        text += enc.encode([eid, key, kind, card_id, op_id, stamp, memo,
                            [[line, code, int(amount)] for line, code, amount in lines]]) + "\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_seal_is_canonical_json_of_awkward_entries():
    t = dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    entries = [
        (1, "sale:1", "sale", 7, 3, t, "", [(1, "cash", 100000), (2, "prepaid:503100000001", -100000)]),
        (2, 'debit:"q"\\x', "redemption", None, None, t.replace(tzinfo=None), "中文 memo\u2028\x00\x1f\x7f",
         [(1, "prepaid:5031", 5), (2, "redeemed", -5)]),
        (3, "adj:3", "adjustment", 2**40, 1, t + dt.timedelta(microseconds=1), None, []),
    ]
    for n in range(1, len(entries) + 1):
        assert audit.seal_digest(entries[:n]) == _reference(entries[:n])
    many = [(i, "k%d" % i, "redemption", i % 13, None, t, "", [(1, "a", i + 1), (2, "b", -(i + 1))])
            for i in range(1, 9000)]  # past one hashing chunk
    assert audit.seal_digest(many) == _reference(many)
    assert audit.seal_digest(many) != _reference(many[:-1])
