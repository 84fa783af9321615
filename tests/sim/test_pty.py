"""The PN532 model behind a pseudo-terminal, driven in-process: bytes written to the slave reach the
chip, its ACK + response come back. Frames: GetFirmwareVersion as the NXP PN532 User
Manual frames it, and libnfc's wake-up preamble (docs/simulator.md, "The PN532")."""
import os
import select
import termios

import pytest

from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.pn532 import PN532
from icpurse.hil.sim.pty import PtyLink
from support.frames import information_frame as build  # build(TFI + PD)

GET_FIRMWARE_VERSION = bytes.fromhex("0000FF02FED4022A00")
ACK = bytes.fromhex("0000FF00FF00")
FIRMWARE_REPLY = bytes.fromhex("0000FF06FAD503320106 07E800".replace(" ", ""))
WAKEUP = bytes.fromhex("5555") + bytes(14)  # libnfc pn532_uart_wakeup()
WAIT_S = 5.0


@pytest.fixture
def link(tmp_path):
    deck = Deck()
    deck.add("one", ClassicCard(bytes.fromhex("DEADBEEF"), "1k"))
    deck.present("one")
    link = PtyLink(PN532(deck, clock=VirtualClock()), link=str(tmp_path / "pn532"))
    try:
        yield link
    finally:
        link.close()


def open_host(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    os.set_blocking(fd, False)
    return fd


def exchange(link, host, data, expect_len):
    """Host writes `data`; the link forwards it; return what the host reads back (bounded)."""
    os.write(host, data)
    got = b""
    while len(got) < expect_len:
        ready, _, _ = select.select([link.fileno(), host], [], [], WAIT_S)
        assert ready, "no progress; got %s" % got.hex()
        if link.fileno() in ready:
            link.on_readable()
        if host in ready:
            got += os.read(host, 4096)
    return got


def test_get_firmware_version_through_the_pty(link):
    host = open_host(link.path)
    try:
        assert exchange(link, host, WAKEUP + GET_FIRMWARE_VERSION, 6 + 13) == ACK + FIRMWARE_REPLY
    finally:
        os.close(host)


def test_symlink_points_at_the_slave(link, tmp_path):
    assert os.path.realpath(str(tmp_path / "pn532")) == os.path.realpath(link.path)
    host = open_host(str(tmp_path / "pn532"))
    try:
        assert exchange(link, host, GET_FIRMWARE_VERSION, 19) == ACK + FIRMWARE_REPLY
    finally:
        os.close(host)


def test_host_may_close_and_reopen_and_set_any_baud(link):
    host = open_host(link.path)
    assert exchange(link, host, GET_FIRMWARE_VERSION, 19) == ACK + FIRMWARE_REPLY
    os.close(host)
    link.on_readable()  # nothing to read and no EIO: the link keeps its own slave descriptor open
    host = open_host(link.path)
    try:
        attrs = termios.tcgetattr(host)
        attrs[4] = attrs[5] = termios.B9600  # a pty ignores the baud; the clock models it
        termios.tcsetattr(host, termios.TCSANOW, attrs)
        assert exchange(link, host, GET_FIRMWARE_VERSION, 19) == ACK + FIRMWARE_REPLY
    finally:
        os.close(host)


def test_raw_mode_passes_every_byte_value(link):
    """No echo and no CR/LF or control-character translation either way: a register at 0x0D0A
    written with 0x0D and read back (a cooked tty would turn 0A into 0D 0A, eat 03 / 11 / 13)."""
    host = open_host(link.path)
    try:
        write = build(bytes.fromhex("D4080D0A0D"))
        assert exchange(link, host, write, 6 + 9) == ACK + build(bytes.fromhex("D509"))
        read = build(bytes.fromhex("D4060D0A"))
        assert exchange(link, host, read, 6 + 10) == ACK + build(bytes.fromhex("D5070D"))
        ctrl = build(bytes.fromhex("D40603111303"))  # XON/XOFF/ETX bytes inside a frame
        assert exchange(link, host, ctrl, 6 + 11) == ACK + build(bytes.fromhex("D5070000"))
    finally:
        os.close(host)


def test_frame_builder_matches_reference_vector_1():
    assert build(bytes.fromhex("D402")) == GET_FIRMWARE_VERSION


def test_a_waiting_inlistpassivetarget_is_answered_when_a_card_comes(link):
    """MxRtyPassiveActivation FF (the default): the chip waits for a card; the answer goes out
    through the pty when the card is presented (the rig's loop calls tick())."""
    link.chip.deck.remove()
    host = open_host(link.path)
    try:
        assert exchange(link, host, build(bytes.fromhex("D44A0100")), 6) == ACK
        link.tick()
        assert not select.select([host], [], [], 0.05)[0]  # nothing while the field is empty
        link.chip.deck.present("one")
        link.tick()
        ready, _, _ = select.select([host], [], [], WAIT_S)
        assert ready
        # docs/chip-facts.md "InListPassiveTarget": D5 4B NbTg=1 Tg=1 ATQA 00 04 SAK 08 NFCIDLength 04 UID
        assert os.read(host, 4096) == build(bytes.fromhex("D54B0101000408 04DEADBEEF".replace(" ", "")))
    finally:
        os.close(host)
