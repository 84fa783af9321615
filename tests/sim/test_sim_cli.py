"""`icpurse sim serve`: card specs, the control interface, --state dumps, and the process contract
(first stdout line, exit on SIGTERM, usage errors)."""
import json
import os
import signal
import subprocess

import pytest

from icpurse.hil.sim.server import CardSpec, Rig
from support.simproc import icpurse_command

BCC_DEADBEEF = 0x22  # DE ^ AD ^ BE ^ EF (docs/chip-facts.md "Block 0")
TRANSPORT_TRAILER = bytes.fromhex("FFFFFFFFFFFF" "FF078069" "FFFFFFFFFFFF")


# ---- card specs ---------------------------------------------------------------------------------

def test_card_specs():
    s = CardSpec("1k:DEADBEEF")
    assert (s.name, s.size, s.uid, s.magic) == ("deadbeef", "1k", bytes.fromhex("DEADBEEF"), None)
    s = CardSpec("alice=4k7:04112233445566:magic")
    assert (s.name, s.size, s.uid, s.magic) == ("alice", "4k", bytes.fromhex("04112233445566"), "cuid")
    assert len(CardSpec("1k7").uid) == 7


@pytest.mark.parametrize("text", ["2k:DEADBEEF", "1k:DEAD", "1k7:DEADBEEF", "1k:XYZ", "1k:DEADBEEF:gold"])
def test_bad_card_specs(text):
    with pytest.raises(ValueError):
        CardSpec(text)


# ---- the rig and its control commands (in-process) -------------------------------------------------

@pytest.fixture
def rig():
    return Rig([CardSpec("one=1k:DEADBEEF"), CardSpec("big=4k:01020304")])


def test_default_deck_is_one_transport_card():
    r = Rig()
    card = r.deck.in_field
    assert card.size == "1k" and bytes(card.uid) == bytes.fromhex("DEADBEEF")
    dump = card.to_mfd()
    assert dump[:5] == bytes.fromhex("DEADBEEF") + bytes([BCC_DEADBEEF])
    for sector in range(16):
        assert dump[64 * sector + 48:64 * sector + 64] == TRANSPORT_TRAILER


def test_list_and_status(rig):
    cards = rig.command("list")["cards"]
    assert [(c["name"], c["uid"], c["size"], c["in_field"]) for c in cards] == [
        ("one", "deadbeef", "1k", True), ("big", "01020304", "4k", False)]
    status = rig.command("status")
    assert status["ok"] and status["in_field"] == "one"
    assert status["clock_us"] == 0 and status["counters"]["commands"] == 0


def test_present_remove_swap(rig):
    assert rig.command("remove") == {"ok": True, "in_field": None}
    assert rig.deck.in_field is None
    assert rig.command("present big")["in_field"] == "big"
    assert rig.command("swap one")["in_field"] == "one"
    assert rig.deck.in_field is rig.cards["one"]


def test_dump(rig):
    dump = bytes.fromhex(rig.command("dump big")["mfd"])
    assert len(dump) == 4096 and dump[:4] == bytes.fromhex("01020304")
    assert rig.command("dump")["name"] == "one"


def test_fault_commands_arm_the_shared_faults(rig):
    assert rig.command("fault remove_after 0")["ok"]
    card = rig.deck.in_field
    with pytest.raises(Exception):
        card.select()  # the next card command: the card leaves the field
    assert rig.deck.in_field is None
    assert rig.command("fault tear_next_write mix 7")["ok"]
    assert rig.command("fault garbage_before_next 5500")["ok"]


@pytest.mark.parametrize("line", ["", "dance", "present nobody", "swap", "fault melt", "fault remove_after x"])
def test_bad_commands_answer_errors(rig, line):
    answer = rig.command(line)
    assert answer["ok"] is False and answer["error"]


# ---- --state ----------------------------------------------------------------------------------------

def test_state_dir_keeps_dumps_between_runs(tmp_path):
    r = Rig([CardSpec("1k:DEADBEEF")], state_dir=str(tmp_path))
    r.save_dumps()
    path = tmp_path / "deadbeef.mfd"
    assert path.read_bytes() == r.cards["deadbeef"].to_mfd()
    r.cards["deadbeef"].blocks[4][:] = bytes(range(16))
    r.save_dumps()
    again = Rig([CardSpec("1k:DEADBEEF")], state_dir=str(tmp_path))
    assert again.cards["deadbeef"].to_mfd()[64:80] == bytes(range(16))


def test_state_dump_of_the_wrong_size_is_refused(tmp_path):
    (tmp_path / "deadbeef.mfd").write_bytes(bytes(1024))
    with pytest.raises(ValueError):
        Rig([CardSpec("4k:DEADBEEF")], state_dir=str(tmp_path))


def test_state_keeps_a_7_byte_uid(tmp_path):
    r = Rig([CardSpec("1k7:04112233445566")], state_dir=str(tmp_path))
    r.save_dumps()
    again = Rig([CardSpec("1k7:04112233445566")], state_dir=str(tmp_path))
    assert bytes(again.deck.in_field.uid) == bytes.fromhex("04112233445566")


# ---- the process ----------------------------------------------------------------------------------

def test_serve_prints_the_pty_first_and_stops_on_sigterm(start_sim, tmp_path):
    sim = start_sim("--pty", "--pcsc", "--vpcd-port", "1", "--state", str(tmp_path / "st"))
    try:
        assert sim.first_line.startswith("pn532 /dev/pts/")
        assert os.path.exists(sim.pn532)
        assert sim.pcsc == "vpcd port 1"  # nobody listens there: the rig serves on without PC/SC
        status = sim.command("status")
        assert status["pn532"] == sim.pn532 and status["in_field"] == "deadbeef"
        assert sim.command("list")["cards"][0]["uid"] == "deadbeef"
        # the same interface from the shell: `icpurse sim control PATH WORDS...`
        res = subprocess.run(icpurse_command() + ["sim", "control", sim.control, "swap", "deadbeef"],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0 and json.loads(res.stdout) == {"ok": True, "in_field": "deadbeef"}
        res = subprocess.run(icpurse_command() + ["sim", "control", sim.control, "present", "nobody"],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 1 and json.loads(res.stdout)["ok"] is False
    finally:
        rc = sim.stop()
    assert rc == 0
    assert (tmp_path / "st" / "deadbeef.mfd").stat().st_size == 1024
    assert not os.path.exists(sim.control)  # the control socket is cleaned up


@pytest.mark.parametrize("args", [[], ["--pty", "--card", "3k:00"]])
def test_usage_errors_exit_2(args):
    res = subprocess.run(icpurse_command() + ["sim", "serve"] + args, capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2, res.stderr


def test_pcsc_alone_prints_the_reader_first(start_sim):
    sim = start_sim("--pcsc", "--vpcd-port", "1")
    assert sim.first_line == "pcsc vpcd port 1"
    assert sim.pn532 is None


def test_sigint_stops_too(start_sim):
    sim = start_sim("--pty")
    sim.proc.send_signal(signal.SIGINT)
    assert sim.proc.wait(timeout=10) == 0
