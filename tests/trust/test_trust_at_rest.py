"""Secrets at rest: the SQLite ledger is its owner's file (0600: password hashes and holder names
are not readable by other users of the workstation); operator passwords are argon2id at the policy
cost, and a hash below it (the earlier scrypt N = 2^14, or a lower cost) is re-hashed at sign-in."""
import base64
import hashlib
import os
import stat

from icpurse.host.ledger import open_ledger
from icpurse.host.ledger import passwords
from icpurse.host.ledger.models import Operator
from support.ledger import AUDIT_KEY, PW, sqlite_url, staff


def test_a_new_sqlite_ledger_is_its_owners_file_only(tmp_path):
    led = open_ledger(sqlite_url(tmp_path / "new"), audit_key=AUDIT_KEY)
    try:
        staff(led)
        for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
            path = tmp_path / "new" / name
            if path.exists():
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
        assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700
    finally:
        led.close()


def _legacy_scrypt(password):
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
    return "scrypt$%d$%d$%d$%s$%s" % (2 ** 14, 8, 1, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def _stored(led, name):
    with led.uow.read() as s:
        op = s.query(Operator).filter_by(username=name).one()
        return op.password_hash


def test_a_hash_below_the_policy_is_re_hashed_at_sign_in(tmp_path, monkeypatch):
    led = open_ledger(sqlite_url(tmp_path), audit_key=AUDIT_KEY)
    try:
        staff(led, [("seller", "seller")])
        with led.engine.begin() as conn:  # an operator from before: scrypt N = 2^14
            conn.exec_driver_sql("UPDATE operators SET password_hash = ? WHERE username = 'seller'",
                                 (_legacy_scrypt(PW),))
        assert passwords.needs_rehash(_stored(led, "seller"))
        led.people.authenticate_operator("seller", PW)
        stored = _stored(led, "seller")
        assert stored.startswith("$argon2id$") and passwords.verify_password(PW, stored)
        # a test-cost hash is below the policy once the test-only switch is off
        monkeypatch.delenv(passwords.TEST_ENV)
        assert passwords.needs_rehash(stored)
        led.people.authenticate_operator("seller", PW)
        stored = _stored(led, "seller")
        assert "m=65536,t=3,p=4" in stored and not passwords.needs_rehash(stored)
        assert [e.operator for e in led.audit.audit_entries(action="operator.rehash")] == ["seller", "seller"]
        assert led.audit.verify_audit_log() is None
    finally:
        led.close()
