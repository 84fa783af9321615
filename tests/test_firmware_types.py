"""The firmware type-checks against the MicroPython ESP32 port's API (tools/firmware_types.py: mypy
with the pinned micropython-esp32-stubs, installed by `make setup`), and the check catches a call
the board does not have."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "firmware_types.py"


def check(*targets):
    res = subprocess.run([sys.executable, str(TOOL), *targets], capture_output=True, text=True, timeout=300)
    return res.returncode, res.stdout + res.stderr


def test_the_firmware_matches_the_micropython_api():
    code, report = check()
    assert code == 0, report
    assert "firmware types: clean" in report


def test_a_misused_machine_api_is_an_error(tmp_path):
    sample = tmp_path / "hal_sample.py"
    sample.write_text(
        "import machine\n"
        "\n"
        "\n"
        "class Link:\n"
        "    def __init__(self):\n"
        "        self.uart = machine.UART(1, baudrate=115200)\n"
        "\n"
        "    def send(self, data):\n"
        "        self.uart.wirte(data)\n"  # the typo the board would only report at run time
        "\n"
        "\n"
        "machine.Pin(2, machine.Pin.OUT).toggel()\n")
    code, report = check(str(sample))
    assert code == 1, report
    assert 'hal_sample.py:9: error: "UART" has no attribute "wirte"' in report
    assert 'hal_sample.py:12: error: "Pin" has no attribute "toggel"' in report


def test_the_standard_library_is_micropythons(tmp_path):
    # time.sleep_ms / ticks_diff exist on MicroPython only; time.perf_counter on CPython only
    sample = tmp_path / "clock_sample.py"
    sample.write_text("import time\n\nt0 = time.ticks_ms()\ntime.sleep_ms(5)\nd = time.ticks_diff(time.ticks_ms(), t0)\n")
    code, report = check(str(sample))
    assert code == 0, report
    sample.write_text("import time\n\nt = time.perf_counter()\n")
    code, report = check(str(sample))
    assert code == 1 and 'Module has no attribute "perf_counter"' in report, report
