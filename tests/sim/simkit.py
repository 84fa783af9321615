"""Helpers for the simulator tests: a rig of deck + PN532 + clock + faults that speaks frames built
by the independent builder of support.frames (re-exported here with hex and the fixed frames)."""
from icpurse.hil.sim.card import ClassicCard
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.deck import Deck
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.pn532 import PN532
from support.frames import ACK, ERROR, KEY_FF, NACK, frame, h

__all__ = ["ACK", "ERROR", "KEY_FF", "NACK", "Rig", "card", "frame", "h"]


class Rig:
    def __init__(self, *cards, finite_retries=False):
        self.clock = VirtualClock()
        self.faults = Faults()
        self.deck = Deck()
        for i, c in enumerate(cards):
            self.deck.add("card%d" % i, c)
        if cards:
            self.deck.present("card0")
        self.chip = PN532(self.deck, self.clock, self.faults)
        if finite_retries:
            self.command(h("32 05 FF 01 02"))

    def send(self, data):
        """Raw host bytes in -> everything the chip sent back."""
        self.chip.write(data)
        return self.chip.read()

    def command(self, pd):
        """Command PD bytes -> the response PD, after checking the ACK + one well-formed frame."""
        out = self.send(frame(pd))
        assert out[:6] == ACK, out.hex(" ")
        rsp = out[6:]
        assert rsp[:3] == b"\x00\x00\xff" and rsp[-1] == 0, rsp.hex(" ")
        assert rsp[3:6] != b"\x01\xff\x7f", "error frame for %s" % bytes(pd).hex(" ")
        n = rsp[3]
        assert frame(rsp[6:6 + n - 1], tfi=0xD5) == rsp, rsp.hex(" ")
        return rsp[6:6 + n - 1]

    def list_card(self):
        rsp = self.command(h("4A 01 00"))
        assert rsp[:2] == h("4B 01"), rsp.hex(" ")
        return rsp

    def mifare(self, data):
        """InDataExchange to Tg 1 -> (status, data)."""
        rsp = self.command(b"\x40\x01" + bytes(data))
        assert rsp[0] == 0x41
        return rsp[1], rsp[2:]


def card(uid="DEADBEEF", size="1k", **kw):
    return ClassicCard(h(uid), size, **kw)
