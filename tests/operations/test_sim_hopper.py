"""`--reader sim` as a card hopper (hil/simreader.py) driven by `icpurse sim hopper ...` between
runs: distinct UIDs per blank, several cards, present / remove, faults armed for the next run and
disarmed when they fire, and every change of a card saved at once (a run that dies keeps it)."""
import json

import pytest
from click.testing import CliRunner

from icpurse.firmware.tag import TagGone
from icpurse.hil.sim import dumps
from icpurse.hil.simreader import SimReader
from icpurse.host.cli import main

TRANSPORT = b"\xff" * 6


def hopper(state, *words):
    result = CliRunner().invoke(main, ["sim", "hopper", *words, "--state", str(state), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def uid_on(reader):
    return bytes(reader.wait_for_card(0.5).uid).hex().upper()


def test_blanks_get_distinct_uids_and_eject_moves_through_the_hopper(tmp_path):
    doc = hopper(tmp_path, "add", "--blanks", "2")
    assert [c["uid"] for c in doc["cards"]] == ["5E110001", "5E110002", "5E110003"]
    assert doc["in_field"] == "card"
    reader = SimReader(tmp_path)
    seen = [uid_on(reader)]
    for _ in range(2):
        reader.eject()
        seen.append(uid_on(reader))
    assert seen == ["5E110001", "5E110002", "5E110003"]
    reader.eject()  # nothing waiting: the field is empty
    with pytest.raises(TagGone):
        reader.wait_for_card(0.2)
    reader.close()
    assert hopper(tmp_path, "list")["in_field"] is None


def test_present_and_remove_between_runs(tmp_path):
    hopper(tmp_path, "add", "--blanks", "1")
    hopper(tmp_path, "present", "blank-5E110002")
    assert uid_on(SimReader(tmp_path)) == "5E110002"
    hopper(tmp_path, "remove")
    with pytest.raises(TagGone):
        SimReader(tmp_path).wait_for_card(0.2)
    result = CliRunner().invoke(main, ["sim", "hopper", "present", "no-such-card", "--state", str(tmp_path)])
    assert result.exit_code == 2 and "no card" in result.output


def test_every_write_is_on_disk_at_once(tmp_path):
    reader = SimReader(tmp_path)
    tag = reader.wait_for_card(0.5)
    tag.authenticate(4, TRANSPORT)
    tag.write_block(4, bytes(range(16)))
    # no close(): as if the process were killed right after the write
    on_disk = dumps.load(str(tmp_path / "card.mfd"))
    assert bytes(on_disk.blocks[4]) == bytes(range(16))


def test_remove_after_n_commands_fires_once_and_is_disarmed(tmp_path):
    hopper(tmp_path, "fault", "remove_after", "2")
    reader = SimReader(tmp_path)
    tag = reader.wait_for_card(0.5)
    with pytest.raises(Exception):
        tag.authenticate(4, TRANSPORT)
        tag.read_block(4)
        tag.read_block(5)
        tag.read_block(6)
    state = hopper(tmp_path, "list")
    assert state["faults"]["remove_after"] is None and state["in_field"] is None  # pulled, and saved so
    hopper(tmp_path, "present", "card")
    tag = SimReader(tmp_path).wait_for_card(0.5)
    tag.authenticate(4, TRANSPORT)  # the fault fired once: this run works
    assert len(tag.read_block(4)) == 16


def test_a_torn_write_leaves_the_torn_block_on_disk(tmp_path):
    hopper(tmp_path, "fault", "tear_next_write", "new")
    reader = SimReader(tmp_path)
    tag = reader.wait_for_card(0.5)
    tag.authenticate(4, TRANSPORT)
    with pytest.raises(Exception):
        tag.write_block(4, b"\xaa" * 16)
    assert bytes(dumps.load(str(tmp_path / "card.mfd")).blocks[4]) == b"\xaa" * 16
    state = hopper(tmp_path, "list")
    assert state["faults"]["tear"] is None and state["in_field"] is None
    bad = CliRunner().invoke(main, ["sim", "hopper", "fault", "tear_next_write", "sideways", "--state", str(tmp_path)])
    assert bad.exit_code == 2
