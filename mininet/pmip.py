#!/usr/bin/env python3
"""PMIPv6 lab in Mininet: `sudo python3 mininet/pmip.py [--target embedded|bmv2]`.

Rule: same topology, addresses and node configs as `p4mob lab`
(p4mobility.lab.topology); each of LMA, MAG1, MAG2 is a Mininet node whose
namespace runs its P4 switch (P4EmbeddedNode: p4mob-switch, P4Bmv2Node:
simple_switch_grpc, same command line) and its controller (`p4mob lma|mag
run`). The AIR node is a Linux bridge: `py net.move('mag2')` moves the MN's
link. You get the Mininet CLI with everything running; try
`mn ping -6 2001:db8:c::2`, `py net.move('mag2')`, `lma p4mob show bindings
--socket /tmp/p4mob-mn/lma.sock`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from mininet.cli import CLI
from mininet.link import Link
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import Host

sys.path.insert(0, str(Path(__file__).resolve().parent))
from topo import LINKS, MACS, NODES, PORTS  # noqa: E402

from p4mobility.lab import topology as T  # noqa: E402

OUT = Path("/tmp/p4mob-mn")
GRPC = "127.0.0.1:9559"


class P4Node(Host):
    """A Mininet node holding a P4 switch and its controller in one namespace."""

    binary = ""

    def start_p4(self, role: str, config: Path) -> None:
        ports = " ".join(f"-i {num}@{ifname}" for ifname, num in PORTS[self.name].items())
        for ifname in PORTS[self.name]:
            self.cmd(f"sysctl -qw net.ipv6.conf.{ifname}.disable_ipv6=1")
        self.cmd(f"{self.binary} {ports} --device-id 1 --no-p4 -- --grpc-server-addr {GRPC} "
                 f"--cpu-port {T.CPU_PORT} > {OUT}/{self.name}-switch.log 2>&1 &")
        time.sleep(2)
        self.cmd(f"{sys.executable} -m p4mobility.cli {role} run -c {config} > {OUT}/{self.name}.log 2>&1 &")

    def terminate(self) -> None:
        self.cmd("kill %1 %2 2>/dev/null")
        super().terminate()


class P4EmbeddedNode(P4Node):
    binary = str(Path(sys.executable).with_name("p4mob-switch"))


class P4Bmv2Node(P4Node):
    binary = shutil.which("simple_switch_grpc") or "/opt/p4/bin/simple_switch_grpc"


def build(target: str) -> Mininet:
    node_cls = P4Bmv2Node if target == "bmv2" else P4EmbeddedNode
    net = Mininet(topo=None, controller=None, build=False, autoSetMacs=False)
    for name, kind in NODES.items():
        net.addHost(name, cls=node_cls if kind == "p4" else Host)
    for a, ai, b, bi in LINKS:
        net.addLink(a, b, intfName1=ai, intfName2=bi, cls=Link,
                    addr1=MACS.get((a, ai)), addr2=MACS.get((b, bi)))
    net.build()
    return net


def configure(net: Mininet) -> None:
    OUT.mkdir(exist_ok=True)
    air, mn, cn = net["air"], net["mn"], net["cn"]
    air.cmd("ip link add br0 type bridge stp_state 0 forward_delay 0 && ip link set br0 type bridge ageing_time 0")
    air.cmd("ip link set mnair master br0 up && ip link set br0 up && ip link set air1 down && ip link set air2 down")
    for k, v in (("accept_dad", 0), ("router_solicitation_delay", 0), ("router_solicitations", -1),
                 ("router_solicitation_interval", 1)):
        mn.cmd(f"sysctl -qw net.ipv6.conf.mn0.{k}={v}")
    cn.cmd(f"ip -6 addr add {T.CN_ADDRESS}/64 dev eth0 nodad")
    cn.cmd(f"ip -6 neigh replace {T.CN_GATEWAY} lladdr {MACS[('lma', 'cn')]} dev eth0 nud permanent")
    cn.cmd(f"ip -6 route add default via {T.CN_GATEWAY} dev eth0")
    opts = T.LabOptions()
    for name in ("lma", "mag1", "mag2"):
        node = {"name": name, "switch_address": GRPC, "control_socket": str(OUT / f"{name}.sock"),
                "state_db": str(OUT / f"{name}.db")}
        cfg = T.lma_config(node, opts) if name == "lma" else T.mag_config(name, node, opts)
        path = OUT / f"{name}.toml"
        path.write_text(T.to_toml(cfg))
        net[name].start_p4("lma" if name == "lma" else "mag", path)

    def move(mag: str) -> None:
        other = "air2" if mag == "mag1" else "air1"
        air.cmd(f"ip link set {other} down; ip link set {other} nomaster")
        air.cmd(f"ip link set {'air1' if mag == 'mag1' else 'air2'} master br0 up")

    net.move = move  # type: ignore[attr-defined]
    move("mag1")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", choices=("embedded", "bmv2"), default=os.environ.get("TARGET", "embedded"))
    args = ap.parse_args()
    setLogLevel("info")
    net = build(args.target)
    try:
        net.start()
        configure(net)
        CLI(net)
    finally:
        net.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
