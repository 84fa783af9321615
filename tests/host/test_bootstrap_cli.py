"""A new ledger from the command line: the first admin, the bootstrap's second admin, operators
requested by one admin and approved by the other, a programme registered."""

from click.testing import CliRunner

from icpurse.host.cli import main
from support.ledger import EXAMPLES


def run(args, db, password="pw-new-operator", login="pw-admin-secret", operator=None, keys="demo"):
    env = {"ICPURSE_DB": "sqlite:///%s" % db, "ICPURSE_NEW_PASSWORD": password,
           "ICPURSE_OPERATOR_PASSWORD": login}
    if operator:
        env["ICPURSE_OPERATOR"] = operator
    if keys:
        env["ICPURSE_KEYSTORE"] = keys  # the audit key of a key set: every command here records
    return CliRunner().invoke(main, args, env=env)


def test_bootstrap_a_ledger(tmp_path):
    db = tmp_path / "l.db"
    nokey = run(["operator", "add", "ada", "--role", "issuer-admin"], db, keys=None)
    assert nokey.exit_code == 1 and "audit key" in nokey.output
    refused = run(["operator", "add", "sam", "--role", "seller"], db)
    assert refused.exit_code == 1 and "first operator" in refused.output and "nothing was changed" in refused.output
    assert run(["operator", "add", "ada", "--role", "issuer-admin"], db, password="pw-admin-secret").exit_code == 0
    # after the first, an issuer-admin must sign in to add operators
    assert run(["operator", "add", "sam", "--role", "seller"], db).exit_code == 1
    # the bootstrap: the first admin adds the second issuer-admin at once
    second = run(["operator", "add", "bob", "--role", "issuer-admin", "--operator", "ada"], db,
                 password="pw-admin-bob")
    assert second.exit_code == 0 and "bootstrap" in second.output, second.output
    added = run(["operator", "add", "sam", "--role", "seller", "--operator", "ada"], db)
    assert added.exit_code == 0 and "approve" in added.output, added.output
    listed = run(["operator", "list", "--json"], db)
    assert '"operator": "sam"' in listed.output and '"pending": "add"' in listed.output and "pw-" not in listed.output
    own = run(["operator", "approve", "sam", "--operator", "ada"], db)  # the requester cannot approve
    assert own.exit_code == 1 and "other than ada" in own.output
    ok = run(["operator", "approve", "sam", "--operator", "bob"], db, login="pw-admin-bob")
    assert ok.exit_code == 0 and "approved by bob" in ok.output
    wrong = run(["operator", "add", "fin", "--role", "finance", "--operator", "ada"], db, login="not-the-password")
    assert wrong.exit_code == 1
    ok = run(["programme", "register", str(EXAMPLES / "mofcom-compliant.toml")], db, operator="ada")
    assert ok.exit_code == 0 and "mofcom-compliant registered" in ok.output
    store = str(EXAMPLES / "company-store-card.toml")
    refused = run(["programme", "register", store], db, operator="ada")
    assert refused.exit_code == 1 and "nothing was registered" in refused.output
    forced = run(["programme", "register", store, "--override-reason", "legacy product"], db, operator="ada")
    assert forced.exit_code == 0 and "override" in forced.output
