"""Role-scoped exports, firmware KeySets and key-version rollover."""
import json

import pytest

from icpurse.firmware import codec
from icpurse.firmware.keyring import KeySet, NoKey
from icpurse.keys import exports, keystore
from icpurse.keys.hierarchy import Key
from icpurse.protocol.crypto import kdf

from keyhelpers import FAST_N, assert_no_material

UID = bytes.fromhex("04a1b2c3d4e5f6")
TERMINAL = 12345678


def _hexes(domain, *names):
    return {kv[n].material.hex() for kv in domain.versions.values() for n in names}


def test_reader_export_holds_only_reader_keys(domain):
    exports.rollover(domain)
    ex = exports.reader_keyset(domain, TERMINAL)
    assert ex.role == "reader" and ex.terminal == TERMINAL
    assert sorted(ex.versions) == [1, 2]
    for v, keys in ex.versions.items():
        assert set(keys) == {"sector_a", "purse_mac", "journal", "link", "config", "transport"}
        assert keys["sector_a"] == domain.version(v)["sector_a"]
        assert keys["purse_mac"] == domain.version(v)["purse_mac"]
        # the terminal's own journal, link, configuration and transport keys, never the journal master
        master = domain.version(v)["journal"].material
        assert keys["journal"].material == kdf.journal_key(master, TERMINAL, v)
        assert keys["link"].material == kdf.link_key(master, TERMINAL, v)
        assert keys["config"].material == kdf.config_key(master, TERMINAL, v)
        assert keys["transport"].material == kdf.transport_key(master, TERMINAL, v)
        assert len({keys[n].material for n in ("journal", "link", "config", "transport")}) == 4
    dump = json.dumps(ex.to_secret_dict())
    for forbidden in _hexes(domain, "sector_b", "load_mac", "journal"):
        assert forbidden not in dump


def test_readers_get_different_journal_keys(domain):
    a = exports.reader_keyset(domain, 1)
    b = exports.reader_keyset(domain, 2)
    assert a.versions[1]["journal"] != b.versions[1]["journal"]
    assert a.versions[1]["sector_a"] == b.versions[1]["sector_a"]


def test_reader_keysets_for_the_firmware(domain):
    sets = exports.reader_keyset(domain, TERMINAL).to_keysets()
    assert len(sets) == 1 and isinstance(sets[0], KeySet)
    ks = sets[0]
    assert (ks.version, ks.sector_b, ks.load_mac) == (1, None, None)
    assert ks.role() == "reader"
    assert ks.sector_a == domain.version(1)["sector_a"].material
    assert ks.journal == kdf.journal_key(domain.version(1)["journal"].material, TERMINAL, 1)
    card = exports.reader_keyset(domain, TERMINAL).to_keyring().for_card(UID, 1)
    assert card.sector_key(2, codec.MF_AUTH_A) == kdf.sector_key(domain.version(1)["sector_a"].material,
                                                                 UID, 2, "A", 1)
    with pytest.raises(NoKey):
        card.sector_key(2, codec.MF_AUTH_B)  # a reader cannot get key B, even by mistake


def test_workstation_export(domain):
    exports.rollover(domain)
    ex = exports.workstation_keyset(domain)
    assert sorted(ex.versions) == [1, 2]  # every version: old cards are re-keyed at their next top-up
    for keys in ex.versions.values():
        assert set(keys) == {"sector_a", "sector_b", "purse_mac", "load_mac"}
    assert all(j not in json.dumps(ex.to_secret_dict()) for j in _hexes(domain, "journal"))
    ks = ex.to_keysets()[0]
    assert ks.version == 2 and ks.role() == "issuer" and ks.journal is None
    assert ks.load_mac == domain.version(2)["load_mac"].material
    card = ex.to_keyring().for_card(UID, 2)
    assert card.sector_key(3, codec.MF_AUTH_B) == kdf.sector_key(domain.version(2)["sector_b"].material,
                                                                 UID, 3, "B", 2)


def test_rollover_current_and_previous(domain):
    v1 = domain.version(1).masters.copy()
    assert exports.rollover(domain) == 2
    assert (domain.current, domain.previous) == (2, 1)
    assert domain.version(1).masters == v1  # n is kept unchanged
    assert all(domain.version(2)[n] != v1[n] for n in v1)
    assert exports.rollover(domain) == 3
    assert sorted(exports.reader_keyset(domain, TERMINAL).versions) == [2, 3]  # v1 no longer in readers
    assert sorted(exports.workstation_keyset(domain).versions) == [1, 2, 3]
    assert [v["status"] for v in domain.summary()["versions"]] == ["older", "previous", "current"]


def test_rollover_stops_at_255(domain):
    domain.versions[255] = domain.versions.pop(1)
    domain.versions[255].version = 255
    domain.current = 255
    with pytest.raises(exports.ExportError, match="no key version left"):
        exports.rollover(domain)


def test_explicit_versions(domain):
    exports.rollover(domain)
    assert sorted(exports.reader_keyset(domain, TERMINAL, versions=[1]).versions) == [1]
    with pytest.raises(KeyError, match="no key version 9"):
        exports.reader_keyset(domain, TERMINAL, versions=[9])


def test_export_refuses_foreign_keys():
    with pytest.raises(exports.ExportError, match="holds exactly"):
        exports.RoleExport("reader", 7, 1, {1: {"sector_a": Key(bytes(16)), "purse_mac": Key(bytes(16)),
                                                "journal": Key(bytes(16)), "sector_b": Key(bytes(16))}},
                           terminal=1)


def test_export_file_round_trip(tmp_path, domain):
    ex = exports.reader_keyset(domain, TERMINAL)
    path = str(tmp_path / "reader.json")
    exports.save_export(path, ex, "transport", n=FAST_N)
    text = open(path).read()
    assert json.loads(text)["content"] == "reader-export"
    assert_no_material(text, domain, ex)
    again = exports.load_export(path, "transport")
    assert again.versions == ex.versions and again.terminal == TERMINAL and again.role == "reader"
    with pytest.raises(keystore.WrongPassphrase):
        exports.load_export(path, "wrong")


def test_keystore_is_not_an_export(tmp_path, domain):
    path = str(tmp_path / "ks.json")
    keystore.save_keystore(path, domain, "pw", n=FAST_N)
    with pytest.raises(keystore.KeystoreError, match="not a key export"):
        exports.load_export(path, "pw")


def test_export_repr_and_summary_show_kcvs_only(domain):
    for ex in (exports.reader_keyset(domain, TERMINAL), exports.workstation_keyset(domain)):
        assert_no_material(repr(ex) + json.dumps(ex.summary()), domain, ex)
        assert ex.summary()["versions"][0]["kcv"]["sector_a"] == domain.version(1)["sector_a"].kcv
