"""`make soak` in small: the real lab processes, the generator's ESP load, and faults while it
runs (kill -9 of the LMA controller and of its switch, loss on the generator's link, the LMA's
state disk full). No timing is asserted: every acknowledged binding is kept, the switch's
entries equal the store's bindings, nothing is left dead, and the logs say what happened."""
from __future__ import annotations


from p4mobility.soak.run import Soak, SoakOptions
from tests.tooling import require_lab


def test_soak_smoke_faults_keep_every_acknowledged_binding(tmp_path):
    require_lab("ping", "mount")
    opts = SoakOptions(seconds=18, rate=40, mns=120, faults=("lma_controller", "link_loss", "switch", "disk_full"),
                       fault_every=3.0, fault_hold=2.0, warmup=4.0, rounds=1, state_mb=4, drain=60.0)
    s = Soak(tmp_path, opts, echo=lambda m: None).run()
    f = s["final"]
    assert s["acked"] > 0 and s["fault_errors"] == [] and s["unexpected_exits"] == []
    assert {k: d["count"] for k, d in s["faults"].items()} == {k: 1 for k in opts.faults}
    assert f["bindings_lost"] == 0 and f["wrong_coa_or_hnp"] == 0, f
    assert f["entries_equal_store"] and f["lma_equals_store"], f
    assert f["not_running_at_end"] == []
    afters = [r["after"] for r in s["fault_log"] if "after" in r]
    assert afters and all(a["missing_in_switch"] == 0 and a["missing_in_store"] == 0 for a in afters), afters
    logs = {r["kind"]: r["logs"] for r in s["fault_log"]}
    assert logs["lma_controller"]["state_restored"] and logs["switch"]["switch_down"]
    assert logs["disk_full"]["store_recovered"] is not False  # None: no write was refused meanwhile
    assert (tmp_path / "soak.json").exists()
