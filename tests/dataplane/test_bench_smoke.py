"""Smoke run of bench/bench_bmv2.py with a tiny count (bmv2 + root only)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.tooling import tool_missing

from .netns import netns_available
from .p4consts import REPO
from .targets import find_binary


def test_bench_bmv2_smoke(tmp_path):
    # the bench compiles its router baseline with p4c-bm2-ss
    reason = netns_available() or find_binary("bmv2")[1] or tool_missing("p4c-bm2-ss")
    if reason:
        pytest.skip(reason)
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "bench/bench_bmv2.py", "--count", "30",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    for case in ("downlink_encap", "uplink_decap"):
        assert result[f"{case}_pps"] > 0
        assert result[f"{case}_ratio"] > 0
    assert "ratio" in proc.stdout
