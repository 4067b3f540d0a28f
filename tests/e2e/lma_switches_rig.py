"""Two LMA switches behind one LMA address and one `p4mob lma run` (docs/cluster.md): the rig.

Rule: two switch processes (tests/dataplane/targets.py) linked by a veth pair on
their port 3; a namespace holds the test's ends of their other ports (1/2: sw1's
MAG and CN sides, 3/4: sw2's). The node's file lists both switches, pool a on
sw1 and pool b on sw2, each steering the other's pool over the link.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

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
from tests.dataplane.targets import SwitchProcess, lab_binary_or_skip
from tests.e2e.lma_alone import GEN_MAC, LMA, MAG1, MAG2, SW_MAC, frame, mh_bytes, pbu

POOL_A, POOL_B = IPv6Network("2001:db8:100::/48"), IPv6Network("2001:db8:200::/48")
CN = IPv6Address("2001:db8:c::10")
LINK_MACS = ("02:00:00:00:5e:01", "02:00:00:00:5e:02")  # sw1's and sw2's end of their link
MAG_SIDE, CN_SIDE = {"sw1": 1, "sw2": 3}, {"sw1": 2, "sw2": 4}  # namespace ports
BODY = UDP(sport=4000, dport=5000) / Raw(b"multiswitch" * 4)


def route(prefix: str, port: int, dst: str = GEN_MAC, src: str = SW_MAC) -> dict:
    return {"prefix": prefix, "port": port, "src_mac": src, "dst_mac": dst}


class TwoSwitches:
    def __init__(self, target: str, binary: str, out: Path, mags: tuple = (MAG1, MAG2)) -> None:
        self.out, self.node, self.mags = out, None, mags
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
            "policy": {"trusted_mags": [str(m) for m in self.mags],
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


def start_or_skip(target: str, out: Path, **kw) -> "TwoSwitches":
    """TwoSwitches on ``target``; pytest.skip with the reason when it cannot run here."""
    return TwoSwitches(target, lab_binary_or_skip(target), out, **kw)


__all__ = ["TwoSwitches", "start_or_skip", "POOL_A", "POOL_B", "CN", "MAG_SIDE", "CN_SIDE", "BODY", "LMA", "MAG1",
           "MAG2", "GEN_MAC", "SW_MAC", "frame", "mh_bytes", "pbu"]
