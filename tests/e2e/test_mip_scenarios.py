"""`p4mob lab --scenario mip-nat | mcoa`: the host-mobility scenarios run from the command line
on each target and write summary.json in the shape of pmip-handover (sent, lost, max_gap_ms,
signalling decoded by tshark, pcaps, esp_sa), with what each scenario is about: the home
addresses kept across the NAT and a TCP transfer that survived (mip-nat); flows spread over
two CoAs and the ones on the lost interface moved without loss of the binding (mcoa). The
values asserted are the lab's topology and the RFCs' outcomes, not the scenario's code."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from p4mobility.lab import mip_topology as M
from p4mobility.lab.mip_lab import nat_unavailable

from .mip_states import mip_unavailable, targets

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
SHAPE = {"scenario", "target", "ipsec", "mn_address", "sent", "received", "lost", "max_gap_ms", "ping_interval_ms",
         "pcaps", "esp_sa", "signaling_in_pcaps", "plot"}


def run(tmp_path, scenario: str, target: str) -> dict:
    from p4mobility.lab.lab import LabError, find_switch
    reason = mip_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        find_switch(target)
    except LabError as exc:
        pytest.skip(str(exc))
    out = tmp_path / scenario
    res = subprocess.run([sys.executable, "-m", "p4mobility.cli", "lab", "--scenario", scenario, "--target", target,
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert SHAPE <= set(summary) and summary["scenario"] == scenario and summary["target"] == target
    assert all((out / p).exists() for p in summary["pcaps"]) and (out / "esp_sa").exists()
    assert summary["sent"] > 0 and summary["received"] > 0
    sig = summary["signaling_in_pcaps"]
    if sig is not None:  # tshark installed: every BU/BA it found was in ESP with a good ICV
        assert sig["mh_messages"] > 0 and sig["in_esp"] == sig["esp_icv_good"] == sig["mh_messages"]
        assert sig["pcaps_with_malformed"] == 0
    return summary


@pytest.mark.skipif(nat_unavailable() is not None, reason=nat_unavailable() or "")
@pytest.mark.parametrize("target", targets())
def test_mip_nat_scenario(tmp_path, target):
    s = run(tmp_path, "mip-nat", target)
    assert [m["to"] for m in s["moves"]] == ["nat", "acca"]
    assert [m["encapsulation"] for m in s["moves"]] == ["udp4191", "ipv6"]  # RFC 5555 §4.1 behind the NAT
    assert s["nat_outer_source"].startswith(f"{M.NAT_PUBLIC}:")  # draft-laganier req. 4
    assert s["home_addresses_kept"] and s["ipv4_home_address"] is not None
    assert s["tcp_survived"] and s["tcp"]["server"]["bytes"] == s["tcp"]["client"]["bytes"] > 0


@pytest.mark.parametrize("target", targets())
def test_mcoa_scenario(tmp_path, target):
    s = run(tmp_path, "mcoa", target)
    coas = {str(M.MN_COA["acca"]), str(M.MN_COA["accb"])}
    assert set(s["coas_used_by_flows"]) == coas  # RFC 5648: the flows used both CoAs
    assert all(len(f["coas_before"]) == 1 for f in s["flows"].values())  # each flow on one CoA
    assert all(f["coas_after"] == [str(M.MN_COA["accb"])] for f in s["flows"].values())  # wlan0 lost
    assert s["flows_moved"] and all(f["received"] > 0 for f in s["flows"].values())
