"""The versioned blacklist: every change bumps the version; the list at any version is reproducible."""
import pytest

from icpurse.host.ledger import InvalidStateError, RoleError
from world import setup_world


def test_versions_and_entries(ledger):
    setup_world(ledger)
    assert ledger.blacklist.blacklist_version() == 0
    assert ledger.blacklist.blacklist_entries() == []
    assert ledger.blacklist.blacklist_add("auditor", "9000000001", "rollback", {"card_seq": 3, "journal_seq": 5}) == 1
    assert ledger.blacklist.blacklist_add("finance", "9000000002", "reported lost", uid="04AABBCCDD") == 2
    assert ledger.blacklist.blacklist_remove("admin", "9000000001", "false positive: journal re-sync") == 3
    assert ledger.blacklist.blacklist_version() == 3
    v1 = ledger.blacklist.blacklist_entries(1)
    assert [(e.card_number, e.reason, e.evidence) for e in v1] == [("9000000001", "rollback",
                                                                    {"card_seq": 3, "journal_seq": 5})]
    assert [e.card_number for e in ledger.blacklist.blacklist_entries(2)] == ["9000000001", "9000000002"]
    now = ledger.blacklist.blacklist_entries()
    assert [(e.card_number, e.uid, e.added_version) for e in now] == [("9000000002", "04AABBCCDD", 2)]
    assert ledger.blacklist.is_blacklisted("9000000002") and not ledger.blacklist.is_blacklisted("9000000001")
    assert ledger.blacklist.blacklist_add("auditor", "9000000001", "clone seen at two readers") == 4
    assert [e.card_number for e in ledger.blacklist.blacklist_entries()] == ["9000000001", "9000000002"]
    actions = [(e.action, e.card_number) for e in ledger.audit.audit_entries() if e.action.startswith("blacklist")]
    assert actions == [("blacklist.add", "9000000001"), ("blacklist.add", "9000000002"),
                       ("blacklist.remove", "9000000001"), ("blacklist.add", "9000000001")]


def test_refusals_do_not_bump_the_version(ledger):
    setup_world(ledger)
    ledger.blacklist.blacklist_add("auditor", "9000000001", "rollback")
    with pytest.raises(InvalidStateError, match="already"):
        ledger.blacklist.blacklist_add("auditor", "9000000001", "again")
    with pytest.raises(RoleError):  # only an issuer-admin takes cards off the list
        ledger.blacklist.blacklist_remove("auditor", "9000000001", "mistake")
    with pytest.raises(RoleError):
        ledger.blacklist.blacklist_add("seller", "9000000003", "suspicious")
    with pytest.raises(ValueError):
        ledger.blacklist.blacklist_add("auditor", "9000000003", " ")
    assert ledger.blacklist.blacklist_version() == 1
