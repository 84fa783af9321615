"""`icpurse sim reader --pty`: the firmware's reader on the virtual rig, reached by the host's
serial client on the printed path; its keys and journal survive a restart with --state."""
import os
import signal
import subprocess
import sys

from icpurse.firmware import codec, kdf
from icpurse.host.readers.serial import LinkClient

ICPURSE = os.path.join(os.path.dirname(sys.executable), "icpurse")
h = bytes.fromhex


def start(state, *extra):
    proc = subprocess.Popen([ICPURSE, "sim", "reader", "--pty", "--card", "1k:0a0b0c0d", "--state", str(state)]
                            + list(extra), stdout=subprocess.PIPE, text=True)
    first = proc.stdout.readline().split()
    second = proc.stdout.readline().split()
    assert first[0] == "reader" and second[0] == "control", (first, second)
    return proc, first[1]


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def test_sim_reader_serves_the_link_and_keeps_state(tmp_path):
    master = h("99" * 16)
    tk = tmp_path / "transport.hex"
    tk.write_text(kdf.transport_key(master, 12345678, 1).hex())
    proc, path = start(tmp_path, "--transport-key", str(tk))  # the lab ceremony on the virtual board
    try:
        client = LinkClient(path, timeout=5)
        info = client.info()
        assert info["link_version"] == codec.LINK_VERSION and info["key_version"] == 0
        assert info["link_state"] == codec.LINK_STATE_TRANSPORT
        client.authenticate(kdf.transport_key(master, 12345678, 1))
        client.provision_keys(12345678, 1, h("11" * 16), h("33" * 16), kdf.journal_key(master, 12345678, 1),
                              kdf.link_key(master, 12345678, 1), kdf.config_key(master, 12345678, 1))
        client.close()
    finally:
        stop(proc)
    proc, path = start(tmp_path)
    try:
        client = LinkClient(path, timeout=5)
        info = client.info()
        assert info["key_version"] == 1 and info["terminal"] == 12345678  # from the reader's NVS + flash
        assert info["link_state"] == codec.LINK_STATE_PROVISIONED  # the transport key was used up
        client.close()
    finally:
        stop(proc)
