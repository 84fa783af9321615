#!/usr/bin/env python3
"""Put the reader firmware on an ESP32 board (what `make deploy` and `make flash` run).

    tools/board.py deploy --port /dev/ttyUSB0 [--transport-key FILE] [BUILD_DIR]
                                      copy build/firmware/ with mpremote; with a transport key (the
                                      lab ceremony, `icpurse terminal transport-key`), write it into
                                      the blank reader's NVS too
    tools/board.py flash --port /dev/ttyUSB0 --firmware X.bin [--chip esp32|esp32s3]
                                      erase, write a MicroPython image (esptool)

Needs the `device` extra (mpremote, esptool); pyserial comes with the base install.

Why `deploy` does more than `mpremote cp`: once the reader's main.py runs, the USB serial carries
the link and Ctrl-C is switched off (hal.esp32.UsbLink), so mpremote cannot get a REPL. We reset the
board through RTS (the DevKit's auto-reset circuit) and send Ctrl-C while MicroPython boots, before
main.py takes the line. Docs: docs/hardware.md.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

# Where MicroPython's single-file image goes (bootloader included): 0x1000 on the ESP32, 0x0 on the
# ESP32-S3 (micropython.org/download: ESP32_GENERIC and ESP32_GENERIC_S3).
APP_OFFSETS = {"esp32": "0x1000", "esp32s3": "0x0"}
NVS_NAMESPACE = "icpurse"  # firmware/app.py
PROMPT = b">>> "
RAW_PROMPT = b"raw REPL; CTRL-B to exit"
CTRL_C = b"\x03"


class BoardError(Exception):
    """A problem the user can fix; the message says how."""


def tool(name):
    """Path of an installed command (next to this Python first: the project's .venv)."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found is None:
        raise BoardError("%s not found: install the device tools with `.venv/bin/pip install -e '.[device]'`" % name)
    return found


def need_port(port, target):
    if not port:
        raise BoardError("%s: no serial port given: set PORT, e.g. `make %s PORT=/dev/ttyUSB0`" % (target, target))
    if not port.startswith(("socket://", "rfc2217://")) and not os.path.exists(port):
        raise BoardError("%s: serial port %s does not exist (is the board plugged in? `mpremote devs` lists ports)"
                         % (target, port))
    return port


def deploy_command(mpremote, port, build):
    """One mpremote session: the compiled library, main.py, then a hard reset that starts it."""
    return [mpremote, "connect", port,
            "fs", "cp", "-r", os.path.join(build, "lib"), ":", "+",
            "fs", "cp", os.path.join(build, "main.py"), ":main.py", "+",
            "reset"]


def flash_commands(esptool, port, firmware, chip="esp32"):
    if chip not in APP_OFFSETS:
        raise BoardError("flash: chip %r unknown: CHIP=esp32 or CHIP=esp32s3" % chip)
    base = [esptool, "--chip", chip, "--port", port]
    return [base + ["erase-flash"],
            base + ["--baud", "460800", "write-flash", "-z", APP_OFFSETS[chip], firmware]]


def transport_script(key_hex):
    """The lab ceremony's step on the board: the transport key into the reader's NVS (run once by
    mpremote from a file readable by the lab only, never on a command line)."""
    key = bytes.fromhex(key_hex)
    if len(key) != 16:
        raise ValueError
    return ("import esp32\nn = esp32.NVS(%r)\nn.set_blob('tk', bytes.fromhex(%r))\nn.commit()\n"
            "print('transport key stored')\n" % (NVS_NAMESPACE, key.hex()))


def read_transport_key(path):
    try:
        with open(path) as f:
            return transport_script(f.read().strip())
    except OSError as e:
        raise BoardError("transport key %s: %s" % (path, e.strerror or e))
    except ValueError:
        raise BoardError("%s does not hold a transport key (32 hex digits, from `icpurse terminal "
                         "transport-key NUMBER --out FILE`)" % path)


def get_repl(ser, sleep=time.sleep, window_s=5.0, step_s=0.02):
    """Bring the board to its REPL prompt; True on success.

    `ser`: an open pyserial-like port (write, read, in_waiting, rts, dtr). A board already at its
    REPL answers the first Ctrl-C. Otherwise reset it (EN low via RTS, IO0 high via DTR: a normal
    boot, not the ROM bootloader) and keep sending Ctrl-C until the prompt appears."""
    seen = bytearray()

    def poll(wait_s):
        ser.write(CTRL_C)
        sleep(wait_s)
        n = ser.in_waiting
        if n:
            seen.extend(ser.read(n))
        return PROMPT in seen or RAW_PROMPT in seen

    ser.write(b"\r")
    if poll(0.3):
        return True
    ser.dtr = False
    ser.rts = True
    sleep(0.1)
    ser.rts = False
    del seen[:]
    for _ in range(int(window_s / step_s)):
        if poll(step_s):
            return True
    return False


def interrupt(port):
    import serial

    try:
        with serial.Serial(port, 115200, timeout=0) as ser:
            ok = get_repl(ser)
    except (serial.SerialException, OSError) as e:
        raise BoardError("cannot open %s: %s" % (port, e))
    if not ok:
        raise BoardError("the board on %s gave no REPL prompt. If the reader firmware is running, press EN "
                         "(reset) and run the command again at once; or start from an empty board with "
                         "`make flash PORT=%s FIRMWARE=<MicroPython .bin>`" % (port, port))


def deploy(port, build, transport_key=None):
    port = need_port(port, "deploy")
    if not os.path.isfile(os.path.join(build, "main.py")) or not os.path.isdir(os.path.join(build, "lib")):
        raise BoardError("deploy: %s has no main.py and lib/: build it first with `make firmware`" % build)
    script = read_transport_key(transport_key) if transport_key else None
    mpremote = tool("mpremote")
    interrupt(port)
    if script is None:
        run(deploy_command(mpremote, port, build))
        return
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".py")  # readable by this user only
    try:
        with os.fdopen(fd, "w") as f:
            f.write(script)
        cmd = deploy_command(mpremote, port, build)
        run(cmd[:-1] + ["run", path, "+", "reset"])
    finally:
        os.remove(path)


def flash(port, firmware, chip="esp32"):
    port = need_port(port, "flash")
    if not firmware:
        raise BoardError("flash: no image given: set FIRMWARE, e.g. `make flash PORT=%s "
                         "FIRMWARE=ESP32_GENERIC-<date>-v1.27.0.bin` (micropython.org/download/ESP32_GENERIC)"
                         % port)
    if not os.path.isfile(firmware):
        raise BoardError("flash: firmware image %s does not exist" % firmware)
    for cmd in flash_commands(tool("esptool"), port, firmware, chip):
        run(cmd)


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    if rc:
        raise BoardError("%s failed (exit %d)" % (os.path.basename(cmd[0]), rc))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="tools/board.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="action", required=True)
    d = sub.add_parser("deploy", help="copy the compiled firmware to the board (mpremote)")
    d.add_argument("--port", default="")
    d.add_argument("--transport-key", default="", help="file of `icpurse terminal transport-key`: into NVS")
    d.add_argument("build", nargs="?", default="build/firmware")
    f = sub.add_parser("flash", help="erase the flash and write a MicroPython image (esptool)")
    f.add_argument("--port", default="")
    f.add_argument("--firmware", default="")
    f.add_argument("--chip", default="esp32", help="esp32 (default) or esp32s3")
    args = ap.parse_args(argv)
    try:
        if args.action == "deploy":
            deploy(args.port, args.build, args.transport_key or None)
        else:
            flash(args.port, args.firmware, args.chip)
    except BoardError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
