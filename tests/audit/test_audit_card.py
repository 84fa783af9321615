"""`audit card`: every MAC (identity, both slots, each log entry), balance and log, anomalies on the
card itself and against the ledger (counter regression, balance the ledger cannot explain)."""
import json

import pytest
from click.testing import CliRunner

from icpurse.firmware import codec
from icpurse.hil.sim import dumps
from icpurse.host.audit.card import check_against_ledger, inspect_card, report_anomalies
from icpurse.host.cli import main
from icpurse.host.readers.serial import ReaderLinkError
from icpurse.host.reconcile import engine
from icpurse.keys import demo, keystore
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry
from support import store as sw

A = "33000001"


def codes(audit):
    return sorted(a.code for a in audit.anomalies)


@pytest.fixture
def used(world):
    """A card of 100 yuan with two sales at one reader (1.50 and 2.25 yuan), journal collected."""
    n, card = world.issue(10000)
    world.reader(A)
    world.sign_in(A)
    world.tap(A, n, 150)
    world.tap(A, n, 225)
    world.collect(A)
    return world, n, card


def test_a_genuine_card_verifies_everywhere(used):
    world, n, card = used
    for ring in (sw.workstation_ring(), sw.reader_ring(33000001)):
        a = inspect_card(sw.tag(card), ring)
        assert a.identity_ok and a.card_number == n and a.uid == card.uid.hex().upper()
        assert (a.seq, a.balance, a.value_block) == (4, 9625, 9625)
        assert [s["ok"] for s in a.slots] == [True, True]
        assert [(e["seq"], e["kind"], e["amount"], e["balance"], e["status"]) for e in a.log] == [
            (4, codec.TXN_DEBIT, 225, 9625, "ok"), (3, codec.TXN_DEBIT, 150, 9850, "ok"),
            (2, codec.TXN_LOAD, 10000, 10000, "ok"), (1, codec.TXN_ISSUE, 0, 0, "ok")]
        assert codes(a) == []
    # before reconciliation the ledger has not booked the two sales: it holds more than the card
    a = check_against_ledger(inspect_card(sw.tag(card), sw.workstation_ring()), world.ledger)
    assert codes(a) == ["ledger_ahead"] and a.ledger["ledger_balance"] == 10000
    engine.run(world.ledger, sw.DOMAIN)
    a = check_against_ledger(inspect_card(sw.tag(card), sw.workstation_ring()), world.ledger)
    assert codes(a) == [] and a.ledger["ledger_balance"] == 9625 and a.ledger["last_seen_seq"] == 4


def _rewrite(card, block, data):
    for i in range(len(data) // 16):
        card.blocks[block + i][:] = data[16 * i:16 * (i + 1)]


def _record(card, block):
    return b"".join(bytes(card.blocks[block + i]) for i in range(layout.RECORD_BLOCKS))


def test_a_forged_identity_is_refused_at_the_reader_and_reported(used):
    world, n, card = used
    fields = list(codec.decode_identity(_record(card, layout.IDENTITY_BLOCK)))
    fields[codec.IDENTITY_EXPIRY] = 0x7FFF  # "never expires", MAC left as it was
    _rewrite(card, layout.IDENTITY_BLOCK, codec.encode_identity(*fields))
    with pytest.raises(ReaderLinkError) as e:
        world.tap(A, n, 100)
    assert e.value.refusal == codec.R_FORGED
    a = check_against_ledger(inspect_card(sw.tag(card), sw.workstation_ring()), world.ledger)
    assert not a.identity_ok and "forged_identity" in codes(a)
    (exc,) = [x for x in report_anomalies(world.ledger, a) if x.kind == "forgery"]
    assert exc.card_number == n and exc.proposal == "blacklist"
    assert exc.evidence["anomaly"]["code"] == "forged_identity"


def test_a_forged_balance_in_a_slot_is_refused_and_reported(used):
    world, n, card = used
    active = inspect_card(sw.tag(card), sw.workstation_ring()).active
    block = layout.slot_block(active)
    fields = list(codec.decode_purse_slot(_record(card, block)))
    fields[codec.PURSE_SLOT_BALANCE] = 99999  # more money, old MAC
    _rewrite(card, block, codec.encode_purse_slot(*fields))
    with pytest.raises(ReaderLinkError) as e:
        world.tap(A, n, 100)
    # the forged slot is ignored, so the card shows seq 3; this reader left seq 4 on it (its per-card
    # memory, docs/reader.md): an older state, refused before the balance block is even looked at
    assert e.value.refusal == codec.R_OLDER_STATE
    a = inspect_card(sw.tag(card), sw.workstation_ring())
    assert a.slots[active]["ok"] is False and a.balance == 9850 and a.seq == 3
    # the log already holds seq 4: the slot was valid once, so this is tampering, not a tear
    assert codes(a) == ["balance_block", "forged_slot", "log_inconsistent"]
    check_against_ledger(a, world.ledger, record=False)
    kinds = {x.kind for x in report_anomalies(world.ledger, a)}
    assert "card_mac_failure" in kinds


def test_a_torn_log_entry_is_shown_not_trusted(used):
    world, n, card = used
    block = geometry.first_block(layout.LOG_SECTORS[4 % len(layout.LOG_SECTORS)])
    card.blocks[block + 1][:] = bytes(16)  # the second half of the entry of seq 4 never arrived
    a = inspect_card(sw.tag(card), sw.workstation_ring())
    assert codes(a) == ["log_forged"]
    assert [(e["seq"], e["status"]) for e in a.log] == [(4, "forged"), (3, "ok"), (2, "ok"), (1, "ok")]
    assert a.balance == 9625  # the log never decides anything


def test_counter_regression_against_the_ledger(used):
    world, n, card = used
    dump = sw.snapshot(card)
    world.tap(A, n, 1000)
    world.collect(A)
    engine.run(world.ledger, sw.DOMAIN)
    sw.restore(card, dump)  # the attacker writes the older image back
    a = check_against_ledger(inspect_card(sw.tag(card), sw.workstation_ring()), world.ledger)
    assert a.seq == 4 and a.ledger["last_seen_seq"] == 5
    assert codes(a) == ["seq_regression", "unexplained_balance"]
    assert [x.kind for x in report_anomalies(world.ledger, a)] == ["rollback", "forgery"]


def test_audit_card_cli_through_the_sim_reader(used, tmp_path):
    world, n, card = used
    ks = tmp_path / "keys.json"
    keystore.save_keystore(str(ks), sw.DOMAIN, demo.DEMO_PASSPHRASE, n=2 ** 4)
    simdir = tmp_path / "sim"
    simdir.mkdir()
    dumps.save(card, str(simdir / "card.mfd"))
    env = {"ICPURSE_DB": "sqlite:///%s" % (world.tmp / "ledger.db"), "ICPURSE_KEYSTORE": str(ks),
           "ICPURSE_KEYSTORE_PASSPHRASE": demo.DEMO_PASSPHRASE, "ICPURSE_OPERATOR": "auditor",
           "ICPURSE_OPERATOR_PASSWORD": sw.PW}
    r = CliRunner().invoke(main, ["audit", "card", "--reader", "sim:%s" % simdir, "--json"], env=env)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["balance"], out["seq"], out["card_number"]) == (9625, 4, n)
    assert [x["code"] for x in out["anomalies"]] == ["ledger_ahead"]
    fields = list(codec.decode_identity(_record(card, layout.IDENTITY_BLOCK)))
    fields[codec.IDENTITY_ISSUER] ^= 1
    _rewrite(card, layout.IDENTITY_BLOCK, codec.encode_identity(*fields))
    dumps.save(card, str(simdir / "card.mfd"))
    r = CliRunner().invoke(main, ["audit", "card", "--reader", "sim:%s" % simdir], env=env)
    assert r.exit_code == 5 and "forged_identity" in r.output


def test_a_card_unknown_to_the_ledger_is_an_anomaly_not_a_crash(tmp_path):
    """Regression: two ledger mixins defined card_by_uid with different semantics (None vs NotFound)."""
    from icpurse.host.audit.card import check_against_ledger
    from icpurse.host.ledger import open_ledger
    from support.ledger import AUDIT_KEY

    class Audit:
        uid = "0A0B0C0D"
        card_number = None

        def __init__(self):
            self.anomalies = []

    ledger = open_ledger("sqlite:///%s" % (tmp_path / "l.db"), audit_key=AUDIT_KEY)
    result = check_against_ledger(Audit(), ledger)
    assert [a.code for a in result.anomalies] == ["unknown_card"]
