"""Fixtures of the key-management tests."""
import pytest

from icpurse.keys.hierarchy import KeyDomain


@pytest.fixture
def domain():
    return KeyDomain.generate(issuer=7, name="test", custodians=3, threshold=2)
