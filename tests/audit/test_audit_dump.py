"""`icpurse audit card --dump FILE`: the audit of a card from a dump file, no reader. The same issued
card as raw .mfd, converted by `icpurse dump convert` to Flipper .nfc, Proxmark JSON and MIFARE
Classic Tool text, audits the same in each; a partial or forged dump is reported, a malformed one
refused with exit 2."""
import json

import pytest
from click.testing import CliRunner

from icpurse.hil.sim import dumps as simdumps
from icpurse.host.audit.card import inspect_card
from icpurse.host.cli import main
from icpurse.host.dumps import load
from icpurse.host.dumps.tag import DumpTag
from icpurse.keys import demo, keystore
from icpurse.protocol import layout
from support import store as sw

A = "33000001"


@pytest.fixture
def used(world, tmp_path):
    n, card = world.issue(10000)
    world.reader(A)
    world.sign_in(A)
    world.tap(A, n, 150)
    world.collect(A)
    ks = tmp_path / "keys.json"
    keystore.save_keystore(str(ks), sw.DOMAIN, demo.DEMO_PASSPHRASE, n=2 ** 4)
    env = {"ICPURSE_DB": "sqlite:///%s" % (world.tmp / "ledger.db"), "ICPURSE_KEYSTORE": str(ks),
           "ICPURSE_KEYSTORE_PASSPHRASE": demo.DEMO_PASSPHRASE, "ICPURSE_OPERATOR": "auditor",
           "ICPURSE_OPERATOR_PASSWORD": sw.PW}
    raw = tmp_path / "card.mfd"
    simdumps.save(card, str(raw))
    return world, n, card, raw, env


def audit(env, path, *extra):
    return CliRunner().invoke(main, ["audit", "card", "--dump", str(path), "--json"] + list(extra), env=env)


@pytest.mark.parametrize("ext", [".mfd", ".nfc", ".json", ".mct"])
def test_audit_a_dump_in_each_format(used, tmp_path, ext):
    world, n, card, raw, env = used
    path = raw
    if ext != ".mfd":
        path = tmp_path / ("card" + ext)
        r = CliRunner().invoke(main, ["dump", "convert", str(raw), str(path)])
        assert r.exit_code == 0, r.output
    r = audit(env, path)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["card_number"], out["balance"], out["seq"]) == (n, 9850, 3)
    assert out["uid"] == bytes(card.uid).hex().upper()
    assert [x["code"] for x in out["anomalies"]] == ["ledger_ahead"]  # the sale is not reconciled yet


def test_forged_dump_is_an_integrity_finding(used, tmp_path):
    world, n, card, raw, env = used
    data = bytearray(raw.read_bytes())
    data[16 * layout.IDENTITY_BLOCK + 2] ^= 1  # one bit of the identity record
    forged = tmp_path / "forged.mfd"
    forged.write_bytes(bytes(data))
    r = audit(env, forged, "--no-ledger")
    assert r.exit_code == 5 and "forged_identity" in r.output


def test_partial_dump_says_what_is_missing(used, tmp_path):
    world, n, card, raw, env = used
    d = load(raw)
    first = layout.IDENTITY_BLOCK
    d.blocks[first] = [None] * 16  # the identity block was not read
    tag = DumpTag(d)
    from icpurse.firmware.mifare import MifareError

    with pytest.raises(MifareError):
        inspect_card(tag, sw.workstation_ring())
    from icpurse.host.dumps import save

    save(d, tmp_path / "partial.nfc")
    r = audit(env, tmp_path / "partial.nfc", "--no-ledger")
    assert r.exit_code == 4 and "not (fully) in the dump" in r.output and "Traceback" not in r.output


def test_dump_tag_is_read_only_and_checks_keys(used):
    world, n, card, raw, env = used
    tag = DumpTag(load(raw))
    from icpurse.firmware.mifare import AccessDenied, AuthError

    with pytest.raises(AuthError):
        tag.authenticate(4, b"\x00" * 6)
    with pytest.raises(AccessDenied):
        tag.write_block(4, bytes(16))


def test_dump_tag_keeps_the_tag_contract_on_reads():
    """firmware/tag.py's rules on a transport-configuration dump (keys FF x 6, access FF 07 80 69):
    trailer reads hide key A, a failure ends the session until the next authenticate, caller
    mistakes are ValueErrors; expected bytes from the datasheet's trailer read rules."""
    from icpurse.firmware.tag import AccessDenied, AuthError, Tag
    from icpurse.host.dumps.model import CardDump

    key = b"\xff" * 6
    trailer = key + bytes.fromhex("FF078069") + key
    data = bytearray(1024)
    data[0:8] = bytes.fromhex("DEADBEEF 22 08 0400")
    for t in range(3, 64, 4):
        data[16 * t:16 * t + 16] = trailer
    data[16 * 5:16 * 6] = b"icpurse contract"
    tag = DumpTag(CardDump.from_bytes(bytes(data)))
    assert isinstance(tag, Tag) and (tag.uid, tag.atqa, tag.sak) == (bytes.fromhex("DEADBEEF"), 0x0004, 0x08)
    tag.authenticate(5, key)
    assert tag.read_block(5) == b"icpurse contract"
    assert tag.read_block(7) == bytes(6) + bytes.fromhex("FF078069") + key  # key A reads as zeros
    with pytest.raises(AccessDenied):
        tag.read_block(8)  # another sector than the authenticated one
    with pytest.raises(AccessDenied):
        tag.read_block(5)  # the failure ended the session
    with pytest.raises(AuthError):
        tag.authenticate(5, bytes(6))
    tag.authenticate(5, key)  # after any failure the next authenticate carries on
    assert tag.read_block(5) == b"icpurse contract"
    with pytest.raises(AuthError):
        tag.authenticate(64, key)  # no such block on a 1K
    for bad in (lambda: tag.authenticate(5, b"\xff" * 5), lambda: tag.authenticate(5, key, 0x62),
                lambda: tag.read_block(256)):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.parametrize("content", [b"", b"not a dump", bytes(100)])
def test_malformed_dump_exit_2(used, tmp_path, content):
    world, n, card, raw, env = used
    bad = tmp_path / "bad.mfd"
    bad.write_bytes(content)
    r = audit(env, bad)
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = audit(env, tmp_path / "missing.nfc")
    assert r.exit_code == 2 and "cannot read" in r.output


def test_no_ledger_needs_no_ledger(used, tmp_path):
    """--no-ledger with the demo key set: the dump alone is audited; no ledger is opened or made, no
    operator signs in."""
    world, n, card, raw, env = used
    nowhere = tmp_path / "no-ledger-here.db"
    r = CliRunner().invoke(main, ["audit", "card", "--dump", str(raw), "--no-ledger", "--keystore", "demo", "--json"],
                           env={"ICPURSE_DB": "sqlite:///%s" % nowhere, "ICPURSE_OPERATOR": None,
                                "ICPURSE_KEYSTORE": None})
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["card_number"], out["balance"], out["exceptions"], out["ledger"]) == (n, 9850, [], {})
    assert not nowhere.exists()


def test_dump_and_reader_together_is_a_usage_error(used):
    world, n, card, raw, env = used
    r = CliRunner().invoke(main, ["audit", "card", "--dump", str(raw), "--reader", "sim"], env=env)
    assert r.exit_code == 2
