"""Mininet node classes for the PMIPv6 lab: P4 nodes and the AIR (radio) switch.

Rule: orchestration only. A P4 node is a Mininet host whose namespace runs a
P4 switch (P4EmbeddedNode: p4mob-switch, P4Bmv2Node: simple_switch_grpc,
with `p4mob lab`'s command line), with IPsec its crypto path (`p4mob ipsec
run` on a crypto veth), and its controller (`p4mob lma|mag run`), each in its
own process group, stopped when the node is. The AIR is a switch
in the root namespace (Mininet's LinuxBridge, or OVS with the userspace
datapath); attaching the MN to a MAG is adding that MAG's AIR port to it,
detaching is taking the port down and out (carrier loss at the access port).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mininet.node import Host, OVSSwitch
from mininet.nodelib import LinuxBridge

from p4mobility.lab import topology as T
from p4mobility.lab.launch import GRPC_PORT, controller_argv, crypto_argv, find_switch, switch_argv
from p4mobility.lab.netlab import tail
from p4mobility.lab.supervisor import LabError
from p4mobility.lab.tools import tool_missing

STOP_TIMEOUT = 5.0


class P4Node(Host):
    """A Mininet host holding a P4 switch and its controller in one namespace."""

    target = ""

    def __init__(self, name: str, **params: object) -> None:
        super().__init__(name, **params)
        self.procs: dict[str, subprocess.Popen] = {}

    def spawn(self, what: str, argv: list[str], log: Path) -> subprocess.Popen:
        # mnexec -da: own session (so own process group), in this node's namespaces
        with open(log, "ab") as f:
            proc = self.popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs[what] = proc
        return proc

    def start_switch(self, out: Path, ipsec: bool) -> subprocess.Popen:
        if ipsec:  # the switch's crypto port and the crypto path's end, inside this node
            a, b = T.CRYPTO_IFACES
            self.cmd(f"ip link add {a} type veth peer name {b}")
        for intf in self.cmd("ls /sys/class/net").split():
            if intf != "lo":  # the switch owns its ports: no kernel IPv6 chatter on them
                self.cmd(f"sysctl -qw net.ipv6.conf.{intf}.disable_ipv6=1; ip link set {intf} up")
        binary = find_switch(self.target)
        log = out / f"{self.name}-switch.log"
        proc = self.spawn("switch", switch_argv(binary, self.target, self.name, ipsec=ipsec), log)
        self._wait_port(GRPC_PORT, log, timeout=90)
        return proc

    def _wait_port(self, port: int, log: Path, timeout: float) -> None:
        probe = ("import socket,sys; s=socket.socket(); s.settimeout(0.5);"
                 f"sys.exit(s.connect_ex(('127.0.0.1',{port})))")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs["switch"].poll() is not None:
                raise LabError(f"{self.name} switch exited: {tail(log)}")
            if self.popen([sys.executable, "-c", probe]).wait(timeout=10) == 0:
                return
            time.sleep(0.2)
        raise LabError(f"{self.name} switch did not open gRPC port {port}")

    def start_crypto(self, out: Path) -> subprocess.Popen:
        return self.spawn("crypto", crypto_argv(out, self.name), out / f"{self.name}-crypto.out")

    def start_controller(self, out: Path) -> subprocess.Popen:
        return self.spawn("controller", controller_argv(out, self.name), out / f"{self.name}.log")

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values() if p.poll() is None]

    def stop_p4(self) -> None:
        """Controller first, then crypto path and switch: SIGTERM to each process group, then SIGKILL."""
        for what in ("controller", "crypto", "switch"):
            proc = self.procs.pop(what, None)
            if proc is not None:
                stop_group(proc)

    def terminate(self) -> None:
        self.stop_p4()
        super().terminate()


class P4EmbeddedNode(P4Node):
    target = "embedded"


class P4Bmv2Node(P4Node):
    target = "bmv2"


def stop_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue


# --- the AIR ------------------------------------------------------------------------------
class AirBridge(LinuxBridge):
    """Mininet's LinuxBridge (`--switch lxbr`), with no MAC learning: every MAG answers from
    the same link-layer address (RFC 5213 §6.8), so the radio must not remember ports."""

    def start(self, controllers: list) -> None:
        super().start(controllers)
        ip(f"link set {self.name} type bridge ageing_time 0 stp_state 0 forward_delay 0")

    def attach(self, port: str) -> str:
        return f"link set {port} master {self.name} up\n"

    def detach(self, port: str) -> str:
        return f"link set {port} down\nlink set {port} nomaster\n"

    def apply(self, script: str) -> None:
        ip_batch(script)


class AirOvs(OVSSwitch):
    """OVS with the userspace datapath (datapath=user: no kernel module needed), standalone
    (L2 learning, no controller); moving the MN is del-port / add-port."""

    def __init__(self, name: str, **params: object) -> None:
        params.update(datapath="user", failMode="standalone")
        super().__init__(name, **params)

    def attach(self, port: str) -> str:
        return f"ovs-vsctl --may-exist add-port {self.name} {port} && ip link set {port} up\n"

    def detach(self, port: str) -> str:
        return f"ip link set {port} down && ovs-vsctl --if-exists del-port {self.name} {port}\n"

    def apply(self, script: str) -> None:
        res = subprocess.run(["sh", "-ec", script], capture_output=True, text=True, timeout=30)
        if res.returncode != 0:
            raise LabError(f"AIR: {res.stderr.strip()}")


AIR_KINDS = {"lxbr": AirBridge, "ovs": AirOvs}


def ovs_unavailable() -> str | None:
    missing = tool_missing("ovs-vsctl")
    if missing:
        return missing
    res = subprocess.run(["ovs-vsctl", "-t", "2", "show"], capture_output=True, text=True)
    if res.returncode != 0:
        return ("Open vSwitch is not running (start it: /usr/share/openvswitch/scripts/ovs-ctl start); "
                + res.stderr.strip())
    return None


def ip(args: str) -> None:
    ip_batch(args + "\n")


def ip_batch(script: str) -> None:
    """Root-namespace link changes in one `ip -batch` (one radio re-association)."""
    res = subprocess.run(["ip", "-batch", "-"], input=script, capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise LabError(f"ip: {res.stderr.strip()}")
