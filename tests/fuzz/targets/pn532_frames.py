"""Fuzz target: the firmware PN532 driver's receive path (firmware/pn532.py, mifare.ClassicTag).

A scripted chip answers every command frame the driver writes with pieces the input chooses:
ACK, NACK, a well-formed response (right checksums, fuzzed data, normal or extended frame), the
error frame, a corrupted frame, raw bytes, or nothing -- over a byte stream (HSU) or a framed
transport (I2C).  Whatever arrives, only the driver's documented exceptions may escape:
PN532Error and its subclasses (NoAck, Timeout, FrameError, MifareError ...).  Never IndexError,
struct.error, an endless loop or a result of the wrong shape.
"""
import _common

with _common.instrument(__name__):
    from icpurse.host import codec
    from icpurse.firmware.mifare import ClassicTag
    from icpurse.firmware.pn532 import PN532, PN532Error
    from icpurse.firmware.pn532_i2c import I2C
    from icpurse.hil.sim.pn532 import build_frame


class Clock:
    """Milliseconds pass when the driver sleeps, and a little with every poll (so no loop can
    spin forever on a chip that keeps talking)."""

    def __init__(self):
        self.now = 0

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        self.now += ms


class FuzzChip:
    """The far end of the transport: answers each host command with pieces drawn from the input."""

    def __init__(self, inp, framed):
        self.inp = inp
        self.framed = framed
        self.pieces = []  # bytes objects not yet read
        self.last = b""
        self.writes = 0

    # transport contract
    def wakeup(self):
        pass

    def reset_link(self):
        pass

    def set_baud(self, baud):
        pass

    def flush_input(self):
        if not self.framed and self.inp.flag():
            self.pieces = []

    def write(self, buf):
        buf = bytes(buf)
        self.writes += 1
        if self.writes > 200:
            raise AssertionError("driver keeps writing: unbounded retries")
        i = buf.find(b"\x00\xff")
        cmd = buf[i + 4] if i >= 0 and len(buf) > i + 4 and buf[i + 3] == codec.FRAME_TFI_HOST else None
        if i >= 0 and len(buf) > i + 6 and buf[i + 2:i + 4] == b"\xff\xff" and buf[i + 5] == codec.FRAME_TFI_HOST:
            cmd = buf[i + 6]  # extended host frame
        if buf == codec.FRAME_NACK and self.inp.flag():
            self.pieces.append(self.last)
            return
        for _ in range(self.inp.u8() % 4):
            self.pieces.append(self._piece(cmd))

    def _piece(self, cmd):
        op = self.inp.u8() % 8
        code = ((cmd if cmd is not None else self.inp.u8()) + 1) & 0xFF
        if op == 0:
            return codec.FRAME_ACK
        if op == 1:
            self.last = build_frame(bytes((code,)) + self.inp.chunk(48))
            return self.last
        if op == 2:
            return self.inp.chunk(64)
        if op == 3:
            frame = bytearray(build_frame(bytes((code,)) + self.inp.chunk(48)))
            frame[self.inp.below(len(frame))] ^= 1 + self.inp.u8() % 255
            return bytes(frame)
        if op == 4:
            return codec.FRAME_ERROR
        if op == 5:
            return codec.FRAME_NACK
        if op == 6:  # extended frame (more than 254 data bytes)
            self.last = build_frame(bytes((code,)) + self.inp.take(255 + self.inp.u8() % 20))
            return self.last
        return b""

    def readinto(self, mv):
        while self.pieces and not self.pieces[0]:
            self.pieces.pop(0)
        if not self.pieces:
            return 0
        head = self.pieces[0]
        if self.framed:  # one whole frame per read, zero padding after it
            self.pieces.pop(0)
            n = min(len(mv), len(head))
            mv[:n] = head[:n]
            for k in range(n, len(mv)):
                mv[k] = 0
            return len(mv)
        n = min(len(mv), len(head), 1 + self.inp.u8() % 32)
        mv[:n] = head[:n]
        self.pieces[0] = head[n:]
        return n


class FuzzBus:
    """An I2C bus (HAL I2CBus) with the fuzzed chip at 0x24: address NACKs (OSError) and busy
    status bytes when the input says so, else the status byte 0x01 and the chip's next frame."""

    def __init__(self, chip):
        self.chip = chip
        self.inp = chip.inp

    def writeto(self, addr, buf):
        if self.inp.u8() % 8 == 0:
            raise OSError(19)  # the chip NACKs its address (asleep, bus noise)
        self.chip.write(buf)

    def readfrom_into(self, addr, buf):
        if self.inp.u8() % 16 == 0:
            raise OSError(5)
        mv = memoryview(buf)
        busy = self.inp.u8() % 4 == 0
        n = 0 if busy else self.chip.readinto(mv[1:])
        buf[0] = codec.TG_I2C_READY if n else (self.inp.u8() & 0xFE)
        if not n:
            for k in range(1, len(buf)):
                buf[k] = 0


def _check_result(r, rlen=None):
    if not isinstance(r, memoryview):
        raise AssertionError("driver returned %r" % (r,))


def _op(inp, drv, tag):
    op = inp.u8() % 12
    if op == 0:
        v = drv.begin()
        if len(v) != 4:
            raise AssertionError("firmware version %r" % (v,))
    elif op == 1:
        drv.firmware_version()
    elif op == 2:
        found = drv.list_passive_target()
        if found is not None:
            uid, atqa, sak = found
            if not isinstance(uid, bytes) or not 0 <= atqa <= 0xFFFF or not 0 <= sak <= 0xFF:
                raise AssertionError("list_passive_target returned %r" % (found,))
    elif op == 3:
        _check_result(drv.data_exchange(inp.chunk(20), inp.u8() % 40))
    elif op == 4:
        drv.release()
    elif op == 5:
        drv.sam_configuration()
    elif op == 6:
        drv.set_passive_retries(inp.u8() % 0xFF)
    elif op == 7:
        b = tag.read_block(inp.u8())
        if len(b) != codec.MF_BLOCK_SIZE:
            raise AssertionError("read_block gave %d bytes" % len(b))
    elif op == 8:
        tag.authenticate(inp.u8(), inp.take(6), codec.MF_AUTH_A if inp.flag() else codec.MF_AUTH_B)
    elif op == 9:
        tag.write_block(inp.u8(), inp.take(16))
    elif op == 10:
        tag.decrement(inp.u8(), inp.uint(3))
        tag.transfer(inp.u8())
    else:
        tag.reselect()


def test_one_input(data):
    inp = _common.Input(data)
    link = inp.u8() % 3  # 0: byte stream (HSU), 1: whole frames, 2: the firmware's I2C transport
    chip = FuzzChip(inp, link != 0)
    drv = PN532(I2C(FuzzBus(chip)) if link == 2 else chip, Clock())
    tag = ClassicTag(drv, inp.take(4 + 3 * (inp.u8() & 1)), 0x0004, 0x08)
    for _ in range(1 + inp.u8() % 6):
        try:
            _op(inp, drv, tag)
        except PN532Error:
            pass  # documented: the chip or the card failed, the driver said so


def _seed():
    """HSU; firmware_version answered properly; list_passive_target finding a 4-byte card."""
    fw = b"\x02\x03" + b"\x00\x01" + b"\x04" + b"\x32\x01\x06\x07"
    lst = b"\x02\x02" + b"\x00\x01" + b"\x01\x0e" + b"\x01\x01\x00\x04\x08\x04\xde\xad\xbe\xef"
    return b"\x00\x00\x02" + b"\x01" + fw + b"\x02" + lst


SEEDS = [_seed(), b"\x02" + _seed()[1:], b"\x01\x00\x05\x01\x03\x00\x00\x01\x00\x01\x02\x05\x00\x01\x00", b"\x00" * 8, b"\xff" * 40]

_common.main(__name__, test_one_input)
