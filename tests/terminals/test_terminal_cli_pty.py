"""The `terminal`, `audit` and `reconcile` commands against the virtual ESP32 reader on a pty
(the host's pyserial LinkClient, the real firmware behind it): provision, sign in, sell, collect,
day close, audit the journal, reconcile — then a rollback found and blacklisted at the next sign-in."""
import json

import pytest
from click.testing import CliRunner

from icpurse.firmware import codec
from icpurse.hil.sim.vreader import start_reader_pty
from icpurse.host.cli import main
from icpurse.host.readers.serial import LinkClient, ReaderLinkError
from icpurse.keys import demo, keystore
from support import store as sw

T = "32000001"


@pytest.fixture
def pty_world(world, tmp_path):
    vr, pty, stop = start_reader_pty(tmp_path / "esp32")
    ks = tmp_path / "keys.json"
    keystore.save_keystore(str(ks), sw.DOMAIN, demo.DEMO_PASSPHRASE, n=2 ** 4)
    env = {"ICPURSE_DB": "sqlite:///%s" % (world.tmp / "ledger.db"), "ICPURSE_KEYSTORE": str(ks),
           "ICPURSE_KEYSTORE_PASSPHRASE": demo.DEMO_PASSPHRASE, "ICPURSE_OPERATOR_PASSWORD": sw.PW}
    yield world, vr, pty.path, env
    stop.set()


def icp(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_store_day_through_the_cli_on_the_virtual_esp32(pty_world):
    world, vr, port, env = pty_world
    n, card = world.issue(10000)
    r = icp(env, "terminal", "provision", T, "--outlet", "Canteen", "--merchant", "Acme", "--port", port,
            "--operator", "admin")
    assert r.exit_code == 1 and "lab ceremony" in r.output  # a blank board without a transport key
    tk = world.tmp / "transport.hex"
    r = icp(env, "terminal", "transport-key", T, "--out", str(tk), "--operator", "admin")
    assert r.exit_code == 0, r.output
    assert oct(tk.stat().st_mode & 0o777) == "0o600"
    vr.install_transport_key(bytes.fromhex(tk.read_text().strip()))  # the lab writes it into the board's NVS
    r = icp(env, "terminal", "provision", T, "--outlet", "Canteen", "--merchant", "Acme", "--port", port,
            "--operator", "admin", "--programme", "mofcom-compliant")
    assert r.exit_code == 0, r.output
    r = icp(env, "terminal", "sign-in", "--reader", "serial:" + port, "--operator", "clerk")
    assert r.exit_code == 0, r.output
    assert "blacklist version 0" in r.output
    dump = sw.snapshot(card)
    vr.deck.add("c", card)
    client = LinkClient(port, timeout=3)
    try:
        for amount in (1000, 2000):  # the POS sells through the same link
            vr.deck.present("c")
            client.debit(amount, timeout_ms=500)
            vr.deck.remove("c")
        assert client.info()["journal_next"] == 5
    finally:
        client.close()
    r = icp(env, "terminal", "collect", "--port", port, "--operator", "clerk", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["stored"] == 4
    r = icp(env, "terminal", "day-close", T, "--port", port, "--operator", "clerk")
    assert r.exit_code == 0, r.output
    assert "reader 2 debits, 30 yuan; journal 2 debits, 30 yuan" in r.output
    r = icp(env, "terminal", "list", "--json")
    (row,) = json.loads(r.stdout)
    assert row["number"] == T and row["collected_up_to"] == 4 and row["blacklist_version"] == 0
    assert icp(env, "audit", "terminal", T).exit_code == 0
    r = icp(env, "reconcile", "run", "--operator", "auditor", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["totals"]["redeemed_fen"] == 3000

    # the old dump written back and presented again: this reader saw the newer state and refuses the
    # older one (its per-card memory, docs/reader.md; a reader that never saw the card takes it, and the
    # back office finds the rollback: tests/reconcile/test_recon_scenarios.py)
    sw.restore(card, dump)
    icp(env, "terminal", "sign-in", "--port", port, "--operator", "clerk")
    client = LinkClient(port, timeout=3)
    try:
        vr.deck.present("c")
        with pytest.raises(ReaderLinkError) as e:
            client.debit(500, timeout_ms=500)
        assert e.value.refusal == codec.R_OLDER_STATE
        vr.deck.remove("c")
    finally:
        client.close()
    assert icp(env, "terminal", "collect", "--port", port, "--operator", "clerk").exit_code == 0
    r = icp(env, "reconcile", "run", "--operator", "auditor", "--json")
    assert r.exit_code == 0, r.output  # nothing was spent twice
    assert json.loads(r.stdout)["totals"]["redeemed_fen"] == 3000

def test_audit_log_verify_names_the_first_edited_entry(pty_world):
    world, vr, port, env = pty_world
    world.issue()
    r = icp(env, "audit", "log", "verify")
    assert r.exit_code == 0 and "operator log verifies" in r.output
    with world.ledger.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET result = 'refused' WHERE seq = 7")
    r = icp(env, "audit", "log", "verify", "--json")
    assert r.exit_code == 5
    assert json.loads(r.stdout)["first_bad"] == {"seq": 7, "reason": "content does not match its hash (entry edited or re-hashed, or the wrong audit key)"}


def test_no_reader_exits_3(pty_world):
    world, vr, port, env = pty_world
    r = icp(env, "terminal", "sign-in", T, "--operator", "clerk", "--port", str(world.tmp / "no-such-tty"))
    assert r.exit_code == 3
