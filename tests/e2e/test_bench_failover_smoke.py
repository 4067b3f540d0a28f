"""bench/bench_failover.py runs end to end with few runs (root; skipped with the reason when
etcd or the switch is missing) and writes every figure it prints; no timing is asserted."""
from __future__ import annotations

import json

import pytest

from .test_bench_smoke import load

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]


def test_bench_failover_smoke(tmp_path):
    mod = load("bench_failover")
    reason = mod.unavailable("embedded")
    if reason:
        pytest.skip(reason)
    out = tmp_path / "failover.json"
    argv = ["--runs", "2", "--count", "200", "--rounds", "1", "--mns", "300", "--rate", "100", "--out", str(out)]
    assert mod.main(argv) == 0
    res = json.loads(out.read_text())
    assert res["runs_asked"] == 2 and 1 <= res["runs"] <= 2 and res["lease_ttl_s"] == 2  # (a run whose new
    for key in ("failover_ms", "kill_to_election_won_ms", "election_won_to_first_pba_ms"):  # owner exits: left out)
        assert len(res[key]["values"]) == res["runs"] and None not in res[key]["values"]
    assert res["load"]["inconsistent_answers"] == 0
    regs = res["registrations_per_s"]
    assert regs["sqlite"]["median"] > 0 and regs["etcd"]["median"] > 0 and regs["etcd_over_sqlite"] > 0
