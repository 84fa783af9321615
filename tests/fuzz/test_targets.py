"""The short fuzzing pass of `make test`: every atheris target's seeds and a few thousand
deterministic pseudo-random inputs in-process, then (with atheris installed) each target under
libFuzzer for a couple of seconds. `make fuzz` runs the long version (python -m icpurse.hil.fuzz)."""
import importlib
import random

import pytest

from icpurse.hil import fuzz

NAMES = fuzz.target_names()
# in-process random inputs per target: cheap targets get more
RANDOM_INPUTS = {"card_layout": 3000, "link_frames": 1500, "pn532_frames": 1500, "journal_files": 300,
                 "purse_read": 150, "reader_link": 40, "host_journal": 150}


def test_every_target_is_listed():
    assert set(NAMES) == {"card_layout", "host_journal", "journal_files", "link_frames", "pn532_frames", "purse_read", "reader_link"}


@pytest.mark.parametrize("name", NAMES)
def test_seeds_and_random_inputs(name):
    target = importlib.import_module(name)
    assert target.SEEDS, "a target needs seeds to start the fuzzer from"
    for seed in target.SEEDS:
        target.test_one_input(seed)
    rng = random.Random(name)
    for _ in range(RANDOM_INPUTS.get(name, 300)):
        target.test_one_input(rng.randbytes(rng.randrange(0, 200)))


@pytest.mark.parametrize("name", NAMES)
def test_short_fuzz(name, tmp_path):
    pytest.importorskip("atheris", reason="atheris not installed (pip install 'icpurse[fuzz]')")
    ok, crashes, out = fuzz.run_target(name, seconds=2, work=str(tmp_path))
    tail = "\n".join(line for line in out.splitlines() if not line.startswith("#"))[-3000:]
    assert ok, "fuzz target %s crashed; inputs %s\n%s" % (name, crashes, tail)
