"""Helpers that run the virtual rig as a separate process (`icpurse sim serve`) and, for PC/SC,
the real pcscd; the fixtures `start_sim`, `pcscd` and `acr122u_reader` (registered in
tests/conftest.py). Every
subprocess is bounded by timeouts and killed in a finally block, so a broken stack fails a test
instead of hanging the run.
"""
import gc
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

START_TIMEOUT_S = 10.0
PCSCD_SOCKET = "/run/pcscd/pcscd.comm"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"


def wait_for(predicate, timeout=START_TIMEOUT_S, interval=0.05, what="condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def icpurse_command():
    """The .venv's `icpurse` entry point (the one `make setup` installs next to the interpreter)."""
    script = os.path.join(os.path.dirname(sys.executable), "icpurse")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-c", "from icpurse.host.cli import main; main()"]


class SimProcess:
    """A running `icpurse sim serve`: the announced paths and a control-socket client."""

    def __init__(self, args, control_path, env=None):
        from icpurse.hil.sim.control import control_command

        self._control_command = control_command
        self.args = args
        self.lines = {}
        self.first_line = None
        self.proc = subprocess.Popen(
            icpurse_command() + ["sim", "serve"] + list(args) + ["--control", control_path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
        try:
            self._read_banner()
        except BaseException:
            self.stop()
            raise

    def _read_banner(self):
        # Lines: `pn532 <path>` (with --pty, first), `pcsc <reader>` (with --pcsc), `control <path>`.
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT_S
        buf = b""
        try:
            while "control" not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError("sim serve did not start: rc=%r stderr=%r" % (
                        self.proc.poll(), self._stderr()))
                if not sel.select(left):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    kind, _, value = line.decode().partition(" ")
                    if self.first_line is None:
                        self.first_line = line.decode()
                    self.lines[kind] = value
        finally:
            sel.close()

    def _stderr(self):
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    @property
    def pn532(self):
        return self.lines.get("pn532")

    @property
    def pcsc(self):
        return self.lines.get("pcsc")

    @property
    def control(self):
        return self.lines.get("control")

    def command(self, line):
        answer = self._control_command(self.control, line)
        assert answer.get("ok"), answer
        return answer

    def dump(self, name=None):
        return bytes.fromhex(self.command("dump" + (" " + name if name else ""))["mfd"])

    def stop(self):
        """SIGTERM (the simulator saves its dumps and exits), then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        return self.proc.returncode


def pcscd_alive():
    """A pcscd answers on its socket (ours, a system one, or systemd socket activation)."""
    if not os.path.exists(PCSCD_SOCKET):
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(PCSCD_SOCKET)
    except OSError:
        return False  # a stale socket file from a killed pcscd
    finally:
        probe.close()
    return True


@pytest.fixture
def start_sim(tmp_path):
    """start_sim(*args) -> SimProcess; every process started is stopped after the test."""
    started = []

    def start(*args, env=None):
        sim = SimProcess(args, str(tmp_path / ("control%d" % len(started))), env=env)
        started.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in started:
            sim.stop()


@pytest.fixture(scope="module")
def pcscd():
    """A pcscd with the vpcd driver: the running one, or one started (and stopped) here.

    Module scope: a pcscd we started is stopped after each test module, so the next module that
    needs PC/SC gets a fresh one. pcscd can keep a vpcd slot in "no card" after a quick card swap
    (docs/simulator.md); a stuck slot must not leak from one test module into another.
    A test that takes this fixture carries the `pcsc` marker (tests/conftest.py checks it)."""
    if shutil.which("pcscd") is None and not os.path.exists("/usr/sbin/pcscd"):
        pytest.skip("pcscd not installed (Debian package pcscd; `make test` installs it)")
    if not os.path.exists(VPCD_DRIVER):
        pytest.skip("vpcd driver not installed (Debian package vsmartcard-vpcd; `make test` installs it)")
    if pcscd_alive():
        yield None
        return
    exe = shutil.which("pcscd") or "/usr/sbin/pcscd"
    proc = subprocess.Popen([exe, "--foreground", "--auto-exit"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        try:
            wait_for(lambda: proc.poll() is not None or pcscd_alive(), what="pcscd socket")
        except AssertionError:
            raise AssertionError("pcscd did not create %s" % PCSCD_SOCKET)
        if proc.poll() is not None:
            raise AssertionError("pcscd exited with %r: %s" % (proc.returncode, proc.stderr.read().decode()[-2000:]))
        yield proc
    finally:
        # pyscard connections release their PC/SC context when collected: do it while pcscd is up
        gc.collect()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        proc.stderr.close()


@pytest.fixture(scope="module")
def acr122u_reader(pcscd):
    """The PC/SC name of the vpcd reader declared as a real ACR122U is named ("ACS ACR122U PICC
    Interface 00 00", tools/ensure-vpcd-acr122u), checked in pcscd's reader list.

    Skips when no such reader is declared (setup as a non-root user: the command to run is given);
    fails, saying what to do, when the running pcscd does not list it — pcscd reads
    /etc/reader.conf.d only when it starts, so one started before the declaration lacks it."""
    from icpurse.hil.sim.vpcd import READER_CONF_DIR, acr122u_port, reader_name
    from icpurse.host.readers.pcsc import reader_names

    port = acr122u_port()
    if port is None:
        pytest.skip("no vpcd reader named as an ACR122U in %s: `make setup` declares it when run as root; "
                    "otherwise run `sudo tools/ensure-vpcd-acr122u`" % READER_CONF_DIR)
    name = reader_name(port)

    def listed_with_it():
        names = reader_names()
        return names if name in names else None

    try:  # pcscd adds the reader.conf readers while it starts: a bounded wait
        listed = wait_for(listed_with_it, timeout=5, what=name)
    except AssertionError:
        listed = reader_names()
    if name not in listed:
        who = ("the pcscd started here" if pcscd is not None else
               "the running pcscd (started before %s declared the reader?)" % READER_CONF_DIR)
        pytest.fail("%s does not list %r (it lists: %s). Restart pcscd so that it reads %s again, or stop it: "
                    "the tests start their own" % (who, name, ", ".join(listed) or "nothing", READER_CONF_DIR))
    return name
