"""Two LMA switches behind one LMA address, one LMA node (docs/cluster.md).

Real processes: two switches (embedded target, and bmv2 when simple_switch_grpc
exists), linked by a veth pair on their port 3; `p4mob lma run` controls both.
The test plays the MAG-side network (it picks the switch a MAG's packets reach,
as an ECMP hash would) and the CN side (each switch's pool routed to it) on
veths in a namespace: port 1/2 are sw1's MAG and CN sides, 3/4 sw2's. MNs get
prefixes from pool a (sw1) and pool b (sw2); each MN's entries must be on the
switch serving its prefix and not on the other, and uplink and downlink must
cross the right switch, also an uplink that lands on the switch not serving it.
"""
from __future__ import annotations

import time

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tests.e2e.lma_switches_rig import (BODY, CN, CN_SIDE, GEN_MAC, LMA, MAG1, MAG2, MAG_SIDE, POOL_A, POOL_B, SW_MAC,
                                        frame, mh_bytes, pbu, start_or_skip)


@pytest.fixture(params=["embedded", "bmv2"])
def rig(request, tmp_path):
    r = start_or_skip(request.param, tmp_path)
    yield r
    r.close()


def bound_prefixes(entries: list[dict]) -> set[str]:
    return {e["match"]["dst_addr"] for e in entries if e.get("table") == "bindings"}


def test_each_mns_entries_on_the_switch_serving_its_prefix(rig):
    a0 = rig.register("mn-a0", 1, via="sw1", mag=MAG1)  # pool a, PBU through sw1
    b0 = rig.register("mn-b0", 1, via="sw1", mag=MAG1)  # pool b, PBU through sw1
    a1 = rig.register("mn-a1", 1, via="sw2", mag=MAG2)  # pool a, PBU through sw2
    assert a0.subnet_of(POOL_A) and a1.subnet_of(POOL_A) and b0.subnet_of(POOL_B)
    sw1, sw2 = rig.tables("sw1"), rig.tables("sw2")
    assert bound_prefixes(sw1) == {str(a0), str(a1)}
    assert bound_prefixes(sw2) == {str(b0)}
    for entries, own in ((sw1, 2), (sw2, 1)):
        assert len([e for e in entries if e.get("profile") == "binding_profile"]) == own
        assert len([e for e in entries if e.get("table") == "tunnel_peers"]) == 2  # MAG1, MAG2 on both
    steer = {n: [e["match"]["home_addr"] for e in t if e.get("table") == "pool_steering"]
             for n, t in (("sw1", sw1), ("sw2", sw2))}
    assert steer == {"sw1": [str(POOL_B)], "sw2": [str(POOL_A)]}
    shown = rig.control({"cmd": "show", "what": "bindings"})
    col = shown["columns"].index("switch")
    assert sorted(r[col] for r in shown["rows"]) == ["sw1", "sw1", "sw2"]
    switches = rig.control({"cmd": "show", "what": "switches"})
    assert [(r[0], r[3], r[4]) for r in switches["rows"]] == [("sw1", "a", True), ("sw2", "b", True)]

    # uplink through the serving switch, and through the other one (steered over the link)
    for mag, via, net, out in ((MAG1, "sw1", a0, "sw1"), (MAG1, "sw1", b0, "sw2"), (MAG2, "sw2", a1, "sw1"),
                               (MAG2, "sw2", b0, "sw2")):
        if (mag, net) == (MAG2, b0):
            continue  # b0 is bound to MAG1: covered by the spoofed case below
        mn = net[5]
        rig.ns.drain()
        inner = IPv6(src=str(mn), dst=str(CN), hlim=30) / BODY
        rig.ns.send(MAG_SIDE[via], bytes(Ether(dst=SW_MAC, src=GEN_MAC) / IPv6(src=str(mag), dst=str(LMA)) / inner))
        got = rig.expect(CN_SIDE[out], lambda p: p.src == str(mn) and p.dst == str(CN))
        assert got[Raw].load == BODY[Raw].load and got.hlim == 29
    # the serving switch checks the source: b0's inner source from MAG2 (not its MAG) goes nowhere
    rig.ns.drain()
    rig.ns.send(MAG_SIDE["sw2"], bytes(Ether(dst=SW_MAC, src=GEN_MAC) / IPv6(src=str(MAG2), dst=str(LMA)) /
                                       IPv6(src=str(b0[5]), dst=str(CN)) / BODY))
    with pytest.raises(AssertionError):
        rig.expect(CN_SIDE["sw2"], lambda p: p.src == str(b0[5]), timeout=2.0)

    # downlink: each pool reaches its switch by routing, which tunnels to the MN's MAG
    for net, sw, mag in ((a0, "sw1", MAG1), (b0, "sw2", MAG1), (a1, "sw1", MAG2)):
        rig.ns.drain()
        rig.ns.send(CN_SIDE[sw], bytes(Ether(dst=SW_MAC, src=GEN_MAC) /
                                       IPv6(src=str(CN), dst=str(net[5]), hlim=30) / BODY))
        got = rig.expect(MAG_SIDE[sw], lambda p: p.dst == str(mag) and p.nh == 41)
        assert got.src == str(LMA) and got.payload.dst == str(net[5]) and got[Raw].load == BODY[Raw].load
    # ... and the switch not serving b0 has no binding for it: no tunnel out of sw1
    rig.ns.drain()
    rig.ns.send(CN_SIDE["sw1"], bytes(Ether(dst=SW_MAC, src=GEN_MAC) / IPv6(src=str(CN), dst=str(b0[5])) / BODY))
    with pytest.raises(AssertionError):
        rig.expect(MAG_SIDE["sw1"], lambda p: p.nh == 41, timeout=2.0)


def test_restart_reconciles_each_switch_without_changes(rig):
    rig.register("mn-a0", 1, via="sw1", mag=MAG1)
    rig.register("mn-b0", 1, via="sw2", mag=MAG2)
    before = {n: rig.tables(n) for n in ("sw1", "sw2")}
    rig.kill_node()
    t = rig.start_node()
    for which in (lambda e: "switch" not in e, lambda e: e.get("switch") == "sw2"):
        e = rig.wait_event("reconciled", t, which)
        assert (e["inserted"], e["modified"], e["deleted"]) == (0, 0, 0), e
    assert {n: rig.tables(n) for n in ("sw1", "sw2")} == before


def test_downlink_held_during_a_handoff_leaves_through_the_serving_switch(rig):
    """RFC 5213 §5.3.5: sw2 punts downlink to a de-registering pool-b binding; the node holds
    it and, once the MAG registers again (its PBU through sw1), sends it through sw2."""
    hnp = rig.register("mn-b2", 1, via="sw1", mag=MAG1)
    hnps = ((str(hnp.network_address), 64),)
    rig.ns.drain()
    rig.ns.send(MAG_SIDE["sw1"], frame(mh_bytes(pbu("mn-b2", 2, lifetime=0, hnps=hnps), MAG1), src=MAG1))
    bye, _ = rig.wait_mh(MAG1)
    assert bye.status == 0 and bye.lifetime == 0
    t = time.time()
    mn = str(hnp[7])
    rig.ns.send(CN_SIDE["sw2"], bytes(Ether(dst=SW_MAC, src=GEN_MAC) / IPv6(src=str(CN), dst=mn) / BODY))
    rig.wait_event("downlink_held", t, timeout=30)
    rig.ns.send(MAG_SIDE["sw1"], frame(mh_bytes(pbu("mn-b2", 3, hnps=hnps), MAG1), src=MAG1))
    flushed = rig.wait_event("downlink_buffer_flushed", t)
    assert flushed["frames"] == 1
    got = rig.expect(MAG_SIDE["sw2"], lambda p: p.nh == 41 and p.payload.dst == mn)
    assert got.dst == str(MAG1) and got[Raw].load == BODY[Raw].load
