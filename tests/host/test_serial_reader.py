"""The virtual ESP32 reader on a pty, driven by the host's pyserial LinkClient: provisioning,
sign-in, debit, journal collection, and issuance through the transparent CARD_* commands."""
import pytest

from icpurse.firmware import codec, purse
from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.hil.sim import factory
from icpurse.hil.sim.vreader import start_reader_pty
from icpurse.host.issuance.personalise import personalise
from icpurse.host.readers.serial import LinkClient, ReaderLinkError, SerialTag
from support import link as sl

h = bytes.fromhex
M = dict(sector_a=h("11" * 16), sector_b=h("22" * 16), purse_mac=h("33" * 16), load_mac=h("44" * 16))
JOURNAL_MASTER = h("99" * 16)
TERMINAL = 31000001
UID = h("04A1B2C3")


@pytest.fixture
def rig(tmp_path):
    vr, pty, stop = start_reader_pty(tmp_path / "reader")
    vr.deck.add("blank", factory.blank_card(UID))
    vr.deck.present("blank")
    client = LinkClient(pty.path, timeout=3)
    yield vr, client
    client.close()
    stop.set()


def issuer():
    return KeyRing([KeySet(1, M["sector_a"], M["purse_mac"], sector_b=M["sector_b"], load_mac=M["load_mac"])])


def test_issue_top_up_and_debit_through_the_virtual_esp32(rig):
    vr, client = rig
    info = client.info()
    assert info["key_version"] == 0 and info["link_version"] == codec.LINK_VERSION
    sl.provision(vr, client, TERMINAL, M["sector_a"], M["purse_mac"], JOURNAL_MASTER, grace_days=30, transparent=True)
    # issuance through the reader (keys pass through, never stored)
    tag = SerialTag(client)
    assert tag.uid == UID
    keys = issuer().for_card(UID, 1)
    personalise(tag, keys, factory.identity_fields(1), now=1000)
    tag = SerialTag(client)
    access, k, v = purse.open_card(tag, issuer(), purse.KEY_B)
    view = purse.recover(access, purse.read_card(access, k, v))
    purse.commit(access, view, purse.plan_credit(view, 8800, purse.Policy(), 9000, codec.TXN_LOAD), 1000)
    # the store side: blacklist, sign in, debit
    listed = [b"\x50\x31\x00\x00\x09\x99"]
    client.load_blacklist(3, listed)
    with pytest.raises(ReaderLinkError) as e:
        sl.sign_in(client, JOURNAL_MASTER, TERMINAL, grace_days=30, blacklist=(4, listed))
    assert e.value.code == codec.LINK_ERR_BAD_CONFIG  # the reader's blacklist is not the signed one
    sl.sign_in(client, JOURNAL_MASTER, TERMINAL, grace_days=30, blacklist=(3, listed))
    result = client.debit(1250, pos_ref=42)
    assert result["balance"] == 7550 and result["amount"] == 1250
    card = client.read_card()
    assert card["balance"] == 7550 and card["log"][0]["amount"] == 1250
    records = client.fetch_journal()
    assert len(records) == 2
    client.ack_journal(2)
    assert client.info()["journal_acked"] == 2
    totals = client.day_close()
    assert totals["debit_count"] == 1 and totals["debit_sum"] == 1250


def test_store_reader_refuses_transparent_access(rig):
    vr, client = rig
    sl.provision(vr, client, TERMINAL, M["sector_a"], M["purse_mac"], JOURNAL_MASTER, transparent=False)
    with pytest.raises(ReaderLinkError) as e:
        SerialTag(client)
    assert "transparent" in e.value.message
