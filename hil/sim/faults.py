# micropython: yes
"""Fault injection for the virtual rig: card faults (removal, torn write, RF timeout) and faults
on the PN532 -> host link (bad checksum, dropped ACK, garbage, truncated frame).

One Faults object may be shared by the cards and the PN532; every fault is one-shot (or counted)
and disarms itself when it fires, so a test states exactly where the fault happens.
"""

# before_command() verdicts
NONE = 0
REMOVE = 1
TIMEOUT = 2

TEAR_MODES = ("old", "new", "mix")


def _xorshift32(x):
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return x


def torn_block(old, new, mode, seed):
    """Content of a block whose write was interrupted: `old`, `new`, or a byte-wise mix chosen by
    a xorshift32 stream from `seed` (own PRNG: same result on CPython and MicroPython)."""
    if mode == "old":
        return bytes(old)
    if mode == "new":
        return bytes(new)
    if mode != "mix":
        raise ValueError("tear mode must be one of %r, got %r" % (TEAR_MODES, mode))
    x = (seed & 0xFFFFFFFF) or 0x9E3779B9  # xorshift must not start at 0
    out = bytearray(old)
    for i in range(len(out)):
        x = _xorshift32(x)
        if x & 1:
            out[i] = new[i]
    return bytes(out)


class Faults:
    def __init__(self):
        self.clear()

    def clear(self):
        self._remove_in = -1  # commands still allowed before removal; -1 = off
        self._tear = None  # (mode, seed)
        self._rf_timeouts = 0
        self._bad_checksums = 0
        self._dropped_acks = 0
        self._garbage = b""
        self._truncate = -1
        self.fired = []  # names of the faults that fired, in order (for test assertions)

    # --- arming -----------------------------------------------------------------------------
    def remove_after(self, n_commands):
        """Let `n_commands` more card commands through, then the card leaves the field."""
        if n_commands < 0:
            raise ValueError("n_commands must be >= 0")
        self._remove_in = n_commands

    def tear_next_write(self, mode="mix", seed=0):
        """The next WRITE or TRANSFER is interrupted by removal: the block ends `mode`."""
        if mode not in TEAR_MODES:
            raise ValueError("tear mode must be one of %r, got %r" % (TEAR_MODES, mode))
        self._tear = (mode, seed)

    def rf_timeout_next(self, n=1):
        """The next `n` card commands get no answer (the card stays in the field)."""
        self._rf_timeouts = n

    def bad_checksum_next(self, n=1):
        """The next `n` response frames of the PN532 carry a wrong DCS."""
        self._bad_checksums = n

    def drop_ack_next(self, n=1):
        """The PN532 does not send its ACK for the next `n` command frames."""
        self._dropped_acks = n

    def garbage_before_next(self, data):
        """`data` precedes the next frame the PN532 sends."""
        self._garbage = bytes(data)

    def truncate_next(self, n_bytes):
        """The next response frame of the PN532 is cut after `n_bytes` bytes."""
        self._truncate = n_bytes

    # --- hooks used by the card -------------------------------------------------------------
    def before_command(self):
        """Called by the card before every command: NONE, REMOVE or TIMEOUT."""
        if self._remove_in == 0:
            self._remove_in = -1
            self.fired.append("remove")
            return REMOVE
        if self._remove_in > 0:
            self._remove_in -= 1
        if self._rf_timeouts > 0:
            self._rf_timeouts -= 1
            self.fired.append("rf_timeout")
            return TIMEOUT
        return NONE

    def on_write(self, old, new):
        """Called by the card for every WRITE/TRANSFER: (content to store, torn?)."""
        if self._tear is None:
            return new, False
        mode, seed = self._tear
        self._tear = None
        self.fired.append("tear_" + mode)
        return torn_block(old, new, mode, seed), True

    # --- hooks used by the PN532 ------------------------------------------------------------
    def drop_ack(self):
        if self._dropped_acks > 0:
            self._dropped_acks -= 1
            self.fired.append("drop_ack")
            return True
        return False

    def on_frame(self, frame, is_ack):
        """A frame the PN532 is about to send -> the bytes that reach the host."""
        out = frame
        if not is_ack:
            if self._bad_checksums > 0:
                self._bad_checksums -= 1
                self.fired.append("bad_checksum")
                out = bytearray(out)
                out[-2] = (out[-2] + 1) & 0xFF  # DCS sits before the postamble
                out = bytes(out)
            if self._truncate >= 0:
                out = out[:self._truncate]
                self._truncate = -1
                self.fired.append("truncate")
        if self._garbage:
            out = self._garbage + out
            self._garbage = b""
            self.fired.append("garbage")
        return out
