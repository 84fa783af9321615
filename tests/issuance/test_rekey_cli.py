"""`icpurse topup` on a card of the previous key version, after `icpurse keys rollover` of the demo
keystore: the card is re-keyed to the new current version, then topped up (in-process sim reader,
the card kept as an .mfd dump)."""
import json

import pytest
from click.testing import CliRunner

from icpurse.firmware import codec, purse
from icpurse.firmware.keyring import KeyRing
from icpurse.hil.sim import dumps
from icpurse.hil.sim.tag import CardTag
from icpurse.host.cli import main
from icpurse.host.ledger import open_ledger
from icpurse.keys import demo, exports, keystore
from support.ledger import PW
from topup_world import card_state, sim_card


def test_topup_rekeys_a_card_of_the_previous_version_after_keys_rollover(ledger, ledger_url, clock, tmp_path,
                                                                         monkeypatch):
    import icpurse.host.clikit.session as clikit_session

    monkeypatch.setattr(clikit_session, "open_ledger",
                        lambda url=None, **kw: open_ledger(url, clock=clock, **kw))
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", PW)
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, demo.DEMO_PASSPHRASE)
    monkeypatch.delenv("ICPURSE_READER", raising=False)
    monkeypatch.delenv("ICPURSE_KEYSTORE", raising=False)
    store = str(tmp_path / "demo.keystore")
    runner = CliRunner()
    r = runner.invoke(main, ["keys", "demo", "--keystore", store, "--kdf-n", "1024"])
    assert r.exit_code == 0, r.output
    one = exports.workstation_keyset(keystore.load_keystore(store, demo.DEMO_PASSPHRASE)).to_keyring()
    card, number = sim_card(ledger, one, demo.DEMO_ISSUER, version=1)
    r = runner.invoke(main, ["keys", "rollover", "--keystore", store, "--components-out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    domain = keystore.load_keystore(store, demo.DEMO_PASSPHRASE)
    assert domain.current == 2
    state = tmp_path / "reader"
    state.mkdir()
    dumps.save(card, str(state / "card.mfd"))

    ledger.outlets.register_kiosk("admin", "31000001", "Kiosk Hall", "Example Retail")
    ledger.outlets.sign_in_kiosk("seller", "31000001")
    r = runner.invoke(main, ["topup", number, "2500", "--json", "--reader", "sim:%s" % state, "--keystore", store,
                             "--db", ledger_url, "--operator", "seller", "--terminal", "31000001"])
    assert r.exit_code == 0, r.output
    text = r.output
    doc = json.JSONDecoder().raw_decode(text[text.index("{"):])[0]
    (out,) = doc["outcomes"]
    assert out["state"] == "confirmed" and out["card_balance"] == 52500
    assert "re-keyed to key version 2" in out["message"]
    assert ledger.cards.card(number).key_version == 2 and ledger.books.outstanding_balance(number) == 52500
    # the card on the reader: a store reader of version 2 only reads it, version 1 does not open it
    after = dumps.load(str(state / "card.mfd"))
    reader = exports.reader_keyset(domain, 31000001)
    v2_only = KeyRing([ks for ks in reader.to_keysets() if ks.version == 2])
    assert card_state(CardTag(after), v2_only)[:2] == (52500, 52500)
    v1_only = KeyRing([ks for ks in reader.to_keysets() if ks.version == 1])
    with pytest.raises(purse.Refused) as e:
        card_state(CardTag(after), v1_only)
    assert e.value.code == codec.R_WRONG_KEY_VERSION
