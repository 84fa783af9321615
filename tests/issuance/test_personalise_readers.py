"""A batch of blank cards personalised through each reader path, then read back by a store reader:
- the in-process `sim` reader (firmware PN532 driver + MIFARE layer on the simulated PN532),
- the virtual ESP32 reader on a pty (`serial:` reader, transparent CARD_* commands),
- pyscard -> the real pcscd -> vpcd -> `icpurse sim serve --pcsc`.
Each path must give the same cards: numbers allocated in sequence, journal done, identity, empty
purse, and the store reader's key A opens them."""
import pytest
from issuance_world import UTILITY, blank_in_stock, new_uid

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.hil.sim.vreader import start_reader_pty
from icpurse.hil.simreader import SimReader
from icpurse.host.issuance.service import CardRequirements, IssueOrder
from icpurse.host.readers.serial import SerialReader
from icpurse.keys import demo, exports
from icpurse.protocol.numbering import card_number_from_bcd, parse_issue_code
from support import link as sl

TERMINAL = 31000001
EXPECTED = ["503110000001", "503110000002", "503110000003"]
FRESH_SEQ = 1 << 24  # layout v2, fresh: generation 1 in the counter's top byte, nothing debited


@pytest.fixture(scope="module")
def reader_ring():
    return exports.reader_keyset(demo.demo_domain(), TERMINAL).to_keyring()


def store_reader_sees(card, reader_ring):
    """(card number, balance, seq) as a store reader (key A only) reads the simulated card."""
    card.faults = None
    if not card.powered:
        card.enter_field()
    access, keys, version = purse.open_card(CardTag(card), reader_ring, purse.KEY_A)
    view = purse.read_card(access, keys, version)
    return card_number_from_bcd(view.card_number), view.balance, view.seq


def check_batch(ledger, results, cards, reader_ring):
    assert [r.outcome for r in results] == ["personalised"] * len(cards), results
    assert [r.card_number for r in results] == EXPECTED[:len(cards)]
    for card, number in zip(cards, EXPECTED):
        assert store_reader_sees(card, reader_ring) == (number, 0, FRESH_SEQ)
        journal = ledger.personalisation_records.personalisation(card.uid.hex().upper())
        assert journal.state == "done" and journal.card_number == number
    assert ledger.audit.verify_audit_log() is None
    assert [e.card_number for e in ledger.audit.audit_entries(action="card.personalise.done")] == EXPECTED[:len(cards)]


class HopperSimReader(SimReader):
    """The in-process sim reader with a card hopper: eject() puts the next blank in the field."""

    def __init__(self, state_dir, cards):
        SimReader.__init__(self, state_dir)
        self.queue = list(cards)
        for i, card in enumerate(self.queue):
            self.deck.add("blank%d" % i, card)
        self.position = 0
        self.deck.present("blank0")

    def eject(self):
        self.position += 1
        if self.position < len(self.queue):
            self.deck.present("blank%d" % self.position)
        else:
            self.deck.remove()


def test_batch_through_the_in_process_sim_reader(ledger, station, reader_ring, tmp_path):
    cards = [blank_in_stock(ledger) for _ in range(3)]
    reader = HopperSimReader(tmp_path / "sim", cards)
    progress = []
    results = station.personalise_batch(reader, UTILITY, until_empty=True, card_timeout=0,
                                        progress=lambda i, done, total: progress.append((i, done, total)))
    check_batch(ledger, results, cards, reader_ring)
    assert {i for i, _, _ in progress} == {0, 1, 2} and progress[-1][1] == progress[-1][2]


def test_4k_card_through_the_in_process_sim_reader(ledger, station, reader_ring, tmp_path):
    card = blank_in_stock(ledger, size="4k")
    reader = HopperSimReader(tmp_path / "sim", [card])
    order = IssueOrder("utility-payment", "anonymous", 50000, card=CardRequirements(size="4k"))
    (result,) = station.personalise_batch(reader, order, count=1)
    assert result.outcome == "personalised" and result.card_number == "503120000001"
    assert result.sectors_written == 4  # layout v2: MAD, identity, purse + MAD2 (sector 16)
    assert store_reader_sees(card, reader_ring) == ("503120000001", 0, FRESH_SEQ)


@pytest.fixture
def esp32(tmp_path):
    """The virtual ESP32 reader on a pty, provisioned and configured for issuance (transparent)."""
    from icpurse.host.readers.serial import LinkClient

    vr, pty, stop = start_reader_pty(tmp_path / "reader")
    client = LinkClient(pty.path, timeout=3)
    kv = demo.demo_domain().version(1)
    sl.provision(vr, client, TERMINAL, kv["sector_a"].material, kv["purse_mac"].material, kv["journal"].material,
                 issuer=demo.DEMO_ISSUER, transparent=True)
    client.close()
    try:
        yield vr, pty
    finally:
        stop.set()


class HopperSerialReader(SerialReader):
    def __init__(self, port, deck, names):
        SerialReader.__init__(self, port)
        self.deck, self.names, self.position = deck, names, 0
        deck.present(names[0])

    def eject(self):
        self.position += 1
        if self.position < len(self.names):
            self.deck.present(self.names[self.position])
        else:
            self.deck.remove()

    def close(self):
        self.client.close()


def test_batch_through_the_virtual_esp32_reader(ledger, station, reader_ring, esp32):
    vr, pty = esp32
    cards = [blank_in_stock(ledger) for _ in range(3)]
    for i, card in enumerate(cards):
        vr.deck.add("blank%d" % i, card)
    reader = HopperSerialReader(pty.path, vr.deck, ["blank0", "blank1", "blank2"])
    try:
        results = station.personalise_batch(reader, UTILITY, count=3)
    finally:
        reader.close()
    check_batch(ledger, results, cards, reader_ring)


@pytest.mark.pcsc
def test_batch_through_pyscard_pcscd_vpcd_and_the_simulator(ledger, station, reader_ring, pcscd, start_sim):
    from icpurse.host.readers.pcsc import PcscReader

    uids = [new_uid() for _ in range(2)]  # ~50 ms per APDU through pcscd: two cards make the batch
    ledger.stock.receive_stock("finance", "B-PCSC", uids)
    args = ["--pcsc"]
    for i, u in enumerate(uids):
        args += ["--card", "blank%d=1k:%s" % (i, u.hex())]
    sim = start_sim(*args)
    sim.command("present blank0")

    class HopperPcscReader(PcscReader):
        position = 0

        def eject(self):
            self.position += 1
            sim.command("present blank%d" % self.position if self.position < len(uids) else "remove")

    from support.simproc import wait_for

    reader = wait_for(lambda: _pcsc_reader(HopperPcscReader, sim.pcsc), what="the virtual PC/SC reader")
    results = station.personalise_batch(reader, UTILITY, count=len(uids), card_timeout=10)
    cards = []
    for i in range(len(uids)):
        card = factory.blank_card(uids[i])
        dump = sim.dump("blank%d" % i)
        for b in range(64):
            card.blocks[b][:] = dump[16 * b:16 * (b + 1)]
        cards.append(card)
    check_batch(ledger, results, cards, reader_ring)


def _pcsc_reader(cls, name):
    try:
        return cls(name)
    except Exception:  # pcscd has not seen the vpcd reader yet
        return None


def test_a_card_in_the_identity_of_its_programme(ledger, station, tmp_path):
    """The identity written is what the programme and the order say (codec order, reference values)."""
    card = blank_in_stock(ledger)
    reader = HopperSimReader(tmp_path / "sim", [card])
    order = IssueOrder("mofcom-compliant", "anonymous", 10000, issue_code=parse_issue_code("2026J2(4-3)"))
    (result,) = station.personalise_batch(reader, order, count=1)
    # no numbering scheme: programme number (1: the first programme this ledger issued) + serial
    assert result.ok and result.card_number == "000100000001"
    journal = ledger.personalisation_records.personalisation(card.uid.hex().upper())
    ident = journal.identity
    assert ident[codec.IDENTITY_ISSUER] == demo.DEMO_ISSUER == 0xD0
    assert ident[codec.IDENTITY_PROGRAMME] == 1
    assert ident[codec.IDENTITY_CARD_NUMBER] == bytes.fromhex("000100000001")
    assert ident[codec.IDENTITY_CARD_KIND] == ord("J") == codec.KIND_COMMEMORATIVE
    assert ident[codec.IDENTITY_FLAGS] == 0  # anonymous
    assert ident[codec.IDENTITY_ISSUE_YEAR:codec.IDENTITY_ISSUE_SET_INDEX + 1] == (2026, 2, 4, 3)
    # issued 2026-03-02 (business day in UTC+8) = day 9557 since 2000-01-01; 3 years' validity
    assert ident[codec.IDENTITY_ISSUE_DATE] == 9557
    assert ident[codec.IDENTITY_EXPIRY] == 9557 + 365 + 365 + 366  # to 2029-03-02 (2028 is a leap year)


@pytest.mark.parametrize("kind, needle", [("ultralight", "Ultralight"), ("desfire", "DESFire"),
                                          ("iso14443-4", "ISO 14443-4")])
def test_a_card_that_is_not_mifare_classic_is_refused_on_the_sim_reader(ledger, station, tmp_path, kind, needle):
    from icpurse.hil.sim.othercards import OtherCard

    other = OtherCard(kind)
    ledger.stock.receive_stock("finance", "B-%s" % kind, [other.uid])
    reader = HopperSimReader(tmp_path / "sim", [other])
    before = [(e.action, e.result) for e in ledger.audit.audit_entries()]
    (result,) = station.personalise_batch(reader, UTILITY, count=1)
    assert result.outcome == "refused" and needle in result.message and "not MIFARE Classic" in result.message
    assert other.commands == 0  # refused on ATQA/SAK, before any card command
    assert [(e.action, e.result) for e in ledger.audit.audit_entries()] == before
    assert ledger.personalisation_records.personalisation(other.uid) is None
