"""Readers unplugged and cards pulled mid-command: the host's LinkClient over a pty whose far end
goes away, the in-process sim reader whose PN532 stops answering, a PC/SC card removed. Each gives
a clear error, is not blindly retried, and changes nothing on the card or in the reader's journal."""
import os
import threading
import tty

import pytest
import purse_fixtures as fx
import reader_fixtures as rx

from icpurse.firmware import codec, link, purse
from icpurse.firmware.mifare import TagGone
from icpurse.firmware.pn532 import PN532Error
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pcsc import StorageCardPersona
from icpurse.hil.sim.vreader import ReaderEndpoint
from icpurse.host.readers import open_reader
from icpurse.host.readers.pcsc import PcscTag
from icpurse.host.readers.serial import LinkClient, LinkTimeout, ReaderGone


class Cable:
    """A USB cable on a pty between LinkClient and a virtual reader, that can be pulled: after the
    host's request arrives (before or after the reader handled it) the far end closes."""

    def __init__(self, vr, pull="before"):
        self.endpoint = ReaderEndpoint(vr)
        self.pull = pull  # "before": the reader never sees the request; "after": it ran, no answer
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self.client = LinkClient(self.path, timeout=2)
        os.close(slave)  # the host's own descriptor keeps the port open
        self.requests = []
        self.thread = threading.Thread(target=self._far_end, daemon=True)
        self.thread.start()

    def _far_end(self):
        frames = link.FrameReader()
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            frames.feed(data)
            frame = frames.next()
            if frame is None:
                continue
            self.requests.append(frame.command)
            if self.pull == "after":
                self.endpoint.write(link.encode_frame(frame.kind, frame.seq, frame.command, frame.payload))
            os.close(self.master)  # pulled
            return

    def close(self):
        self.thread.join(5)
        self.client.close()


@pytest.fixture
def vr():
    return rx.reader()


def _card_state(card):
    return card.to_mfd()


def test_unplugged_during_info_is_a_clear_error_not_retried(vr):
    cable = Cable(vr)
    with pytest.raises(ReaderGone) as e:
        cable.client.info()
    cable.close()
    msg = str(e.value)
    assert cable.path in msg and "disconnected" in msg and "plug it back in" in msg
    assert isinstance(e.value, LinkTimeout)  # callers that handle a silent reader handle this too
    assert cable.requests == [codec.LINK_CMD_INFO]  # a dead port is not retried


def test_unplugged_before_the_debit_reached_the_reader_changes_nothing(vr):
    card = fx.new_card(balance=1000)
    rx.present(vr, card)
    before, journal_before = _card_state(card), rx.journal(vr)
    cable = Cable(vr, pull="before")
    with pytest.raises(ReaderGone, match="journal"):
        cable.client.debit(100, timeout_ms=500)
    cable.close()
    assert cable.requests == [codec.LINK_CMD_DEBIT]
    assert _card_state(card) == before and rx.journal(vr) == journal_before == []


def test_unplugged_after_the_reader_debited_the_sale_is_in_its_journal_once(vr):
    card = fx.new_card(balance=1000)
    rx.present(vr, card)
    cable = Cable(vr, pull="after")
    with pytest.raises(ReaderGone):
        cable.client.debit(100, timeout_ms=500)
    cable.close()
    assert cable.requests == [codec.LINK_CMD_DEBIT]  # never sent twice
    total, per_txn = rx.committed_debits(rx.journal(vr))
    assert total == 100 and list(per_txn.values()) == [1]
    assert fx.balance_block(card) == 900


def test_serial_port_that_does_not_exist(tmp_path):
    with pytest.raises(LinkTimeout, match="cannot open"):
        LinkClient(str(tmp_path / "ttyUSB9"))


# --- the in-process sim reader: the PN532 stops answering (USB-UART unplugged) -------------------

def _sim_reader_with_issued_card(tmp_path):
    reader = open_reader("sim:%s" % tmp_path)
    card = fx.new_card(balance=1000)
    card.faults = None
    reader.deck.add("issued", card)
    reader.deck.swap("issued")
    return reader, card


def test_sim_reader_unplugged_before_the_commit_changes_nothing(tmp_path):
    reader, card = _sim_reader_with_issued_card(tmp_path)
    tag = reader.wait_for_card(1)
    access, keys, v = purse.open_card(tag, fx.reader_ring())
    view = purse.recover(access, purse.read_card(access, keys, v))
    plan = purse.plan_debit(view, 100, purse.Policy(), fx.TODAY, fx.TERMINAL, 1)
    before = _card_state(card)
    reader.chip.write = lambda data: None  # the chip hears nothing any more
    with pytest.raises(PN532Error) as e:
        purse.commit(access, view, plan, fx.NOW)
    assert e.value.status is None and "ACK" in str(e.value)  # a link failure, not a card answer
    assert _card_state(card) == before


@pytest.mark.parametrize("allowed", range(0, 3))
def test_card_pulled_before_the_commit_point_changes_nothing(allowed):
    """The card leaves the field after `allowed` more commands of a debit: 0 = at the
    authentication, 1 = at the first slot write, 2 = between the two slot blocks (the slot, the
    commit point, is then torn). The tap fails with TagGone; the bytes are untouched in the first
    two cases, and in every case the card still reads as before the debit."""
    card = fx.new_card(balance=1000)
    access, view = fx.tap(card)
    seq = view.seq
    plan = purse.plan_debit(view, 100, purse.Policy(), fx.TODAY, fx.TERMINAL, 1)
    before = _card_state(card)
    card.faults.remove_after(allowed)
    access.forget()  # commit authenticates again: that command counts too
    with pytest.raises(TagGone):
        purse.commit(access, view, plan, fx.NOW)
    if allowed < 2:
        assert _card_state(card) == before
    card.enter_field()
    _, again = fx.tap(card)
    assert (again.balance, again.seq) == (1000, seq) and fx.balance_block(card) == 1000


# --- PC/SC: the card is taken off the reader mid-command ---------------------------------------------

class _PcscConnection:
    """pyscard's CardConnection as PcscTag uses it, over the simulator's storage-card persona; like
    pcsclite, it raises CardConnectionException once the card is gone."""

    def __init__(self, deck):
        self.deck = deck
        self.persona = StorageCardPersona(deck)
        self.persona.power_on()

    def getATR(self):
        return list(self.persona.atr())

    def transmit(self, apdu):
        if self.deck.in_field is None:
            from smartcard import Exceptions as pcsc_errors

            raise pcsc_errors.CardConnectionException("Card was removed.")
        rsp = bytes(self.persona.transmit(bytes(apdu)))
        return list(rsp[:-2]), rsp[-2], rsp[-1]


@pytest.mark.pcsc  # pyscard
def test_pcsc_card_removed_mid_debit_changes_nothing():
    deck = Deck()
    card = fx.new_card(balance=1000)
    card.faults = None
    deck.add("c", card)
    deck.present("c")
    tag = PcscTag(_PcscConnection(deck))
    access, keys, v = purse.open_card(tag, fx.reader_ring())
    view = purse.recover(access, purse.read_card(access, keys, v))
    plan = purse.plan_debit(view, 100, purse.Policy(), fx.TODAY, fx.TERMINAL, 1)
    before = _card_state(card)
    deck.remove()
    with pytest.raises(TagGone) as e:
        purse.commit(access, view, plan, fx.NOW)
    assert "card left the reader" in str(e.value)
    assert _card_state(card) == before
