"""tools/board.py (make deploy / make flash): argument checks, the commands it runs, and getting a
REPL from a board whose firmware ignores Ctrl-C -- against a scripted fake serial port."""
import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "board.py"
spec = importlib.util.spec_from_file_location("board_tool", TOOL)
board = importlib.util.module_from_spec(spec)
spec.loader.exec_module(board)


class FakeBoard:
    """A serial port to an ESP32: `busy` means main.py holds the line (Ctrl-C ignored).
    After an RTS reset pulse it boots; Ctrl-C is honoured during the first `window` writes of the
    boot (main.py still importing), then the firmware switches Ctrl-C off."""

    def __init__(self, at_repl=False, window=3, boot_writes=2):
        self.at_repl = at_repl
        self.window = window
        self.boot_writes = boot_writes
        self.booting = None  # writes since the reset, or None
        self.out = bytearray()
        self.dtr = True
        self._rts = False
        self.resets = 0

    @property
    def rts(self):
        return self._rts

    @rts.setter
    def rts(self, v):
        if self._rts and not v and not self.dtr:  # EN released with IO0 high: normal boot
            self.resets += 1
            self.at_repl = False
            self.booting = 0
            self.out += b"ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET)\r\n"
        self._rts = v

    def write(self, data):
        if data != b"\x03":
            return
        if self.at_repl:
            self.out += b"\r\n>>> "
            return
        if self.booting is None:
            return
        self.booting += 1
        if self.boot_writes < self.booting <= self.boot_writes + self.window:
            self.out += b"Traceback (most recent call last):\r\nKeyboardInterrupt: \r\nMicroPython v1.27.0\r\n>>> "
            self.at_repl = True

    @property
    def in_waiting(self):
        return len(self.out)

    def read(self, n):
        data, self.out = bytes(self.out[:n]), self.out[n:]
        return data


def no_sleep(s):
    pass


def test_board_at_its_repl_is_not_reset():
    fake = FakeBoard(at_repl=True)
    assert board.get_repl(fake, sleep=no_sleep)
    assert fake.resets == 0


def test_running_firmware_is_reset_and_interrupted_while_booting():
    fake = FakeBoard()
    assert board.get_repl(fake, sleep=no_sleep)
    assert fake.resets == 1 and fake.at_repl


def test_board_that_never_answers_gives_up():
    fake = FakeBoard(window=0)
    assert not board.get_repl(fake, sleep=no_sleep, window_s=0.2)
    assert fake.resets == 1


@pytest.mark.parametrize("argv, words", [
    (["deploy"], "make deploy PORT=/dev/ttyUSB0"),
    (["deploy", "--port", "/dev/does-not-exist"], "does not exist"),
    (["flash"], "make flash PORT=/dev/ttyUSB0"),
    (["flash", "--port", "/dev/null"], "set FIRMWARE"),
    (["flash", "--port", "/dev/null", "--firmware", "/nonexistent.bin"], "/nonexistent.bin does not exist"),
])
def test_missing_arguments_fail_with_a_clear_message(argv, words, capsys):
    assert board.main(argv) == 2
    assert words in capsys.readouterr().err


def test_deploy_needs_a_build(tmp_path, capsys):
    assert board.main(["deploy", "--port", "/dev/null", str(tmp_path)]) == 2
    assert "make firmware" in capsys.readouterr().err


def test_commands():
    assert board.deploy_command("mpremote", "/dev/ttyUSB0", "build/firmware") == [
        "mpremote", "connect", "/dev/ttyUSB0", "fs", "cp", "-r", "build/firmware/lib", ":", "+",
        "fs", "cp", "build/firmware/main.py", ":main.py", "+", "reset"]
    erase, write = board.flash_commands("esptool", "/dev/ttyUSB0", "mp.bin")
    assert erase == ["esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "erase-flash"]
    assert write[-4:] == ["write-flash", "-z", "0x1000", "mp.bin"]


def test_flash_knows_both_chips():
    erase, write = board.flash_commands("esptool", "/dev/ttyACM0", "s3.bin", "esp32s3")
    assert erase[:3] == ["esptool", "--chip", "esp32s3"]
    assert write[-4:] == ["write-flash", "-z", "0x0", "s3.bin"]  # the S3 image starts at 0
    with pytest.raises(board.BoardError):
        board.flash_commands("esptool", "/dev/ttyUSB0", "x.bin", "esp32c3")


def test_the_transport_key_goes_into_nvs_from_a_file_never_the_command_line(tmp_path, capsys):
    key = tmp_path / "tk.hex"
    key.write_text("00112233445566778899aabbccddeeff\n")
    script = board.read_transport_key(str(key))
    assert "esp32.NVS('icpurse')" in script and "set_blob('tk', bytes.fromhex('00112233445566778899aabbccddeeff'))" in script
    key.write_text("not a key")
    assert board.main(["deploy", "--port", "/dev/null", "--transport-key", str(key), str(tmp_path)]) == 2
    assert "make firmware" in capsys.readouterr().err  # the build is checked first
    (tmp_path / "lib").mkdir()
    (tmp_path / "main.py").write_text("")
    assert board.main(["deploy", "--port", "/dev/null", "--transport-key", str(key), str(tmp_path)]) == 2
    assert "does not hold a transport key" in capsys.readouterr().err
