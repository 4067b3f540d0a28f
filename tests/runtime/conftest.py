"""Fixtures of the runtime tests."""
from __future__ import annotations

import pytest

from tests.etcd_server import EtcdServer


@pytest.fixture
def etcd(tmp_path):
    """A one-member etcd of its own for the test (skips where etcd is not installed)."""
    server = EtcdServer(tmp_path).start()
    yield server
    server.stop()
