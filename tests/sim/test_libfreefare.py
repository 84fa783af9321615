"""libfreefare's MIFARE Classic tools (Debian libfreefare-bin) against `icpurse sim serve --pty`:
an NDEF message written as MAD + NFC Forum sector, read back, then the card formatted.

Expected values are public facts, not the simulator's: the MAD sector's key A A0 A1 A2 A3 A4 A5
(NXP AN10787), the NFC Forum key A D3 F7 D3 F7 D3 F7 for NDEF sectors (NXP AN1305), the NDEF
message TLV `03 <len> <message> FE`, and the transport configuration a format restores (keys
FF x 6, access bytes FF 07 80 69).
"""
import os
import shutil
import subprocess

import pytest

from support.simproc import SimProcess

pytestmark = pytest.mark.libnfc

TOOLS = ("mifare-classic-write-ndef", "mifare-classic-read-ndef", "mifare-classic-format")
for _tool in TOOLS:
    if shutil.which(_tool) is None:
        pytest.skip("%s not installed (Debian package libfreefare-bin; `make test` installs it)" % _tool,
                    allow_module_level=True)

TRANSPORT = bytes.fromhex("FFFFFFFFFFFF" "FF078069" "FFFFFFFFFFFF")
# An NDEF URI record (NFC Forum RTD URI): header D1, type length 1, payload length 0B, type 'U',
# prefix 04 ("https://"), "example.com"
MESSAGE = bytes.fromhex("D1010B5504") + b"example.com"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    base = tmp_path_factory.mktemp("freefare")
    proc = SimProcess(["--pty", "--card", "one=1k:DEADBEEF", "--card", "big=4k:01020304"], str(base / "control"))
    try:
        proc.tmp = base
        yield proc
    finally:
        proc.stop()


def run(sim, *args):
    env = dict(os.environ, LIBNFC_DEFAULT_DEVICE="pn532_uart:" + sim.pn532, LIBNFC_AUTO_SCAN="false",
               LIBNFC_INTRUSIVE_SCAN="false", LIBNFC_LOG_LEVEL="1")
    res = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=120, cwd=str(sim.tmp))
    assert res.returncode == 0, "%s failed (%d):\n%s\n%s" % (args, res.returncode, res.stdout, res.stderr[-3000:])
    return res.stdout


def block(dump, n):
    return dump[16 * n:16 * n + 16]


@pytest.mark.parametrize("name,size_label", [("one", "1k"), ("big", "4k")])
def test_write_read_format_ndef(sim, name, size_label):
    sim.command("present " + name)
    msg = sim.tmp / "msg.ndef"
    msg.write_bytes(MESSAGE)
    out = run(sim, "mifare-classic-write-ndef", "-y", "-i", str(msg))
    assert "Found Mifare Classic %s" % size_label in out, out
    dump = sim.dump(name)
    assert block(dump, 3)[:6] == bytes.fromhex("A0A1A2A3A4A5")  # MAD sector, public key A
    assert block(dump, 7)[:6] == bytes.fromhex("D3F7D3F7D3F7")  # first NDEF sector, NFC Forum key A
    tlv = bytes([0x03, len(MESSAGE)]) + MESSAGE + b"\xfe"
    assert dump[64:64 + len(tlv)] == tlv

    out_path = sim.tmp / "read.ndef"
    run(sim, "mifare-classic-read-ndef", "-y", "-o", str(out_path))
    assert out_path.read_bytes() == MESSAGE

    run(sim, "mifare-classic-format", "-y")
    dump = sim.dump(name)
    sectors = 16 if name == "one" else 40
    for s in range(sectors):
        first, count = (4 * s, 4) if s < 32 else (128 + 16 * (s - 32), 16)
        assert block(dump, first + count - 1) == TRANSPORT, s
        for b in range(first, first + count - 1):
            if b:
                assert block(dump, b) == bytes(16), b
