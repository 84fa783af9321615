"""PN532 chipset driver: host-link frames, ACK/NACK, recovery, and the commands the reader uses.

Layering as in nfcpy: a transport moves bytes (pn532_hsu.HSU over a UART, pn532_i2c.I2C over I2C),
this module speaks the PN532 frame protocol on top of it, and tag layers (mifare.ClassicTag) speak
to cards through `data_exchange`.  Facts: docs/chip-facts.md "PN532 host link"; constants come from
the generated codec only.

Transport contract (duck-typed):
    framed              True when every read returns one whole frame (I2C), False for a byte
                        stream (UART) where frames may arrive split or back to back
    blocking            (optional, default False) True when readinto can wait (a UART read with a timeout): the driver
                        then asks for exactly the bytes it expects next and is woken when they
                        are in, instead of polling with 1 ms sleeps
    wakeup()            bring the chip out of power-down / low-battery mode
    write(buf)          send bytes to the chip
    readinto(mv, wait_ms=0) -> n   bytes available now (0 or None when none); with wait_ms (blocking
                        transports) waits up to wait_ms for all len(mv) of them; framed
                        transports fill at most len(mv)
    flush_input()       drop whatever the chip sent and nobody read
    reset_link()        back to the link's power-on settings (after a reset pulse)
    set_baud(baud)      HSU only

Nothing here waits without a bound: every wait polls the Clock against a timeout.
Buffers are allocated once per driver; the hot path (call/data_exchange) allocates only the small
memoryview objects of the slices it hands out.
"""
from icpurse.firmware.codec import (
    BAUD_RATES,
    CMD_GET_FIRMWARE_VERSION,
    CMD_IN_DATA_EXCHANGE,
    CMD_IN_LIST_PASSIVE_TARGET,
    CMD_IN_RELEASE,
    CMD_RF_CONFIGURATION,
    CMD_SAM_CONFIGURATION,
    CMD_SET_SERIAL_BAUD_RATE,
    FRAME_ACK,
    FRAME_ERROR_CODE,
    FRAME_EXTENDED_MAX_DATA,
    FRAME_NACK,
    FRAME_NORMAL_MAX_DATA,
    FRAME_TFI_HOST,
    FRAME_TFI_PN532,
    RF_MAX_RETRIES,
    SAM_NORMAL,
    ST_MASK,
    TG_BRTY_106A,
)

from icpurse.protocol.mpy import const


# Driver timing policy (not protocol facts, so not in the codec).
_ACK_TIMEOUT_MS = const(50)  # nfcpy: "should send an ack within 15 ms", waits 100
_RESPONSE_TIMEOUT_MS = const(100)
# InDataExchange must outlast the PN532's own card timeout (RFConfiguration item 2, default
# 51.2 ms), so that a silent card comes back as status 0x01 rather than a host-side Timeout.
_EXCHANGE_TIMEOUT_MS = const(150)
_LIST_TIMEOUT_MS = const(150)
_DEFAULT_PASSIVE_RETRIES = const(2)  # MxRtyPassiveActivation: 0xFF would wait forever
_FRAME_BODY_MS = const(30)  # a started frame must complete within this (truncation -> NACK)
_POLL_MS = const(1)
_ACK_RETRIES = const(2)  # command resent (after an abort ACK) when no ACK came
_NACK_RETRIES = const(3)  # NACKs sent for one response before giving up
_RESET_PULSE_MS = const(10)
_RESET_BOOT_MS = const(50)
_BAUD_SETTLE_MS = const(1)  # nfcpy waits 1 ms after the ACK that confirms SetSerialBaudRate
_DEFAULT_RLEN = const(32)  # response params expected when the caller gives no hint

# Buffer geometry.  Host frames are built with PD0 at a fixed offset so that the normal header
# (6 bytes) and the extended one (9 bytes) both fit in front of it without moving the data.
_PD = const(9)
_TX_SIZE = const(9 + 264 + 2)  # header + FRAME_EXTENDED_MAX_DATA + DCS + postamble
_RX_SIZE = const(1 + 264)  # TFI + PD of the largest frame
_IN_SIZE = const(_RX_SIZE + 12)  # one whole extended frame (framed transports read it at once)
_FRAME_OVERHEAD = const(12)  # preamble, start, ext. length, LCS, TFI, code, DCS, postamble

# _read_frame results
_ACK = const(1)
_NACK = const(2)
_DATA = const(3)
_BAD = const(4)  # checksum wrong, length impossible or frame cut short
_ERR = const(5)  # application-level error frame


class PN532Error(Exception):
    """The PN532 reported a failure; `status` is its status byte (bits 5..0), or
    FRAME_ERROR_CODE (0x7F) for an error frame, or None for host-link failures."""

    def __init__(self, status, message=None):
        if message is None:
            message = "PN532 status 0x%02x" % status
        super().__init__(message)
        self.status = status


class NoAck(PN532Error):
    """The chip did not acknowledge a command frame (asleep, wrong baud, wiring)."""

    def __init__(self, message="PN532 sent no ACK"):
        super().__init__(None, message)


class Timeout(PN532Error):
    """No (complete) answer within the time limit; the command was aborted with an ACK."""

    def __init__(self, message="PN532 did not answer in time"):
        super().__init__(None, message)


class FrameError(PN532Error):
    """Only corrupt frames arrived, even after NACKs; or an answer of impossible shape."""

    def __init__(self, message="PN532 frames keep arriving corrupt"):
        super().__init__(None, message)


class PN532:
    def __init__(self, transport, clock, reset=None, passive_retries=_DEFAULT_PASSIVE_RETRIES):
        self._t = transport
        self._blocking = getattr(transport, "blocking", False)  # optional in the contract: False = poll
        self._fast = self._blocking and not transport.framed  # the two-read exchange (_fast_exchange)
        self._clock = clock
        self._reset = reset  # RSTPDN pin (active low), optional
        self.passive_retries = passive_retries
        self._tx = bytearray(_TX_SIZE)
        self._txmv = memoryview(self._tx)
        self._rx = bytearray(_RX_SIZE)
        self._rxmv = memoryview(self._rx)
        self._rlen = 0  # TFI + PD bytes of the last data frame in _rx
        self._in = bytearray(_IN_SIZE)
        self._inmv = memoryview(self._in)
        self._head = self._inmv[:11]  # ACK and response head: the fast exchange's first read
        self._ipos = 0
        self._iend = 0
        self._resp_start = 0  # when the fast path began to wait for a response
        self._clean = False  # the last exchange left nothing unread
        self._need = 6  # bytes the frame being read still needs (a blocking read asks for these)
        self._p = bytearray(8)  # parameters of the driver's own commands
        self._pmv = memoryview(self._p)
        self._pmv1 = self._pmv[:1]
        self.target = 1  # Tg of the card selected by list_passive_target
        # Link health counters (diagnostics and tests).
        self.nacks = 0
        self.resends = 0
        self.aborts = 0
        self.resyncs = 0

    # --- input ------------------------------------------------------------------------------

    def _flush(self):
        self._ipos = self._iend = 0
        self._t.flush_input()

    def _byte(self, start, limit, want):
        """Next input byte; Timeout once `limit` ms have passed since `start`."""
        if self._ipos >= self._iend:
            t = self._t
            clock = self._clock
            if t.framed:
                mv = self._inmv[:want]
            elif self._blocking:
                need = self._need if 0 < self._need < _IN_SIZE else 1
                mv = self._inmv[:need]
            else:
                mv = self._inmv
            while True:
                if self._blocking:
                    left = limit - clock.ticks_diff(clock.ticks_ms(), start)
                    if left <= 0:
                        raise Timeout()
                    n = t.readinto(mv, left)
                    if n:
                        break
                    continue
                n = t.readinto(mv)
                if n:
                    break
                if clock.ticks_diff(clock.ticks_ms(), start) >= limit:
                    raise Timeout()
                clock.sleep_ms(_POLL_MS)
            self._ipos = 0
            self._iend = n
        b = self._in[self._ipos]
        self._ipos += 1
        self._need -= 1
        return b

    def _read_frame(self, start, limit, want):
        """Read the next frame, skipping anything before a `00 FF` start code."""
        self._need = 6  # an ACK, or the head of a data frame (00 00 FF LEN LCS TFI)
        prev = -1
        while True:
            b = self._byte(start, limit, want)
            if b != 0xFF or prev != 0:
                prev = b
                continue
            body = self._clock.ticks_ms()
            try:
                kind = self._read_body(body, want)
            except Timeout:
                kind = _BAD  # cut short: worth a NACK
            if kind > 0:
                if self._t.framed:
                    self._ipos = self._iend  # the rest of a framed read is padding
                return kind
            # Not a frame after all (garbage that happened to contain 00 FF): keep scanning,
            # starting from the last byte looked at.
            self.resyncs += 1
            prev = -kind

    def _read_body(self, start, want):
        """After `00 FF`: returns a frame kind, or -(last byte) when the header is no header."""
        ln = self._byte(start, _FRAME_BODY_MS, want)
        lcs = self._byte(start, _FRAME_BODY_MS, want)
        if ln == 0 and lcs == 0xFF:
            return _ACK
        if ln == 0xFF and lcs == 0:
            return _NACK
        if ln == 0xFF and lcs == 0xFF:  # extended frame
            m = self._byte(start, _FRAME_BODY_MS, want)
            l = self._byte(start, _FRAME_BODY_MS, want)
            cs = self._byte(start, _FRAME_BODY_MS, want)
            if (m + l + cs) & 0xFF:
                return -cs
            n = (m << 8) | l
        elif ln == 0 or (ln + lcs) & 0xFF:
            return -lcs
        else:
            n = ln
        if n > _RX_SIZE:
            return _BAD
        self._need = n + 1  # body and DCS (the postamble is not waited for)
        # Copy the body chunk-wise from the input buffer, summing as we go.
        total = 0
        pos = 0
        rxmv = self._rxmv
        while pos < n:
            if self._ipos >= self._iend:
                self._byte(start, _FRAME_BODY_MS, want)
                self._ipos -= 1  # only wanted the refill
                self._need += 1
            k = self._iend - self._ipos
            if k > n - pos:
                k = n - pos
            chunk = self._inmv[self._ipos:self._ipos + k]
            rxmv[pos:pos + k] = chunk
            total += sum(chunk)
            pos += k
            self._ipos += k
        dcs = self._byte(start, _FRAME_BODY_MS, want)
        # The postamble is not waited for: a missing one costs nothing, and the next scan skips it.
        if (total + dcs) & 0xFF:
            return _BAD
        self._rlen = n
        if n == 1 and self._rx[0] == FRAME_ERROR_CODE:
            return _ERR
        return _DATA

    def _is_response(self, cmd):
        return self._rlen >= 2 and self._rx[0] == FRAME_TFI_PN532 and self._rx[1] == cmd + 1

    # --- output -----------------------------------------------------------------------------

    def _build(self, cmd, params, data):
        """Host frame for `cmd params data` in _tx; returns (start, end)."""
        n = 1 + len(params) + (len(data) if data is not None else 0)  # PD bytes
        if n > FRAME_EXTENDED_MAX_DATA:
            raise ValueError("command data too long: %d bytes" % n)
        tx = self._tx
        txmv = self._txmv
        tx[_PD] = cmd
        p = _PD + 1
        k = len(params)
        if k:
            txmv[p:p + k] = params
            p += k
        if data is not None:
            k = len(data)
            txmv[p:p + k] = data
            p += k
        tx[p] = -(FRAME_TFI_HOST + sum(txmv[_PD:p])) & 0xFF
        tx[p + 1] = 0
        ln = n + 1  # TFI counts
        tx[_PD - 1] = FRAME_TFI_HOST
        if n <= FRAME_NORMAL_MAX_DATA:
            s = _PD - 6
            tx[s + 3] = ln
            tx[s + 4] = -ln & 0xFF
        else:
            s = _PD - 9
            tx[s + 3] = 0xFF
            tx[s + 4] = 0xFF
            tx[s + 5] = ln >> 8
            tx[s + 6] = ln & 0xFF
            tx[s + 7] = -((ln >> 8) + (ln & 0xFF)) & 0xFF
        tx[s] = 0
        tx[s + 1] = 0
        tx[s + 2] = 0xFF
        return s, p + 2

    def abort(self):
        """Cancel whatever command the chip is running (an ACK from the host does that)."""
        self.aborts += 1
        self._t.write(FRAME_ACK)

    # --- the command cycle --------------------------------------------------------------------

    def call(self, cmd, params=b"", data=None, timeout_ms=_RESPONSE_TIMEOUT_MS, rlen=_DEFAULT_RLEN):
        """Run one command: frame out, ACK in, response in.  Returns a memoryview of the response
        parameters (after the response code), valid until the next command.

        `rlen` is the most response parameter bytes expected; framed transports read that much.
        """
        s, e = self._build(cmd, params, data)
        if not self._clean:
            self._flush()  # (after a clean exchange there is nothing stale to drop)
        self._clean = False
        got = -1  # not tried the fast way
        if self._fast:
            self._t.write(self._txmv[s:e])
            got = self._fast_exchange(cmd, timeout_ms)
            if got == _DATA:
                return self._rxmv[2:self._rlen]
        return self._general(cmd, s, e, timeout_ms, rlen, got)

    def _general(self, cmd, s, e, timeout_ms, rlen, got):
        """The command cycle with every recovery (ACK lost, NACKs, stale frames), after the fast
        way read what it could (`got`: _ACK, 0 = sent but no ACK seen, -1 = not sent yet)."""
        frame = self._txmv[s:e]
        want = rlen + _FRAME_OVERHEAD
        if want > _IN_SIZE:
            want = _IN_SIZE
        tries = 0
        while True:
            if got < 0:
                self._t.write(frame)
            if got == _ACK:
                kind = _ACK
                break
            kind = self._wait_ack(cmd, want)
            if kind:
                break
            got = -1
            tries += 1
            if tries > _ACK_RETRIES:
                raise NoAck("no ACK for command 0x%02x" % cmd)
            # The frame may have reached the chip with only the ACK lost: abort it before resending.
            self.abort()
            self._flush()
            self.resends += 1
        if kind == _ACK:
            self._wait_response(cmd, timeout_ms, want, self._resp_start if got == _ACK else None)
        return self._rxmv[2:self._rlen]

    def _read_exact(self, start, n, limit, got=0, t0=None):
        """Blocking transport: bytes into self._in[start:start + n] until all are in or `limit` ms
        pass since `t0` (`got` of them are in already). Returns how many came (usually all, in
        one read)."""
        t = self._t
        clock = self._clock
        if t0 is None:
            t0 = clock.ticks_ms()
        if not got:
            got = t.readinto(self._inmv[start:start + n], limit) or 0
        while got < n:
            left = limit - clock.ticks_diff(clock.ticks_ms(), t0)
            if left <= 0:
                break
            k = t.readinto(self._inmv[start + got:start + n], left)
            if k:
                got += k
        return got

    def _fast_exchange(self, cmd, timeout_ms):
        """The common case in two blocking reads of exactly the expected sizes: the ACK and the
        response head (6 + 5 bytes: 00 00 FF 00 FF 00, 00 00 FF LEN LCS), then TFI, data, DCS and
        postamble, checked in one pass. _DATA: the response is in _rx. _ACK: the ACK came but not
        a clean response (what was read is left for the general parser). 0: no ACK where one was
        due (left likewise). (Each line of Python here runs for every card command of a tap: the
        first read goes into a view made once, the helpers are called only when a read comes
        short.)"""
        buf = self._in
        t = self._t
        self._resp_start = t0 = self._clock.ticks_ms()
        n = t.readinto(self._head, timeout_ms) or 0
        if n < 11:
            n = self._read_exact(0, 11, timeout_ms, n, t0)
        if n < 6 or buf[0] or buf[1] or buf[2] != 0xFF or buf[3] or buf[4] != 0xFF or buf[5]:
            self._ipos, self._iend = 0, n
            return 0
        ln = buf[9]
        if n != 11 or buf[6] or buf[7] or buf[8] != 0xFF or ln == 0 or ln == 0xFF or (ln + buf[10]) & 0xFF \
                or ln + 13 > _IN_SIZE:
            self._ipos, self._iend = 6, n
            return _ACK
        end = ln + 13
        # The body's read is one blocking read bounded by _FRAME_BODY_MS; only when it comes short
        # is the clock read (a deadline of _FRAME_BODY_MS more): no clock call per command.
        k = t.readinto(self._inmv[11:end], _FRAME_BODY_MS) or 0
        if k < ln + 2:
            k = self._read_exact(11, ln + 2, _FRAME_BODY_MS, k)
        n = 11 + k
        body = self._inmv[11:11 + ln]
        if n != end or (sum(body) + buf[11 + ln]) & 0xFF or buf[12 + ln] or ln < 2 or buf[11] != FRAME_TFI_PN532 \
                or buf[12] != cmd + 1:
            self._ipos, self._iend = 6, n  # corrupt, or not ours: the general path sorts it out
            return _ACK
        self._rxmv[:ln] = body
        self._rlen = ln
        self._ipos = self._iend = 0
        self._clean = True  # read up to and with the postamble: nothing left behind
        return _DATA

    def _wait_ack(self, cmd, want):
        """_ACK, _DATA (the ACK was lost but the answer came), or 0 on timeout."""
        start = self._clock.ticks_ms()
        while True:
            try:
                kind = self._read_frame(start, _ACK_TIMEOUT_MS, want)
            except Timeout:
                return 0
            if kind == _ACK:
                return _ACK
            if kind == _DATA and self._is_response(cmd):
                return _DATA
            if kind == _ERR:
                raise PN532Error(FRAME_ERROR_CODE, "PN532 error frame for command 0x%02x" % cmd)
            # NACK, corrupt frame or a stale answer: not ours, keep waiting for the ACK

    def _wait_response(self, cmd, timeout_ms, want, start=None):
        if start is None:
            start = self._clock.ticks_ms()
        nacks = 0
        while True:
            try:
                kind = self._read_frame(start, timeout_ms, want)
            except Timeout:
                self.abort()  # leave the chip idle for the next command
                raise Timeout("no answer to command 0x%02x within %d ms" % (cmd, timeout_ms))
            if kind == _DATA:
                if self._is_response(cmd):
                    return
                continue  # answer to an earlier, aborted command
            if kind == _BAD:
                nacks += 1
                if nacks > _NACK_RETRIES:
                    self.abort()
                    raise FrameError("answer to command 0x%02x corrupt after %d NACKs" % (cmd, _NACK_RETRIES))
                self._flush()  # the rest of the bad frame
                self.nacks += 1
                self._t.write(FRAME_NACK)
                continue
            if kind == _ERR:
                raise PN532Error(FRAME_ERROR_CODE, "PN532 error frame for command 0x%02x" % cmd)
            # a repeated ACK or a NACK: ignore

    # --- set-up -----------------------------------------------------------------------------

    def begin(self):
        """Wake the chip, leave low-battery mode, check it is a PN532 and bound the passive
        polling.  Falls back to a reset pulse once if the chip does not answer.  Returns the
        firmware version tuple (IC, Ver, Rev, Support)."""
        try:
            return self._start()
        except (NoAck, Timeout, FrameError):
            if self._reset is None:
                raise
        return self.recover()

    def _start(self):
        self._flush()
        self._t.wakeup()
        self.sam_configuration()
        version = self.firmware_version()
        self.set_passive_retries(self.passive_retries)
        return version

    def recover(self):
        """Reset-pin recovery: pulse RSTPDN low, wait for the chip to boot, wake it again."""
        if self._reset is None:
            raise ValueError("no RSTPDN pin wired")
        self._reset.value(0)
        self._clock.sleep_ms(_RESET_PULSE_MS)
        self._reset.value(1)
        self._clock.sleep_ms(_RESET_BOOT_MS)
        self._t.reset_link()  # the chip is back at 115,200 baud
        return self._start()

    def sam_configuration(self, mode=SAM_NORMAL):
        """SAMConfiguration: normal mode, timeout 1 s (20 x 50 ms, unused in normal mode), IRQ on.
        Also what takes a PN532C106 out of its low-battery start-up mode."""
        p = self._p
        p[0] = mode
        p[1] = 0x14
        p[2] = 0x01
        self.call(CMD_SAM_CONFIGURATION, self._pmv[:3], rlen=0)

    def firmware_version(self):
        r = self.call(CMD_GET_FIRMWARE_VERSION, rlen=4)
        if len(r) != 4:
            raise FrameError("GetFirmwareVersion answered %d bytes" % len(r))
        return (r[0], r[1], r[2], r[3])

    def set_passive_retries(self, n):
        """RFConfiguration item 5: MxRtyATR, MxRtyPSL (chip defaults 0xFF, 0x01) and
        MxRtyPassiveActivation = n.  n = 0xFF means "retry forever", which we never allow."""
        if not 0 <= n < 0xFF:
            raise ValueError("passive activation retries must be 0..254, got %r" % (n,))
        p = self._p
        p[0] = RF_MAX_RETRIES
        p[1] = 0xFF
        p[2] = 0x01
        p[3] = n
        self.call(CMD_RF_CONFIGURATION, self._pmv[:4], rlen=0)
        self.passive_retries = n

    def set_baud(self, baud):
        """Switch the HSU link (e.g. to 921,600): SetSerialBaudRate, ACK its answer, then switch
        the local UART (docs/chip-facts.md "HSU (UART)", nfcpy's order)."""
        code = BAUD_RATES.index(baud)  # ValueError for a rate the PN532 does not have
        if not hasattr(self._t, "set_baud"):
            raise ValueError("baud rates exist on the HSU link only")
        self._p[0] = code
        self.call(CMD_SET_SERIAL_BAUD_RATE, self._pmv[:1], rlen=0)
        self._t.write(FRAME_ACK)  # the chip switches once it sees this
        self._t.set_baud(baud)
        self._clock.sleep_ms(_BAUD_SETTLE_MS)
        self._flush()

    # --- cards ------------------------------------------------------------------------------

    def list_passive_target(self, timeout_ms=_LIST_TIMEOUT_MS):
        """One bounded InListPassiveTarget (106 kbps type A, one target).

        Returns (uid, atqa, sak) -- atqa as an int in the PN532's MSB-first order -- or None when
        no card answered within the configured retries or `timeout_ms`.
        """
        p = self._p
        p[0] = 1
        p[1] = TG_BRTY_106A
        try:
            r = self.call(CMD_IN_LIST_PASSIVE_TARGET, self._pmv[:2], timeout_ms=timeout_ms, rlen=40)
        except Timeout:
            return None  # already aborted
        if len(r) < 1 or r[0] == 0:
            return None
        if len(r) < 6 or len(r) < 6 + r[5]:
            raise FrameError("InListPassiveTarget answer too short")
        self.target = r[1]
        return bytes(r[6:6 + r[5]]), (r[2] << 8) | r[3], r[4]

    def data_exchange(self, payload, rlen=_DEFAULT_RLEN, timeout_ms=_EXCHANGE_TIMEOUT_MS):
        """InDataExchange with the selected target.  Returns a memoryview of the card's answer
        (valid until the next command); raises PN532Error(status) when the status byte is not 0.
        MIFARE Classic answers never use MI chaining, so it is not followed."""
        self._p[0] = self.target
        r = self.call(CMD_IN_DATA_EXCHANGE, self._pmv1, payload, timeout_ms, rlen + 1)
        if len(r) < 1:
            raise FrameError("InDataExchange answer without status")
        status = r[0] & ST_MASK
        if status:
            raise PN532Error(status)
        return r[1:]

    def release(self):
        """InRelease of all targets (the field stays on)."""
        self._p[0] = 0
        r = self.call(CMD_IN_RELEASE, self._pmv[:1], rlen=1)
        if len(r) and r[0] & ST_MASK:
            raise PN532Error(r[0] & ST_MASK)
