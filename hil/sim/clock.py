# micropython: yes
"""Virtual clock: modelled time of the rig, advanced by the models, never by sleeping.

Timing model (issue 3): host-link bytes cost 10 bit times each at the current baud (8N1, ACK
frames included, both directions); every command frame the PN532 processes costs
T_PN532_OVERHEAD; card operations cost the MIFARE Classic typical times of docs/chip-facts.md "Timings".
"""
from icpurse.host import codec

_COUNTERS = ("commands", "host_bytes_in", "host_bytes_out", "card_ops", "card_timeouts",
             "link_us", "card_us", "overhead_us", "rx_wakes", "rx_wake_us")

# Card operation kinds -> modelled time. Kinds are the MIFARE command bytes (docs/chip-facts.md
# "MIFARE commands in InDataExchange"), plus "select" which is not a single MIFARE command.
SELECT = "select"
_CARD_US = {
    codec.MF_AUTH_A: codec.T_AUTH,
    codec.MF_AUTH_B: codec.T_AUTH,
    codec.MF_READ: codec.T_READ,
    codec.MF_WRITE: codec.T_WRITE,
    codec.MF_INCREMENT: codec.T_VALUE_OP,
    codec.MF_DECREMENT: codec.T_VALUE_OP,
    codec.MF_RESTORE: codec.T_VALUE_OP,
    codec.MF_TRANSFER: codec.T_TRANSFER,
}


def card_op_us(kind, uid_len=4):
    """Modelled duration of one card operation (`kind` = MF_* byte or SELECT)."""
    if kind == SELECT:
        return codec.T_SELECT + (codec.T_SELECT_7B_EXTRA if uid_len == 7 else 0)
    return _CARD_US.get(kind, 0)


class VirtualClock:
    def __init__(self, overhead_us=codec.T_PN532_OVERHEAD):
        self.now_us = 0
        self.overhead_us = overhead_us  # configurable, but benchmarks use the default
        # Sub-microsecond rest of link time, in units of 1/baud us, so that many short frames
        # add up to the same total as one long one.
        self._link_rest = 0
        self._rest_baud = 0
        self.counters = {}
        self.reset_counters()

    def reset_counters(self):
        for name in _COUNTERS:
            self.counters[name] = 0

    def advance(self, us):
        if us < 0:
            raise ValueError("time does not run backwards: %r" % (us,))
        self.now_us += us

    def link(self, n_bytes, baud, to_host, bits_per_byte=codec.T_BITS_PER_BYTE):
        """`n_bytes` crossed the host link at `baud` (UART 8N1: 10 bits a byte; I2C: 9)."""
        if self._rest_baud != baud:
            self._link_rest = 0  # < 1 us lost on a baud change
            self._rest_baud = baud
        total = n_bytes * bits_per_byte * 1000000 + self._link_rest
        us = total // baud
        self._link_rest = total - us * baud
        self.counters["host_bytes_out" if to_host else "host_bytes_in"] += n_bytes
        self.counters["link_us"] += us
        self.advance(us)

    def command(self):
        """The PN532 processed one command frame."""
        self.counters["commands"] += 1
        self.counters["overhead_us"] += self.overhead_us
        self.advance(self.overhead_us)

    def card_op(self, kind, uid_len=4):
        us = card_op_us(kind, uid_len)
        self.counters["card_ops"] += 1
        self.counters["card_us"] += us
        self.advance(us)

    def rx_wake(self):
        """A host task blocked on a UART read is woken once the bytes it waited for are in
        (T_RX_WAKE: an assumption, docs/simulator.md)."""
        self.counters["rx_wakes"] += 1
        self.counters["rx_wake_us"] += codec.T_RX_WAKE
        self.advance(codec.T_RX_WAKE)

    def card_timeout(self, us):
        """The reader waited `us` for a card that did not answer."""
        self.counters["card_timeouts"] += 1
        self.counters["card_us"] += us
        self.advance(us)
