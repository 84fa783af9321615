"""Fixtures for the virtual-rig tests; the process helpers live in simproc.py (a unique module
name, so test modules can import them without clashing with other folders' conftest modules)."""
import gc
import os
import shutil
import signal
import subprocess

import pytest

from simproc import PCSCD_SOCKET, VPCD_DRIVER, SimProcess, pcscd_alive, wait_for


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
    (docs/simulator.md); a stuck slot must not leak from one test module into another."""
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
