"""Fixtures for the PMIPv6 core tests (builders live in pmip_helpers.py)."""
from __future__ import annotations

import pytest

from tests.pmip.pmip_helpers import make_lma, make_sim


@pytest.fixture
def lma():
    return make_lma()


@pytest.fixture
def sim():
    return make_sim()
