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

import json
import os
import subprocess
import sys
import time
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4mobility.lab.topology import to_toml
from p4mobility.mh import HomeNetworkPrefix
from p4mobility.runtime.control import request
from p4mobility.runtime.logs import read_events
from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO
from tests.dataplane.netns import Namespace
from tests.dataplane.targets import SwitchProcess, find_binary
from tests.e2e.lma_alone import GEN_MAC, LMA, MAG1, MAG2, SW_MAC, frame, mh_bytes, pbu

POOL_A, POOL_B = IPv6Network("2001:db8:100::/48"), IPv6Network("2001:db8:200::/48")
CN = IPv6Address("2001:db8:c::10")
LINK_MACS = ("02:00:00:00:5e:01", "02:00:00:00:5e:02")  # sw1's and sw2's end of their link
MAG_SIDE, CN_SIDE = {"sw1": 1, "sw2": 3}, {"sw1": 2, "sw2": 4}  # namespace ports
BODY = UDP(sport=4000, dport=5000) / Raw(b"multiswitch" * 4)


def route(prefix: str, port: int, dst: str = GEN_MAC, src: str = SW_MAC) -> dict:
    return {"prefix": prefix, "port": port, "src_mac": src, "dst_mac": dst}


class TwoSwitches:
    def __init__(self, target: str, binary: str, out: Path) -> None:
        self.out, self.node = out, None
        self.ns = Namespace.create([1, 2, 3, 4])
        tag = self.ns.name.rsplit("-", 1)[1]
        self.link = (f"l{tag}a"[:15], f"l{tag}b"[:15])
        self.switches: dict[str, SwitchProcess] = {}
        try:
            subprocess.run(["ip", "link", "add", self.link[0], "type", "veth", "peer", "name", self.link[1]],
                           check=True)
            for ifname in self.link:
                subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1"], check=True)
                subprocess.run(["ip", "link", "set", ifname, "mtu", "9000", "up"], check=True)
            for i, name in enumerate(("sw1", "sw2")):
                ports = {1: self.ns.ports[MAG_SIDE[name]].switch_ifname,
                         2: self.ns.ports[CN_SIDE[name]].switch_ifname, 3: self.link[i]}
                self.switches[name] = SwitchProcess.start(target, binary, ports)
            self.start_node()
        except BaseException:
            self.close()
            raise

    def config(self) -> dict:
        mags = route("2001:db8:a::/64", 1)
        switches = []
        for i, (name, pool, other) in enumerate((("sw1", "a", "sw2"), ("sw2", "b", "sw1"))):
            switches.append({"name": name, "switch_address": self.switches[name].grpc_addr, "device_id": 1,
                             "pools": [pool], "routes": [mags, route("2001:db8:c::/64", 2)],
                             "steer": [{"switch": other, "port": 3, "src_mac": LINK_MACS[i],
                                        "dst_mac": LINK_MACS[1 - i]}]})
        return {
            "node": {"name": "lma", "p4info": str(DEFAULT_P4INFO), "p4blob": str(DEFAULT_P4BLOB),
                     "control_socket": str(self.out / "lma.sock"), "state_db": str(self.out / "lma.db"),
                     "log_level": "debug"},
            "lma": {"lma_address": str(LMA)},
            "policy": {"trusted_mags": [str(MAG1), str(MAG2)],
                       "pools": {"a": {"network": str(POOL_A), "prefix_length": 64},
                                 "b": {"network": str(POOL_B), "prefix_length": 64}},
                       "profiles": {**{f"mn-a{i}": {"pool": "a"} for i in range(3)},
                                    **{f"mn-b{i}": {"pool": "b"} for i in range(3)}}},
            "switches": switches,
        }

    def start_node(self) -> float:
        (self.out / "lma.toml").write_text(to_toml(self.config()))
        t = time.time()
        with open(self.out / "lma.log", "ab") as f:
            self.node = subprocess.Popen([sys.executable, "-m", "p4mobility.cli", "lma", "run", "-c",
                                          str(self.out / "lma.toml")], stdout=f, stderr=subprocess.STDOUT)
        for which in (lambda e: "switch" not in e, lambda e: e.get("switch") == "sw2"):
            self.wait_event("reconciled", t, which)
        return t

    def kill_node(self) -> None:
        if self.node is not None and self.node.poll() is None:
            self.node.kill()
            self.node.wait(15)

    def close(self) -> None:
        if self.node is not None and self.node.poll() is None:
            self.node.terminate()
            try:
                self.node.wait(15)
            except subprocess.TimeoutExpired:
                self.kill_node()
        for sw in self.switches.values():
            sw.stop()
        self.ns.close()
        subprocess.run(["ip", "netns", "del", self.ns.name], capture_output=True)
        subprocess.run(["ip", "link", "del", self.link[0]], capture_output=True)

    def wait_event(self, name: str, since: float, where=lambda e: True, timeout: float = 180.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in read_events(str(self.out / "lma.log")):
                if e.get("event") == name and e.get("ts", 0) >= since and where(e):
                    return e
            if self.node is not None and self.node.poll() is not None:
                raise AssertionError(f"the LMA node exited: {(self.out / 'lma.log').read_text()[-2000:]}")
            assert time.monotonic() < deadline, f"no {name} event within {timeout} s"
            time.sleep(0.05)

    def control(self, obj: dict) -> dict:
        return request(str(self.out / "lma.sock"), obj)

    def tables(self, name: str) -> list[dict]:
        res = subprocess.run([sys.executable, "-m", "p4mobility.lab.inspect", self.switches[name].grpc_addr,
                              "bindings", "uplink_sources", "binding_profile", "tunnel_peers",
                              "tunnel_terminations", "pool_steering"],
                             capture_output=True, text=True, timeout=120, env={**os.environ})
        assert res.returncode == 0, res.stderr[-2000:]
        return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]

    def register(self, mn: str, seq: int, via: str, mag: IPv6Address) -> IPv6Network:
        """A PBU from ``mag`` that the MAG-side network hands to switch ``via``; the PBA's prefix."""
        self.ns.drain()
        self.ns.send(MAG_SIDE[via], frame(mh_bytes(pbu(mn, seq), mag), src=mag))
        pba, port = self.wait_mh(mag)
        assert pba.status == 0, pba
        assert port == MAG_SIDE[via]  # the PBA leaves through the switch the PBU came in
        return IPv6Network((pba.option(HomeNetworkPrefix).prefix, 64))

    def wait_mh(self, mag: IPv6Address, timeout: float = 30.0):
        from p4mobility.runtime.frames import FrameError, parse_mh_frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self.ns.recv_any(left)
            if got is None:
                break
            try:
                msg, src, dst = parse_mh_frame(got[1])
            except FrameError:
                continue
            if src == LMA and dst == mag:
                return msg, got[0]
        raise AssertionError(f"no PBA to {mag}")

    def expect(self, port: int, match, timeout: float = 10.0) -> IPv6:
        """The first IPv6 packet on namespace ``port`` that ``match`` accepts."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            data = self.ns.recv(port, left)
            if data is None:
                break
            pkt = Ether(data)
            if IPv6 in pkt and match(pkt[IPv6]):
                return pkt[IPv6]
        raise AssertionError(f"no matching packet on port {port}")


@pytest.fixture(params=["embedded", "bmv2"])
def rig(request, tmp_path):
    from p4mobility.lab.lab import lab_unavailable
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    binary, reason = find_binary(request.param)
    if binary is None:
        pytest.skip(reason)
    r = TwoSwitches(request.param, binary, tmp_path)
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
