"""The store world of tests/terminals (storeworld.py) is shared by the audit and reconciliation tests."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "terminals"))

import storeworld  # noqa: E402


@pytest.fixture
def world(tmp_path):
    w = storeworld.World(tmp_path)
    yield w
    w.close()
