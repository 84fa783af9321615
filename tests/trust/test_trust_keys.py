"""Daily work on role-scoped key sets (the issue: "every kiosk and clerk decrypts every master key"):
a collector export verifies journals and records in the ledger but holds no card key and no MAC
master; a workstation export holds no journal master; commands refuse a key set of the wrong role
and say so when given the keystore (more than they need); only the key ceremonies open the masters.
Secrets at rest: keystores below scrypt N = 2^17 are refused outside the demo."""
import json

import pytest
from click.testing import CliRunner

from icpurse.host.cli import main
from icpurse.keys import backoffice, demo, exports, keystore
from icpurse.keys.hierarchy import KeyDomain
from support.ledger import AUDIT_KEY, PW, sqlite_url, staff

TP = "transport pass phrase"


def _hexes(domain, *names):
    return {kv[n].material.hex() for kv in domain.versions.values() for n in names}


def test_a_collector_export_holds_verification_keys_only():
    domain = KeyDomain.generate(7)
    ex = exports.collector_keyset(domain)
    assert {n for keys in ex.versions.values() for n in keys} == {"journal"}
    assert set(ex.backoffice) == {"audit"} and ex.audit_key() == backoffice.audit_key(domain).material
    assert ex.data_key() is None
    dump = json.dumps(ex.to_secret_dict())
    for forbidden in _hexes(domain, "sector_a", "sector_b", "purse_mac", "load_mac"):
        assert forbidden not in dump
    with pytest.raises(exports.ExportError, match="no card keys"):
        ex.to_keysets()
    # it verifies every terminal's journal exactly as the keystore would
    assert ex.journal_keys(12345678) == exports.terminal_journal_keys(domain, 12345678)


def test_a_workstation_export_holds_no_journal_master_but_the_audit_and_data_keys():
    domain = KeyDomain.generate(7)
    ex = exports.workstation_keyset(domain)
    assert "journal" not in json.dumps(ex.to_secret_dict()) or all(
        h not in json.dumps(ex.to_secret_dict()) for h in _hexes(domain, "journal"))
    assert ex.audit_key() == backoffice.audit_key(domain).material
    assert ex.data_key() == backoffice.data_key(domain).material
    with pytest.raises(exports.ExportError, match="collector"):
        ex.journal_keys(12345678)
    assert "BackOfficeKey(kcv=" in repr(ex.backoffice["audit"])  # prints as a check value only


def test_export_files_round_trip_every_role(tmp_path):
    domain = KeyDomain.generate(7)
    for role, ex in (("collector", exports.collector_keyset(domain)),
                     ("workstation", exports.workstation_keyset(domain)),
                     ("reader", exports.reader_keyset(domain, 5))):
        path = tmp_path / ("%s.json" % role)
        exports.save_export(str(path), ex, TP)
        back = exports.load_export(str(path), TP)
        assert back.role == role and back.to_secret_dict() == ex.to_secret_dict()


@pytest.fixture
def office(tmp_path, monkeypatch):
    """A ledger keyed with the demo's audit key, and the demo set's exports in files."""
    from icpurse.host.ledger import open_ledger

    url = sqlite_url(tmp_path)
    led = open_ledger(url, audit_key=AUDIT_KEY)
    staff(led, [("auditor", "auditor"), ("finance", "finance")])
    led.close()
    domain = demo.demo_domain()
    files = {}
    for role, ex in (("collector", exports.collector_keyset(domain)),
                     ("workstation", exports.workstation_keyset(domain))):
        files[role] = str(tmp_path / ("%s.json" % role))
        exports.save_export(files[role], ex, TP)
    ks = tmp_path / "keystore.json"
    keystore.save_keystore(str(ks), domain, demo.DEMO_PASSPHRASE)
    files["keystore"] = str(ks)
    for var in ("ICPURSE_KEYSTORE", "ICPURSE_OPERATOR", "ICPURSE_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", PW)
    monkeypatch.setenv("ICPURSE_TRANSPORT_PASSPHRASE", TP)
    monkeypatch.setenv("ICPURSE_KEYSTORE_PASSPHRASE", demo.DEMO_PASSPHRASE)
    return url, files


def icpurse(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_reconciliation_runs_on_the_collector_export(office):
    url, files = office
    r = icpurse("reconcile", "run", "--db", url, "--keystore", files["collector"], "--operator", "auditor", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["totals"]["audit_log"] == "verifies"
    assert "master keys" not in r.stderr


def test_a_command_given_the_wrong_key_set_says_which_one_it_needs(office):
    url, files = office
    r = icpurse("reconcile", "run", "--db", url, "--keystore", files["workstation"], "--operator", "auditor")
    assert r.exit_code == 1 and "needs the collector key set" in r.stderr
    assert "keys export --role collector" in r.stderr
    r = icpurse("topup", "unconfirmed", "--db", url, "--keystore", files["collector"], "--operator", "finance")
    assert r.exit_code == 0  # a ledger-only command: the collector's audit key is all it needs


def test_a_daily_command_given_the_keystore_says_it_holds_more_than_needed(office):
    url, files = office
    r = icpurse("reconcile", "run", "--db", url, "--keystore", files["keystore"], "--operator", "auditor")
    assert r.exit_code == 0, r.output
    assert "holds the issuer's master keys" in r.stderr and "collector key set" in r.stderr


def test_the_audit_log_head_and_verify_with_an_expected_head_from_the_cli(office):
    url, files = office
    head = json.loads(icpurse("audit", "log", "head", "--db", url, "--json").stdout)
    assert set(head) == {"entries", "head"} and head["entries"] > 0 and len(head["head"]) == 64
    r = icpurse("audit", "log", "verify", "--db", url, "--keystore", files["collector"],
                "--expect-head", head["head"])
    assert r.exit_code == 0 and "extends" in r.output
    from icpurse.host.ledger import open_ledger

    led = open_ledger(url, audit_key=AUDIT_KEY)
    led.engine.dispose()
    with led.engine.begin() as conn:  # the newest entries deleted
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq >= %d" % (head["entries"] - 1))
    led.close()
    r = icpurse("audit", "log", "verify", "--db", url, "--keystore", files["collector"],
                "--expect-head", head["head"], "--json")
    assert r.exit_code == 5 and "no longer extends" in json.loads(r.stdout)["first_bad"]["reason"]
    r = icpurse("audit", "log", "verify", "--db", url, "--expect-head", head["head"])
    assert r.exit_code == 1 and "audit key" in r.stderr  # verifying needs the key


def test_the_audit_log_shows_with_filters(office):
    url, files = office
    r = icpurse("audit", "log", "show", "--db", url, "--operator", "admin2", "--action", "operator.*", "--json")
    assert r.exit_code == 0
    entries = json.loads(r.stdout)["entries"]
    assert entries and {e["operator"] for e in entries} == {"admin2"}
    assert {e["action"] for e in entries} == {"operator.approve"}
    r = icpurse("audit", "log", "show", "--db", url, "--day", "2020-01-01", "--json")
    assert json.loads(r.stdout)["entries"] == []


def test_a_weak_keystore_is_refused_outside_the_demo(tmp_path, monkeypatch):
    monkeypatch.delenv(keystore.TEST_ENV)
    monkeypatch.setenv("ICPURSE_KEYSTORE_PASSPHRASE", "a pass phrase")
    r = icpurse("keys", "init", "--keystore", str(tmp_path / "k.json"), "--issuer", "7", "--kdf-n", "2")
    assert r.exit_code == 1 and "below the minimum" in r.stderr and not (tmp_path / "k.json").exists()
