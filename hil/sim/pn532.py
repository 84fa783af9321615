# micropython: yes
"""The PN532 chip, host-link side: HSU byte stream (and an I2C variant) in, ACK + response frames
out, MIFARE Classic commands relayed to the cards of a Deck (docs/chip-facts.md "PN532 host link",
"MIFARE commands in InDataExchange").

Behaviour where the facts are uncertain [U] is marked here and listed in docs/simulator.md.
Every exchange advances the VirtualClock; nothing sleeps.
"""
from icpurse.host import codec
from icpurse.hil.sim import air
from icpurse.hil.sim import card as _card
from icpurse.hil.sim import ciu as _ciu
from icpurse.hil.sim.clock import SELECT, VirtualClock
from icpurse.hil.sim.deck import PRESENT
from icpurse.protocol import iso14443a as iso
from icpurse.protocol.mifare import blocks

# PN532 C106 starts in LowVbat, left by SAMConfiguration (AN10609_3). Whether other commands work
# in LowVbat is [U]; nfcpy sends GetFirmwareVersion first and it works, so all are accepted.
LOWVBAT = "lowvbat"
NORMAL = "normal"
POWERDOWN = "powerdown"

# PowerDown WakeUpEnable bits (docs/chip-facts.md "Other PN532 commands"), chip-internal here
WAKE_HSU = 0x10
WAKE_I2C = 0x80

_ACK = codec.FRAME_ACK
_ERROR = codec.FRAME_ERROR
_START = b"\x00\xff"
_PENDING = None  # handler result: no response yet (InListPassiveTarget waiting for a card)

# InAutoPoll target types (libnfc pn53x_target_type): 0x00 generic passive 106 kbps, 0x10 MIFARE,
# 0x20 ISO 14443-4A. Only type A at 106 kbps exists in this rig.
_APT_GENERIC_106 = 0x00
_APT_MIFARE = 0x10
_APT_ISO14443_4A = 0x20

# RFConfiguration CfgItem -> length of its data (docs/chip-facts.md "RFConfiguration"; the analog
# settings are accepted and ignored: there is no analog front end here).
_RF_ITEM_LEN = {codec.RF_FIELD: 1, codec.RF_TIMINGS: 3, codec.RF_MAX_RTY_COM: 1,
                codec.RF_MAX_RETRIES: 3, codec.RF_ANALOG_106A: 11, codec.RF_ANALOG_212_424: 8,
                codec.RF_ANALOG_TYPE_B: 3, codec.RF_ANALOG_ISO_DEP: 9}


class PN532SyntaxError(Exception):
    """The command is malformed or unknown: on the link the chip answers with the error frame."""


def build_frame(pd, tfi=codec.FRAME_TFI_PN532):
    """Information frame around `pd` (command/response code + data): normal up to 254 PD bytes,
    extended above (docs/chip-facts.md "Frames")."""
    n = len(pd) + 1
    if n <= codec.FRAME_NORMAL_MAX_DATA + 1:
        head = bytes((0, 0, 0xFF, n, (-n) & 0xFF))
    else:
        head = bytes((0, 0, 0xFF, 0xFF, 0xFF, n >> 8, n & 0xFF, (-(n >> 8) - n) & 0xFF))
    dcs = -tfi
    for b in pd:
        dcs -= b
    return head + bytes((tfi,)) + bytes(pd) + bytes((dcs & 0xFF, 0))


def timeout_us(code):
    """RFConfiguration timeout code (1..0x10) -> microseconds: 100 us * 2**(code-1)
    (docs/chip-facts.md "RFConfiguration").
    Code 0 means "no timeout"; the model then charges the longest one."""
    if code == 0 or code > 0x10:
        code = 0x10
    return 100 << (code - 1)


class PN532:
    def __init__(self, deck, clock=None, faults=None):
        self.deck = deck
        self.clock = clock if clock is not None else VirtualClock()
        self.faults = faults
        self.baud = codec.DEFAULT_BAUD
        self.power = LOWVBAT
        self.hsu = True  # False when driven through PN532I2C (link time charged there)
        self._inbuf = bytearray()
        self._out = []  # frames (bytes) produced, not yet read by the host
        self._ready = []  # per frame in _out: modelled time (us) its last byte reaches the host
        # Timeline mode (the virtual store reader, `make bench`): a host write returns when its
        # bytes are out; the chip's answer is readable only from the modelled time it arrives, so
        # how the host waits for it (sleeps, blocking reads) costs what it costs on a board.
        # Off (pty, PC/SC, scripted tests): the whole exchange happens inside write().
        self.timeline = False
        self._busy_until = 0
        self._last_response = None  # for NACK
        self._pending = None  # (MaxTg, BrTy, InitiatorData) of a waiting InListPassiveTarget, or
        # ("autopoll", types) of a waiting InAutoPoll
        self._pending_baud = 0
        self._wake_sources = 0
        self.ciu = _ciu.Ciu()  # ReadRegister / WriteRegister; the CIU bits raw frames use
        self.parameters = 0  # SetParameters flags
        self.sam_mode = codec.SAM_NORMAL
        self.field_on = False
        self.atr_timeout = 0x0B  # RFConfiguration item 2 defaults (docs/chip-facts.md "RFConfiguration")
        self.nondep_timeout = 0x0A
        self.max_rty_com = 0
        self.max_retries = (0xFF, 0x01, 0xFF)  # MxRtyATR, MxRtyPSL, MxRtyPassiveActivation
        self.last_error = 0
        self._targets = []  # listed cards; Tg = index + 1; None once released
        self._active = -1  # index of the target the chip talks to
        self._handlers = {
            codec.CMD_DIAGNOSE: self._diagnose,
            codec.CMD_GET_FIRMWARE_VERSION: self._get_firmware_version,
            codec.CMD_GET_GENERAL_STATUS: self._get_general_status,
            codec.CMD_READ_REGISTER: self._read_register,
            codec.CMD_WRITE_REGISTER: self._write_register,
            codec.CMD_SET_SERIAL_BAUD_RATE: self._set_serial_baud_rate,
            codec.CMD_SET_PARAMETERS: self._set_parameters,
            codec.CMD_SAM_CONFIGURATION: self._sam_configuration,
            codec.CMD_POWER_DOWN: self._power_down,
            codec.CMD_RF_CONFIGURATION: self._rf_configuration,
            codec.CMD_IN_LIST_PASSIVE_TARGET: self._in_list_passive_target,
            codec.CMD_IN_DATA_EXCHANGE: self._in_data_exchange,
            codec.CMD_IN_COMMUNICATE_THRU: self._in_communicate_thru,
            codec.CMD_IN_SELECT: self._in_select,
            codec.CMD_IN_DESELECT: self._in_deselect,
            codec.CMD_IN_RELEASE: self._in_release,
            codec.CMD_IN_AUTO_POLL: self._in_auto_poll,
        }
        deck.add_listener(self._on_deck)

    # --- host link: bytes in ----------------------------------------------------------------
    def write(self, data):
        """Bytes from the host over HSU, in any chunking."""
        self.clock.link(len(data), self.baud, False)
        if not self.timeline:
            self._feed(data, WAKE_HSU)
            return
        written = self.clock.now_us
        self.clock.now_us = written if written > self._busy_until else self._busy_until
        self._feed(data, WAKE_HSU)  # the chip's work advances the clock; each frame keeps its time
        self._busy_until = self.clock.now_us
        self.clock.now_us = written

    def _feed(self, data, wake_source):
        if self.power == POWERDOWN:
            if not self._wake_sources & wake_source:
                return  # asleep and this interface may not wake it
            if wake_source == WAKE_HSU:
                # Bytes up to and including the first 0x55 are lost while the chip wakes up
                # (libnfc/Adafruit send 55 55 00.. before the frame) [U: exact delay].
                i = bytes(data).find(b"\x55")
                if i < 0:
                    return
                data = data[i + 1:]
            self.power = NORMAL
        self._inbuf += data
        self._parse()

    def _parse(self):
        """Sync on 00 FF (so any run of 0x55/0x00 wake-up bytes is skipped, docs/chip-facts.md "HSU
        (UART)"), then take ACK, NACK, normal and extended frames. A bad LCS or DCS makes the chip
        ignore the frame and resync after its start code; the host times out and retries [U: real
        chip may NACK]."""
        while True:
            buf = self._inbuf
            i = bytes(buf).find(_START)
            if i < 0:
                # keep a trailing 00: it may be the first half of a start code
                self._inbuf = bytearray(b"\x00") if buf and buf[-1] == 0 else bytearray()
                return
            if i:
                buf = self._inbuf = buf[i:]
            if len(buf) < 4:
                return
            ln, lcs = buf[2], buf[3]
            if ln == 0 and lcs == 0xFF:
                self._inbuf = buf[4:]
                self._host_ack()
                continue
            if ln == 0xFF and lcs == 0:
                self._inbuf = buf[4:]
                self._host_nack()
                continue
            if ln == 0xFF and lcs == 0xFF:
                if len(buf) < 7:
                    return
                ln = (buf[4] << 8) | buf[5]
                hdr = 7
                good_len = (buf[4] + buf[5] + buf[6]) & 0xFF == 0
            else:
                hdr = 4
                good_len = (ln + lcs) & 0xFF == 0
            if not good_len or ln == 0:
                self._inbuf = buf[2:]
                continue
            if len(buf) < hdr + ln + 1:
                return  # wait for the rest of the frame
            body = bytes(buf[hdr:hdr + ln])
            total = buf[hdr + ln]
            for b in body:
                total += b
            if total & 0xFF:
                self._inbuf = buf[2:]
                continue
            self._inbuf = buf[hdr + ln + 1:]
            self._frame(body)

    def _host_ack(self):
        """Host ACK: aborts a running command; completes a baud-rate change (docs/chip-facts.md
        "ACK, NACK and error frame", "HSU (UART)")."""
        self._pending = None
        if self._pending_baud:
            self.baud = self._pending_baud
            self._pending_baud = 0

    def _host_nack(self):
        if self._last_response is not None:
            self._send(self._last_response, False)

    def _frame(self, body):
        self._pending = None  # a new command replaces one still waiting [U]
        self._pending_baud = 0
        self._send_ack()
        self.clock.command()
        if body[0] != codec.FRAME_TFI_HOST or len(body) < 2:
            self._respond(_ERROR)
            return
        try:
            rsp = self._execute(body[1:], True)
        except PN532SyntaxError:
            self._respond(_ERROR)
            return
        if rsp is not _PENDING:
            self._respond(build_frame(rsp))
        if body[1] == codec.CMD_POWER_DOWN and rsp is not None:
            self.power = POWERDOWN  # after the answer has gone out

    # --- host link: bytes out ---------------------------------------------------------------
    def _send_ack(self):
        if self.faults is not None and self.faults.drop_ack():
            return
        self._send(_ACK, True)

    def _respond(self, frame):
        self._last_response = frame
        self._send(frame, False)

    def _send(self, frame, is_ack):
        if self.faults is not None:
            frame = self.faults.on_frame(frame, is_ack)
        if self.hsu:
            self.clock.link(len(frame), self.baud, True)
        if frame:
            self._out.append(frame)
            self._ready.append(self.clock.now_us)

    def _arrived(self):
        """Frames whose last byte reached the host by now (all of them outside timeline mode)."""
        if not self.timeline:
            return len(self._out)
        now = self.clock.now_us
        n = 0
        while n < len(self._ready) and self._ready[n] <= now:
            n += 1
        return n

    def next_ready_us(self):
        """When the next frame not yet arrived gets to the host (None: nothing on its way)."""
        n = self._arrived()
        return self._ready[n] if n < len(self._ready) else None

    def read(self, n=-1):
        """Bytes the chip has sent so far (up to `n`; all when n < 0)."""
        out = bytearray()
        avail = self._arrived()
        while avail and (n < 0 or len(out) < n):
            frame = self._out[0]
            take = len(frame) if n < 0 else min(len(frame), n - len(out))
            out += frame[:take]
            if take == len(frame):
                self._out.pop(0)
                self._ready.pop(0)
                avail -= 1
            else:
                self._out[0] = frame[take:]
        return bytes(out)

    def read_frame(self):
        """The next whole frame the chip produced, or b"" (I2C reads one frame per transaction)."""
        if self._arrived():
            self._ready.pop(0)
            return self._out.pop(0)
        return b""

    def pending(self):
        n = 0
        for i in range(self._arrived()):
            n += len(self._out[i])
        return n

    # --- commands ---------------------------------------------------------------------------
    def process_command(self, pd):
        """Command PD bytes (code + params) -> response PD bytes (code+1 + data), without the
        link. Never waits: an InListPassiveTarget with infinite retries and no card answers
        NbTg = 0. Raises PN532SyntaxError where the link would carry the error frame."""
        self.clock.command()
        return self._execute(bytes(pd), False)

    def _execute(self, pd, may_pend):
        if not pd:
            raise PN532SyntaxError("empty command")
        handler = self._handlers.get(pd[0])
        if handler is None:
            raise PN532SyntaxError("unknown command 0x%02X" % pd[0])
        if self.power == POWERDOWN:
            self.power = NORMAL  # process_command on a sleeping chip: the call itself wakes it
        data = handler(pd[1:], may_pend)
        if data is _PENDING:
            return _PENDING
        return bytes((pd[0] + 1,)) + bytes(data)

    def _diagnose(self, p, may_pend):
        # NumTst 0x00 communication line test echoes its data (libnfc checks the link this way);
        # ROM (0x01) and RAM (0x02) tests pass. Other tests are not modelled.
        if not p:
            raise PN532SyntaxError("Diagnose needs NumTst")
        if p[0] == 0x00:
            return p
        if p[0] in (0x01, 0x02):
            return b"\x00"
        raise PN532SyntaxError("Diagnose test 0x%02X not modelled" % p[0])

    def _get_firmware_version(self, p, may_pend):
        return bytes(codec.FIRMWARE_VERSION)

    def _get_general_status(self, p, may_pend):
        listed = [i for i in range(len(self._targets)) if self._targets[i] is not None]
        out = bytearray((self.last_error, 1 if self.field_on else 0, len(listed)))
        for i in listed:
            out += bytes((i + 1, 0x00, 0x00, 0x00))  # Tg, BrRx/BrTx 106 kbps, type A / MIFARE
        out.append(0x00)  # SAM status
        return out

    def _read_register(self, p, may_pend):
        if not p or len(p) % 2:
            raise PN532SyntaxError("ReadRegister takes 16-bit addresses")
        out = bytearray()
        for i in range(0, len(p), 2):
            out.append(self.ciu.read((p[i] << 8) | p[i + 1]))
        return out

    def _write_register(self, p, may_pend):
        if not p or len(p) % 3:
            raise PN532SyntaxError("WriteRegister takes (address, value) triples")
        for i in range(0, len(p), 3):
            self.ciu.write((p[i] << 8) | p[i + 1], p[i + 2])
        return b""

    def _set_serial_baud_rate(self, p, may_pend):
        if len(p) != 1 or p[0] >= len(codec.BAUD_RATES):
            raise PN532SyntaxError("SetSerialBaudRate takes one code 0..8")
        # The chip answers at the old rate and switches after the host's ACK
        # (nfcpy; docs/chip-facts.md "HSU (UART)").
        self._pending_baud = codec.BAUD_RATES[p[0]]
        return b""

    def _set_parameters(self, p, may_pend):
        if len(p) != 1:
            raise PN532SyntaxError("SetParameters takes one flags byte")
        self.parameters = p[0]
        return b""

    def _sam_configuration(self, p, may_pend):
        if not 1 <= len(p) <= 3 or not codec.SAM_NORMAL <= p[0] <= codec.SAM_DUAL_CARD:
            raise PN532SyntaxError("SAMConfiguration takes Mode 1..4 [Timeout [IRQ]]")
        self.sam_mode = p[0]
        self.power = NORMAL  # leaves LowVbat
        return b""

    def _power_down(self, p, may_pend):
        if not 1 <= len(p) <= 2:
            raise PN532SyntaxError("PowerDown takes WakeUpEnable [GenerateIRQ]")
        self._wake_sources = p[0]
        self._release(0)
        self._rf_field(False)
        return b"\x00"  # _frame puts the chip to sleep once this answer is out

    def _rf_configuration(self, p, may_pend):
        if not p or _RF_ITEM_LEN.get(p[0], -1) != len(p) - 1:
            raise PN532SyntaxError("RFConfiguration: unknown item or wrong length")
        item = p[0]
        if item == codec.RF_FIELD:
            self._rf_field(bool(p[1] & 0x01))
        elif item == codec.RF_TIMINGS:
            self.atr_timeout, self.nondep_timeout = p[2], p[3]
        elif item == codec.RF_MAX_RTY_COM:
            self.max_rty_com = p[1]
        elif item == codec.RF_MAX_RETRIES:
            self.max_retries = (p[1], p[2], p[3])
        return b""

    def _rf_field(self, on):
        if self.field_on and not on:
            for c in self.deck.field():
                c.reset()  # no field, no power: every card forgets its session
            self._targets = []
            self._active = -1
        self.field_on = on

    # --- targets ----------------------------------------------------------------------------
    def _in_list_passive_target(self, p, may_pend):
        if len(p) < 2 or p[0] not in (1, 2) or p[1] > 0x04:
            raise PN532SyntaxError("InListPassiveTarget takes MaxTg 1|2, BrTy 0..4")
        self._targets = []
        self._active = -1
        self.field_on = True
        found = self._list(p[0], p[1], bytes(p[2:]))
        if found is None:
            if may_pend and self.max_retries[2] == 0xFF:
                # Infinite MxRtyPassiveActivation: the chip keeps polling until a card comes
                # or the host aborts with an ACK (docs/chip-facts.md "RFConfiguration"). Answered
                # from _on_deck.
                self._pending = (p[0], p[1], bytes(p[2:]))
                return _PENDING
            return b"\x00"
        return found

    def _list(self, max_tg, brty, initiator_data):
        """Select up to `max_tg` type A cards; the answer data, or None if none answered."""
        if brty != codec.TG_BRTY_106A:
            return None  # only 106 kbps type A cards exist in this rig
        out = bytearray(1)
        for c in self.deck.field():
            if len(self._targets) == max_tg:
                break
            if initiator_data and c.uid != initiator_data:
                continue
            if self._active >= 0:
                # Only one card can be ACTIVE: HLTA the previous one before the next anticollision.
                try:
                    self._targets[self._active].halt()
                except _card.CardError:
                    pass
            if not self._select(c):
                continue
            self._targets.append(c)
            self._active = len(self._targets) - 1
            out += bytes((len(self._targets), c.atqa >> 8, c.atqa & 0xFF, c.sak, len(c.uid)))
            out += c.uid
        if not self._targets:
            return None
        out[0] = len(self._targets)
        return out

    def _select(self, c):
        self.ciu.set_crypto1(False)
        on_air = getattr(c, "uid_on_air", None)
        if on_air is not None:
            for cl in on_air():
                if blocks.bcc(cl[0:4]) != cl[4]:
                    # A clone whose block 0 has a wrong BCC: the chip drops it in anticollision
                    # (status 0x23 for raw frames), so it is never listed.
                    self.clock.card_op(SELECT, len(c.uid))
                    return False
        try:
            c.select()
        except _card.CardTimeout:
            self.clock.card_timeout(timeout_us(self.nondep_timeout))
            return False
        self.clock.card_op(SELECT, len(c.uid))
        return True

    def _on_deck(self, event, name, c):
        if event != PRESENT or self._pending is None or not self.field_on:
            return
        if self._pending[0] == "autopoll":
            found = self._autopoll(self._pending[1])
            cmd = codec.CMD_IN_AUTO_POLL
        else:
            max_tg, brty, initiator_data = self._pending
            found = self._list(max_tg, brty, initiator_data)
            cmd = codec.CMD_IN_LIST_PASSIVE_TARGET
        if found is not None:
            self._pending = None
            self._respond(build_frame(bytes((cmd + 1,)) + found))

    def _target(self, tg):
        """Index of a listed target, or -1."""
        i = (tg & 0x3F) - 1  # bit 6 of Tg is the MI chaining flag
        if 0 <= i < len(self._targets) and self._targets[i] is not None:
            return i
        return -1

    def _activate(self, i):
        """Talk to target i: the chip re-activates it (WUPA + select) if another was active [U]."""
        if i == self._active:
            return True
        if self._active >= 0 and self._targets[self._active] is not None:
            self._targets[self._active].deactivate()
        self._active = -1
        if not self._select(self._targets[i]):
            return False
        self._active = i
        return True

    def _status(self, st):
        self.last_error = st
        return bytes((st,))

    def _in_select(self, p, may_pend):
        if len(p) != 1:
            raise PN532SyntaxError("InSelect takes Tg")
        i = self._target(p[0])
        if i < 0:
            return self._status(codec.ST_WRONG_CONTEXT)
        return self._status(codec.ST_OK if self._activate(i) else codec.ST_TIMEOUT)

    def _in_deselect(self, p, may_pend):
        """Deselect = HLTA for a MIFARE Classic; the target stays listed for InSelect."""
        if len(p) != 1:
            raise PN532SyntaxError("InDeselect takes Tg")
        if p[0] != 0 and self._target(p[0]) < 0:
            return self._status(codec.ST_WRONG_CONTEXT)
        if self._active >= 0 and (p[0] == 0 or self._target(p[0]) == self._active):
            try:
                self._targets[self._active].halt()
            except _card.CardError:
                pass
            self._active = -1
        return self._status(codec.ST_OK)

    def _in_release(self, p, may_pend):
        if len(p) != 1:
            raise PN532SyntaxError("InRelease takes Tg")
        if p[0] != 0 and self._target(p[0]) < 0:
            return self._status(codec.ST_WRONG_CONTEXT)
        self._release(p[0])
        return self._status(codec.ST_OK)

    def _release(self, tg):
        """Forget target `tg` (0 = all), halting it if it was active."""
        only = self._target(tg) if tg else -1
        for i in range(len(self._targets)):
            if self._targets[i] is None or (tg and i != only):
                continue
            if i == self._active:
                try:
                    self._targets[i].halt()
                except _card.CardError:
                    pass
                self._active = -1
            self._targets[i] = None
        if not tg:
            self._targets = []

    # --- MIFARE relay -----------------------------------------------------------------------
    def _in_data_exchange(self, p, may_pend):
        if not p:
            raise PN532SyntaxError("InDataExchange takes Tg")
        i = self._target(p[0])
        if i < 0:
            return self._status(codec.ST_WRONG_CONTEXT)
        if not self._activate(i):
            return self._status(codec.ST_TIMEOUT)
        st, data = self._mifare(self._targets[i], bytes(p[1:]))
        return self._status(st) + data

    def _mifare(self, c, cmd):
        """One MIFARE Classic command (docs/chip-facts.md "MIFARE commands in InDataExchange") ->
        (status, data). The PN532 runs both parts of WRITE and of the value commands inside one
        InDataExchange. Time: the card's operation time when it answers (ACK, NAK or auth failure),
        the chip's timeout when not."""
        if len(cmd) < 2:
            return codec.ST_INVALID_PARAMETER, b""
        op = cmd[0]
        if (op == codec.MF_AUTH_A or op == codec.MF_AUTH_B) and len(cmd) < 12:
            # [U] fewer than 4 UID bytes: refused by the chip before the card sees it
            return codec.ST_INVALID_PARAMETER, b""
        try:
            data = self._card_command(c, op, cmd[1], cmd)
        except _card.CardTimeout:
            self.clock.card_timeout(timeout_us(self.nondep_timeout))
            return codec.ST_TIMEOUT, b""
        except _card.CardError as e:
            self.clock.card_op(op)
            if op == codec.MF_AUTH_A or op == codec.MF_AUTH_B:
                self.ciu.set_crypto1(False)
            return e.status, b""
        self.clock.card_op(op)
        if op == codec.MF_AUTH_A or op == codec.MF_AUTH_B:
            # The chip leaves its Crypto1 unit on after an authentication (libnfc clears
            # MFCrypto1On before raw work for that reason) [U].
            self.ciu.set_crypto1(True)
        return codec.ST_OK, data

    def _card_command(self, c, op, blk, cmd):
        """Run `cmd` on card `c`; the data it answers, or a CardError. Lengths the card does not
        expect make it NAK [U]."""
        if op == codec.MF_AUTH_A or op == codec.MF_AUTH_B:
            # The chip feeds key + the next 4 bytes to its Crypto1 unit; extra UID bytes
            # (Adafruit passes a whole 7-byte UID) are ignored [U].
            c.authenticate(op, blk, cmd[2:8], cmd[8:12])
        elif op == codec.MF_READ:
            self._expect_len(c, cmd, (2,))
            return c.read(blk)
        elif op == codec.MF_WRITE:
            self._expect_len(c, cmd, (18,))
            c.write(blk, cmd[2:18])
        elif op == codec.MF_INCREMENT or op == codec.MF_DECREMENT:
            self._expect_len(c, cmd, (6,))
            operand = int.from_bytes(cmd[2:6], "little")
            if op == codec.MF_INCREMENT:
                c.increment(blk, operand)
            else:
                c.decrement(blk, operand)
        elif op == codec.MF_RESTORE:
            # libnfc sends no operand, the datasheet 4 arbitrary bytes: both accepted.
            self._expect_len(c, cmd, (2, 6))
            c.restore(blk)
        elif op == codec.MF_TRANSFER:
            # libnfc appends 4 dummy bytes to TRANSFER: trailing bytes ignored [U].
            c.transfer(blk)
        elif op == codec.MF_HALT and blk == 0x00 and len(cmd) == 2:
            c.halt()  # HLTA: the card halts and, by design, never answers
            raise _card.CardTimeout("HLTA has no answer")
        else:
            c.unknown_command(op)
        return b""

    @staticmethod
    def _expect_len(c, cmd, lengths):
        if len(cmd) not in lengths:
            c.unknown_command(cmd[0])  # timeout if the card is not listening, else NAK

    def _in_communicate_thru(self, p, may_pend):
        """A raw frame through the CIU (docs/simulator.md, "Raw frames"): TxLastBits, TxCRCEn and
        ParityDisable shape what goes on air; every card in the field hears it; RxCRCEn,
        ParityDisable and RxLastBits shape what comes back. Status 0x01 when no card answers,
        0x02 when the answer fails the CRC check (a 4-bit ACK with RxCRCEn on does), 0x06 when
        cards answer differently."""
        if not p:
            raise PN532SyntaxError("InCommunicateThru needs data")
        self.field_on = True  # [U] the chip switches its field on for a raw exchange
        frame = self._air_frame(bytes(p))
        answers = []
        if frame is not None:
            data, nbits = frame
            for c in self.deck.field():
                if getattr(c, "request", None) is None:
                    continue  # cards of othercards.py do not take raw frames [U]
                a = air.card_answer(c, data, nbits, self.ciu.crypto1_on and c.state == _card.AUTHENTICATED)
                if a is not None:
                    answers.append(a)
        self.ciu.set_rx_last_bits(0)
        if not answers:
            self.clock.card_timeout(timeout_us(self.nondep_timeout))
            return self._status(codec.ST_TIMEOUT)
        self.clock.card_op(codec.MF_READ)  # [U] one exchange costs a READ's typical time
        for a in answers[1:]:
            if a != answers[0]:
                return self._status(codec.ST_COLLISION)
        data, nbits = answers[0]
        if self.ciu.rx_crc:
            if nbits % 8 or len(data) < 3 or not iso.crc_ok(data):
                return self._status(codec.ST_CRC)
            data, nbits = data[:-2], nbits - 16
        if self.ciu.parity_disabled and nbits > 8:
            data, nbits = iso.wrap_parity(data[:nbits // 8])
        self.ciu.set_rx_last_bits(nbits % 8)
        return self._status(codec.ST_OK) + data

    def _air_frame(self, p):
        """Host bytes -> (bytes on air, number of bits), or None when the CIU sends nothing the
        card can take (a parity-framed stream whose length is not whole bytes + parity)."""
        last = self.ciu.tx_last_bits
        nbits = (len(p) - 1) * 8 + (last or 8)
        if self.ciu.parity_disabled and nbits > 8:
            if nbits % 9:
                return None  # the card sees a broken last byte: no answer
            data, pars = iso.unwrap_parity(p, nbits)
            for i in range(len(data)):
                if pars[i] != iso.odd_parity(data[i]):
                    return None  # a parity error: the card ignores the frame [U: no NAK]
            nbits = len(data) * 8
        else:
            data = p
        if nbits % 8:
            return bytes(data[:1]) if nbits < 8 else bytes(data), nbits
        data = bytes(data)
        if self.ciu.tx_crc:
            data += iso.crc_a(data)
            nbits += 16
        return data, nbits

    # --- InAutoPoll ---------------------------------------------------------------------------
    def _in_auto_poll(self, p, may_pend):
        """InAutoPoll PollNr Period Type1..TypeN: poll for type A cards; answers NbTg, then per
        target Type, length, target data as InListPassiveTarget gives them (libnfc decodes them
        so). PollNr 0xFF polls until a card comes (answered when one is presented, or aborted by
        the host); finite polls answer NbTg 0 at once when the field is empty (polling time is not
        modelled)."""
        if len(p) < 3 or p[1] == 0 or len(p) > 2 + 15:
            raise PN532SyntaxError("InAutoPoll takes PollNr, Period 1..15, 1..15 target types")
        self._targets = []
        self._active = -1
        self.field_on = True
        types = bytes(p[2:])
        found = self._autopoll(types)
        if found is None:
            if may_pend and p[0] == 0xFF:
                self._pending = ("autopoll", types)
                return _PENDING
            return b"\x00"
        return found

    def _autopoll(self, types):
        def kind_of(sak):
            if sak & codec.TG_SAK_ISO14443_4:
                if _APT_ISO14443_4A in types:
                    return _APT_ISO14443_4A
            if _APT_MIFARE in types:
                return _APT_MIFARE
            if _APT_GENERIC_106 in types:
                return _APT_MIFARE if not sak & codec.TG_SAK_ISO14443_4 else _APT_ISO14443_4A
            return None

        if not [c for c in self.deck.field() if kind_of(c.sak) is not None]:
            return None
        listed = self._list(2, codec.TG_BRTY_106A, b"")
        if listed is None:
            return None
        out = bytearray((listed[0],))
        pos = 1
        for i in range(listed[0]):
            uid_len = listed[pos + 4]
            data = listed[pos:pos + 5 + uid_len]
            pos += 5 + uid_len
            kind = kind_of(data[3])
            out += bytes((kind if kind is not None else _APT_MIFARE, len(data))) + data
        return out


class PN532I2C:
    """The I2C transport (address 0x24): every read transaction starts with the status byte
    (0x01 ready, 0x00 busy) and carries one frame (docs/chip-facts.md "I2C"). "Busy" is modelled as the
    first status poll after each host write answering 0x00 once."""

    address = codec.TG_I2C_ADDRESS
    BITS_PER_BYTE = 9  # 8 data bits + ACK

    def __init__(self, pn532, bus_hz=400000):
        self.chip = pn532
        self.bus_hz = bus_hz
        pn532.hsu = False
        self._busy = False

    def _charge(self, n, to_host):
        # +1: the address byte of the transaction
        self.chip.clock.link(n + 1, self.bus_hz, to_host, self.BITS_PER_BYTE)

    def write(self, data):
        self._charge(len(data), False)
        self.chip._feed(data, WAKE_I2C)
        self._busy = True

    def read(self, n):
        self._charge(n, True)
        if self._busy or not self.chip.pending():
            self._busy = False
            return bytes(n)
        frame = self.chip.read_frame()
        out = bytes((codec.TG_I2C_READY,)) + frame
        if len(out) < n:
            out += bytes(n - len(out))
        return out[:n]
