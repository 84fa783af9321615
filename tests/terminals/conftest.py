import pytest

import storeworld


@pytest.fixture
def world(tmp_path):
    w = storeworld.World(tmp_path)
    yield w
    w.close()
