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


@pytest.mark.parametrize("content", [b"", b"not a dump", bytes(100)])
def test_malformed_dump_exit_2(used, tmp_path, content):
    world, n, card, raw, env = used
    bad = tmp_path / "bad.mfd"
    bad.write_bytes(content)
    r = audit(env, bad)
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = audit(env, tmp_path / "missing.nfc")
    assert r.exit_code == 2 and "cannot read" in r.output


def test_dump_and_reader_together_is_a_usage_error(used):
    world, n, card, raw, env = used
    r = CliRunner().invoke(main, ["audit", "card", "--dump", str(raw), "--reader", "sim"], env=env)
    assert r.exit_code == 2
