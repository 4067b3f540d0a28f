"""Fixtures for the mobile-node daemon tests: a lab (mnlab.py) and the HA's wire side (peer.py)."""
from __future__ import annotations

import os

import pytest

from tests.mn.mnlab import MnLab
from tests.mn.peer import HaPeer
from tests.tooling import tool_missing


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, TUN, raw sockets)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun (tun driver)"
    return tool_missing("ip", "ping")


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    for item in items:
        if "tests/mn/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def make_lab(tmp_path):
    made: list = []

    def make(**kw):
        root = tmp_path / f"lab{len(made)}"
        root.mkdir()
        lab = MnLab(root, **{k: v for k, v in kw.items() if k in ("payload_sa", "mn_extra")})
        made.append(lab)
        peer = HaPeer(lab, **{k: v for k, v in kw.items() if k in ("nat_detection", "assign_ipv4", "hold")})
        made.append(peer)
        return lab, peer

    yield make
    for thing in reversed(made):
        thing.close()
