"""Operator passwords: argon2id (argon2-cffi), parameters stored with each hash.

Policy: argon2id, time cost 3, 64 MiB, 4 lanes (RFC 9106's second recommended setting). A hash
made with weaker parameters — or by the earlier scheme, `scrypt$N$r$p$salt$digest` with N = 2^14 —
still verifies, and `needs_rehash` says so: `People.authenticate_operator` then re-hashes the
password it was just given under the policy (audited as `operator.rehash`).

Test-only low cost: `ICPURSE_TEST_WEAK_PASSWORD_HASH=1` (the test suite sets it in
tests/conftest.py) makes new hashes argon2id t=1, 64 KiB, 1 lane, so a test that adds fifty
operators does not spend a minute hashing; a warning is logged the first time it is used. Never set
it anywhere else. A hash made under it is below the policy, so a process without the variable
re-hashes it at the next login.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
TEST_ENV = "ICPURSE_TEST_WEAK_PASSWORD_HASH"
POLICY = dict(time_cost=3, memory_cost=64 * 1024, parallelism=4)  # memory in KiB
TEST_COST = dict(time_cost=1, memory_cost=64, parallelism=1)  # tests only (module docstring)
_log = logging.getLogger(__name__)
_warned = False


def test_cost_active() -> bool:
    """True when the test-only low cost is in force (ICPURSE_TEST_WEAK_PASSWORD_HASH=1)."""
    global _warned
    on = os.environ.get(TEST_ENV) == "1"
    if on and not _warned:
        _warned = True
        _log.warning("%s=1: operator passwords hashed at a test-only low cost (never in production)", TEST_ENV)
    return on


def _hasher() -> PasswordHasher:
    return PasswordHasher(type=Type.ID, **(TEST_COST if test_cost_active() else POLICY))


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError("password too short: at least %d characters" % MIN_LENGTH)
    return _hasher().hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    """The earlier scheme (kept so existing operators can sign in once and be re-hashed)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected), maxmem=2 ** 28)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when `stored` was not made under the current policy (an older scheme or weaker cost)."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True
