"""The soak's network: the pmip-handover lab plus the generator's link and a small state disk.

Rule: orchestration only (lab.Lab's namespaces, processes and configs, extended).
Beside MN, AIR, MAG1, MAG2, LMA and CN of the lab: namespace GEN holds the load
generator's interface (it plays two MAGs, GEN_MAGS); namespace WIRE holds
`lossy_link` forwarding between GEN and the LMA switch's port 4 (the loss
knob: its rate file); the LMA's state file lives on a tmpfs of ``state_mb``
MiB (the disk-full fault fills it). The LMA config trusts the generator's
MAGs and has a profile for each of its MNs. With ``punt_port`` the LMA's punts and
packet-outs use the veth pair PUNT_IFACES (its switch's CPU port; runtime/punt_port.py).
"""
from __future__ import annotations

import ctypes
import os
import sys
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from p4mobility.lab import statedisk, topology as T
from p4mobility.lab.lab import Lab
from p4mobility.lab.launch import switch_argv
from p4mobility.lab.supervisor import LabError, sh
from p4mobility.soak import esp
from p4mobility.soak.plan import GEN_MAC, GEN_MAGS, GEN_NETS, GEN_PORT, LMA_GEN_MAC, mn_id

CLONE_NEWNET = 0x40000000
PUNT_IFACES = ("punt0", "punt1")  # the LMA node's end, its switch's CPU port


class SoakLab(Lab):
    def __init__(self, out: str | Path, mns: int, target: str = "embedded", state_mb: int = 64,
                 options: T.LabOptions | None = None, punt_port: bool = True) -> None:
        super().__init__(out, target, options, tag="soak", pcap=False)
        self.punt_port = punt_port
        self.mns = mns
        self.state_mb = state_mb
        self.state_dir = self.out / "lma-state"
        self.rate_file = self.out / "link-loss"
        self._mounted = False

    # --- topology -----------------------------------------------------------------
    def _setup_hosts(self) -> None:
        super()._setup_hosts()
        gen, wire, lma = self.sup.add_namespace("gen"), self.sup.add_namespace("wire"), self.ns("lma")
        sh("ip", "link", "add", "gen0", "netns", gen, "type", "veth", "peer", "name", "w0", "netns", wire)
        sh("ip", "link", "add", "w1", "netns", wire, "type", "veth", "peer", "name", "gen", "netns", lma)
        for ns, ifname, mac in ((gen, "gen0", GEN_MAC), (wire, "w0", None), (wire, "w1", None),
                                (lma, "gen", LMA_GEN_MAC)):
            sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", ns=ns)
            if mac:
                sh("ip", "link", "set", ifname, "address", mac, ns=ns)
            sh("ip", "link", "set", ifname, "up", ns=ns)
        self.rate_file.write_text("0\n")
        self.sup.spawn("lossy-link", [sys.executable, "-m", "p4mobility.soak.lossy_link", "w0", "w1",
                                      "--rate-file", str(self.rate_file), "--stats", str(self.out / "link.json")],
                       self.out / "lossy-link.log", ns=wire)
        if self.punt_port:
            sh("ip", "link", "add", PUNT_IFACES[0], "type", "veth", "peer", "name", PUNT_IFACES[1], ns=lma)
            for ifname in PUNT_IFACES:
                sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", ns=lma)
                sh("ip", "link", "set", ifname, "mtu", "9000", "up", ns=lma)  # a full frame + its header
        statedisk.mount(self.state_dir, self.state_mb)
        self._mounted = True

    def start_switch(self, node: str) -> None:
        if node != "lma":
            return super().start_switch(node)
        ports = dict(T.LMA_PORTS, gen=GEN_PORT)
        argv = switch_argv(self.switch_bin, self.target, node, ipsec=self.opts.ipsec, ports=ports,
                           punt_ifname=PUNT_IFACES[1] if self.punt_port else None)
        self.sup.spawn("switch-lma", argv, self.out / "lma-switch.log", ns=self.ns("lma"))
        self._wait_port(node, 9559, timeout=90)

    def write_configs(self, new_keys: bool = True) -> None:
        super().write_configs(new_keys)
        path = self.out / "lma.toml"
        cfg = tomllib.loads(path.read_text())
        cfg["node"]["state_db"] = str(self.state_dir / "lma.db")
        cfg["node"]["counters_interval"] = 30.0
        cfg["node"]["log_level"] = "info"  # as deployed: no line per accepted PBU (the lab's is debug)
        if self.punt_port:
            cfg["node"]["punt_interface"] = PUNT_IFACES[0]
        cfg["lma"]["max_bindings"] = self.mns + 64
        cfg["policy"]["trusted_mags"] += [str(a) for a in GEN_MAGS]
        cfg["policy"]["profiles"].update({mn_id(i).decode(): {"pool": "home"} for i in range(self.mns)})
        cfg["routes"] += [{"prefix": str(n), "port": GEN_PORT, "src_mac": LMA_GEN_MAC, "dst_mac": GEN_MAC}
                          for n in GEN_NETS]
        path.write_text(T.to_toml(cfg))
        if self.opts.ipsec and new_keys:
            esp.add_to_lma(self.out)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._mounted:
                statedisk.unmount(self.state_dir)
                self._mounted = False

    # --- faults' knobs ----------------------------------------------------------------
    def set_loss(self, rate: float) -> None:
        tmp = self.rate_file.with_suffix(".tmp")
        tmp.write_text(f"{rate}\n")
        os.replace(tmp, self.rate_file)

    def fill_state_disk(self) -> Path:
        """Fill the LMA's tmpfs to the last byte (ENOSPC for the next write)."""
        return statedisk.fill(self.state_dir)

    def free_state_disk(self) -> None:
        statedisk.free(self.state_dir)

    @contextmanager
    def in_namespace(self, node: str) -> Iterator[None]:
        """This thread in ``node``'s network namespace (sockets made here stay there)."""
        libc = ctypes.CDLL(None, use_errno=True)
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        there = os.open(f"/run/netns/{self.ns(node)}", os.O_RDONLY)
        try:
            if libc.setns(there, CLONE_NEWNET) != 0:
                raise LabError(f"setns {node}: {os.strerror(ctypes.get_errno())}")
            yield
        finally:
            libc.setns(back, CLONE_NEWNET)
            os.close(back)
            os.close(there)


__all__ = ["SoakLab"]
