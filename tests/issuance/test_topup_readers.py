"""The counter scenario through real reader stacks: top up and void, card and ledger equal, read
back through the same reader —
(1) pyscard -> pcscd -> vpcd -> `icpurse sim serve --pcsc` (the card issued beforehand on the fast
path and handed to the simulator as its dump: personalising through PC/SC is covered by
test_personalise_readers.py), and (2) the virtual ESP32 reader on a pty (host/readers/serial.
SerialReader, transparent card access), where the card is also personalised, sold and activated
through the reader, and a card pulled mid-write is settled by re-confirmation."""
import pytest

from icpurse.hil.sim import dumps, factory
from icpurse.hil.sim.tag import CardTag
from icpurse.hil.sim.vreader import start_reader_pty
from icpurse.host.issuance.topup import reconfirm, top_up, unconfirmed, void
from icpurse.keys import demo
from support import link as sl
from topup_world import Recorder, card_state, issue

TERMINAL = 31000007


@pytest.fixture
def ring(demo_keyset):
    return demo_keyset.to_keyring()


def scenario(ledger, tag, ring, issuer, number):
    """Top up, void; card (read back through the same reader) == ledger at each step."""
    assert card_state(tag, ring)[0] == ledger.books.outstanding_balance(number) == 10000
    t = top_up(ledger, tag, ring, 23456, "seller", card=number, issuer=issuer, migrate=False)
    assert t.state == "confirmed"
    assert card_state(tag, ring)[:2] == (33456, 33456) and ledger.books.outstanding_balance(number) == 33456
    v = void(ledger, tag, ring, t.txn_id, "finance", amount=23456, issuer=issuer)
    assert v.state == "voided"
    balance, value, seq = card_state(tag, ring)
    assert balance == value == ledger.books.outstanding_balance(number) == 10000 and seq == 4
    assert ledger.topup_records.topup(t.txn_id).state == "voided" and unconfirmed(ledger) == []


@pytest.mark.pcsc
def test_top_up_and_void_through_pcsc(pcscd, start_sim, ledger, ring, demo_keyset, tmp_path):
    from icpurse.host.readers.pcsc import PcscReader

    from support.simproc import wait_for

    uid = bytes.fromhex("7E0000A1")
    card = factory.blank_card(uid)
    number = issue(ledger, CardTag(card), ring, demo_keyset.issuer, face_value=10000)
    state = tmp_path / "sim-state"
    state.mkdir()
    dumps.save(card, str(state / ("%s.mfd" % uid.hex())))
    # fixtures of tests/sim, imported by tests/issuance/conftest.py
    sim = start_sim("--pcsc", "--state", str(state), "--card", "one=1k:%s" % uid.hex())
    sim.command("present one")
    reader = wait_for(lambda: _pcsc_reader(PcscReader, sim.pcsc), what="the virtual PC/SC reader")
    # vpcd serves one simulator at a time: wait for ours (another test run's may hold it for a while)
    tag = wait_for(lambda: _card(reader, uid), timeout=90, what="our card in %s" % sim.pcsc)
    try:
        scenario(ledger, tag, ring, demo_keyset.issuer, number)
    finally:
        _release(tag)
    dump = sim.dump("one")
    assert dump[8 * 16:8 * 16 + 4] == (10000).to_bytes(4, "little")  # the simulator's balance block


def _pcsc_reader(cls, name):
    try:
        return cls(name)
    except Exception:  # pcscd has not seen the virtual reader yet
        return None


def _card(reader, uid):
    try:
        tag = reader.wait_for_card(0.5)
    except Exception:
        return None
    if tag.uid != uid:
        _release(tag)
        return None
    return tag


def _release(tag):
    conn = getattr(tag, "conn", None) or getattr(tag, "connection", None)
    for step in ("disconnect", "release"):
        try:
            getattr(conn, step)()
        except Exception:
            pass


@pytest.fixture
def esp32(tmp_path):
    """The virtual ESP32 reader with a blank card in its field, provisioned and set to transparent."""
    from icpurse.host.readers.serial import SerialReader

    vr, pty, stop = start_reader_pty(tmp_path / "reader")
    card = factory.blank_card(bytes.fromhex("7E0000B2"))
    vr.deck.add("blank", card)
    vr.deck.present("blank")
    reader = SerialReader(pty.path)
    reader.client.timeout = 3
    domain = demo.demo_domain()
    kv = domain.version(1)
    sl.provision(vr, reader.client, TERMINAL, kv["sector_a"].material, kv["purse_mac"].material,
                 kv["journal"].material, issuer=0, transparent=True)
    try:
        yield reader, card, vr
    finally:
        reader.client.close()
        stop.set()


def test_top_up_and_void_through_the_virtual_esp32(esp32, ledger, ring, demo_keyset):
    reader, card, vr = esp32
    tag = reader.wait_for_card(3)
    number = issue(ledger, tag, ring, demo_keyset.issuer, face_value=10000)  # personalise etc. through the reader
    scenario(ledger, tag, ring, demo_keyset.issuer, number)
    # pulled as the slot's last block is written: unconfirmed, then settled by re-confirmation
    card.faults = Recorder(tear_write=2, mode="new")
    out = top_up(ledger, reader.wait_for_card(3), ring, 500, "seller", migrate=False)
    assert out.state == "unconfirmed"
    card.faults = None
    vr.deck.present("blank")
    (settled,) = reconfirm(ledger, reader.wait_for_card(3), ring)
    assert settled.state == "confirmed"
    assert reconfirm(ledger, reader.wait_for_card(3), ring) == []
    tag = reader.wait_for_card(3)
    assert card_state(tag, ring)[:2] == (10500, 10500) and ledger.books.outstanding_balance(number) == 10500
