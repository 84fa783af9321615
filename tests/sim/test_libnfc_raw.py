"""libnfc's raw-frame tools against `icpurse sim serve --pty` (Debian libnfc-bin / libnfc-examples):
nfc-anticol (REQA, anticollision and select by hand through InCommunicateThru and the CIU
registers), nfc-poll (InAutoPoll, then presence checks until the card leaves), nfc-mfsetuid and
nfc-mfclassic R / W on a Gen1a clone (the 0x40 / 0x43 backdoor).

Expected values: the UIDs, ATQA and SAK we gave the cards (docs/simulator.md, card table), block
contents we chose, and the cards' own memory read through the control socket.
"""
import os
import re
import select
import shutil
import subprocess
import time

import pytest

from support.simproc import SimProcess

pytestmark = pytest.mark.libnfc

TOOL_TIMEOUT_S = 60

for _tool in ("nfc-anticol", "nfc-poll", "nfc-mfsetuid", "nfc-mfclassic", "nfc-list"):
    if shutil.which(_tool) is None:
        pytest.skip("%s not installed (Debian packages libnfc-bin, libnfc-examples; `make test` installs "
                    "them)" % _tool, allow_module_level=True)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    base = tmp_path_factory.mktemp("libnfcraw")
    proc = SimProcess(["--pty", "--card", "one=1k:DEADBEEF", "--card", "seven=1k7:04112233445566",
                       "--card", "clone=1k:01020304:gen1a", "--card", "cuid=1k:0A0B0C0D:cuid"],
                      str(base / "control"))
    try:
        proc.tmp = base
        yield proc
    finally:
        proc.stop()


def env_for(sim):
    env = dict(os.environ)
    env.update(LIBNFC_DEFAULT_DEVICE="pn532_uart:" + sim.pn532, LIBNFC_AUTO_SCAN="false",
               LIBNFC_INTRUSIVE_SCAN="false", LIBNFC_LOG_LEVEL="1")
    return env


def run(sim, *args, check=True):
    res = subprocess.run(list(args), env=env_for(sim), capture_output=True, text=True, timeout=TOOL_TIMEOUT_S,
                         cwd=str(sim.tmp))
    if check:
        assert res.returncode == 0, "%s failed (%d):\n%s\n%s" % (args, res.returncode, res.stdout, res.stderr[-3000:])
    return res


def test_nfc_anticol_4_byte_uid(sim):
    sim.command("present one")
    out = run(sim, "nfc-anticol").stdout
    assert "Received bits: 04  00" in out  # ATQA, LSB first on air
    assert "Received bits: de  ad  be  ef  22" in out  # UID + BCC
    assert re.search(r"UID: deadbeef\s+ATQA: 0004\s+SAK: 08", out), out


def test_nfc_anticol_7_byte_uid_two_cascade_levels(sim):
    sim.command("present seven")
    out = run(sim, "nfc-anticol").stdout
    assert "Received bits: 88  04  11  22  bf" in out  # cascade tag + BCC 88^04^11^22
    assert re.search(r"UID: 04112233445566\s+ATQA: 0044\s+SAK: 08", out), out


def test_nfc_anticol_empty_field(sim):
    sim.command("remove")
    res = run(sim, "nfc-anticol", check=False)
    assert res.returncode != 0 and "No tag available" in res.stdout


def test_nfc_poll_finds_the_card_then_sees_it_leave(sim):
    sim.command("present one")
    proc = subprocess.Popen(["nfc-poll"], env=env_for(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=str(sim.tmp))
    try:
        out = ""
        deadline = time.monotonic() + TOOL_TIMEOUT_S
        # "Waiting for card removing..." ends without a newline (flushed): read what comes
        while "Waiting for card removing" not in out:
            assert time.monotonic() < deadline, "nfc-poll did not find the card: %s" % out
            if select.select([proc.stdout], [], [], 1.0)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, "nfc-poll ended early: %s %s" % (out, proc.stderr.read())
                out += chunk.decode()
        assert re.search(r"ATQA \(SENS_RES\): 00  04", out) and "de  ad  be  ef" in out, out
        sim.command("remove")
        rest, err = proc.communicate(timeout=TOOL_TIMEOUT_S)
        rest, err = rest.decode(), err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "done." in rest
    assert "Application level error" not in err  # InAutoPoll is answered, not the error frame


def test_nfc_poll_empty_field(sim):
    sim.command("remove")
    out = run(sim, "nfc-poll").stdout
    assert "No target found." in out


def test_nfc_mfsetuid_on_a_gen1a_clone(sim):
    sim.command("present clone")
    out = run(sim, "nfc-mfsetuid", "CAFEBABE").stdout
    assert "Card unlocked" in out
    dump = sim.dump("clone")
    # nfc-mfsetuid's block 0: the UID, BCC CA^FE^BA^BE = 30, then its fixed manufacturer bytes
    assert dump[:16] == bytes.fromhex("CAFEBABE30" "0804004659255849102302")
    listed = run(sim, "nfc-list").stdout
    assert re.search(r"UID \(NFCID1\): ca  fe  ba  be", listed), listed


def test_nfc_mfsetuid_on_genuine_and_cuid_cards_changes_nothing(sim):
    for name in ("one", "cuid"):
        sim.command("present " + name)
        before = sim.dump(name)
        out = run(sim, "nfc-mfsetuid", "CAFEBABE").stdout
        assert "Unlock command [1/2]: failed" in out
        assert sim.dump(name) == before


def test_nfc_mfclassic_unlocked_write_and_read_on_gen1a(sim):
    sim.command("present clone")
    before = sim.dump("clone")
    clone = bytearray(before)
    uid = bytes.fromhex("11223344")
    clone[0:16] = uid + bytes([0x11 ^ 0x22 ^ 0x33 ^ 0x44]) + bytes.fromhex("080400") + b"icpurse."
    clone[4 * 16:5 * 16] = b"gen1a clone data"
    clone[8 * 16:9 * 16] = bytes(range(16))
    path = sim.tmp / "clone.mfd"
    path.write_bytes(bytes(clone))
    out = run(sim, "nfc-mfclassic", "W", "a", "u", str(path)).stdout
    assert "Card unlocked" in out
    after = sim.dump("clone")
    assert after[:16] == clone[:16]  # block 0 (the UID) written through the backdoor
    assert after[64:80] == b"gen1a clone data" and after[128:144] == bytes(range(16))
    # libnfc 1.8.0's W writes the first block of each sector and sector 0 (issues #564, #629);
    # every other block must be as it was
    for block in range(64):
        if block >= 4 and block % 4 != 0:
            assert after[16 * block:16 * block + 16] == before[16 * block:16 * block + 16], block
    # R through the backdoor reads the raw memory, keys included: exactly the card
    run(sim, "nfc-mfclassic", "R", "a", "u", str(sim.tmp / "clone-read.mfd"))
    assert (sim.tmp / "clone-read.mfd").read_bytes() == after
    listed = run(sim, "nfc-list").stdout
    assert "11  22  33  44" in listed
