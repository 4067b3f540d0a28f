"""Fixtures for end-to-end tests: one running lab (namespaces, switches,
controllers) per test module and target. Skips cleanly without root, without
the committed P4 build, without ping or the target binary; without tcpdump
the lab captures nothing (the pcap tests skip). Each test brings the shared
lab to the state it starts from (states.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from p4mobility.lab.lab import Lab, LabError, find_switch, lab_unavailable
from tests.tooling import find_tool, tool_missing


def targets() -> list[str]:
    wanted = os.environ.get("P4MOB_TARGETS", "embedded,bmv2")
    return [t for t in ("embedded", "bmv2") if t in wanted.split(",")]


def make_lab(request, tmp_path_factory, options=None) -> Lab:
    reason = lab_unavailable() or tool_missing("ping")
    if reason:
        pytest.skip(reason)
    target = request.param
    try:
        find_switch(target)
    except LabError as exc:
        pytest.skip(str(exc))
    out = Path(tmp_path_factory.mktemp(f"lab-{target}"))
    lab = Lab(out, target, options, tag="t", pcap=find_tool("tcpdump") is not None)
    try:
        lab.start()
    except BaseException:
        lab.close()
        raise
    return lab


def assert_registrations_accepted(pairs: list[tuple[int | None, int | None]]) -> None:
    """On one LMA-MAG link (pcapcheck.answers): every PBA answers a PBU seen there, and
    every registration is accepted, or refused with 157 and then accepted on a retry
    (RFC 5213 §5.5: when the MN moves, the old MAG's de-registration, stamped later, may
    reach the LMA first); a de-registration may be refused (a late one from the old MAG)."""
    assert all(asked is not None for asked, _ in pairs), pairs
    for i, (asked, status) in enumerate(pairs):
        if asked and status != 0:
            assert status == 157 and any(a and s == 0 for a, s in pairs[i + 1:]), pairs
