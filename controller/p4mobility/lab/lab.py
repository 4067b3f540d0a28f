"""A running pmip-handover topology: build it, drive it, tear it down.

Rule: orchestration only (namespaces, veths, processes, sysctls), no protocol
logic: attach/move/detach are link operations in the AIR namespace, exactly
what a radio does; the MAG controllers see them as RS and carrier changes.
Used by `p4mob lab`, by tests/e2e (one Lab per test module) and the benches.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from p4mobility.lab import topology as T
from p4mobility.lab.launch import (GRPC_PORT, METRICS_PORT, MN_SYSCTLS, controller_argv, crypto_argv, crypto_sock,
                                   find_switch, node_settings, switch_argv, write_configs, write_ipsec)
from p4mobility.lab.netlab import NamespaceLab, lab_unavailable, tail
from p4mobility.lab.supervisor import LabError, sh
from p4mobility.runtime.control import ControlError, request
from p4mobility.runtime.logs import read_events


class Lab(NamespaceLab):
    def __init__(self, out: str | Path, target: str = "embedded", options: T.LabOptions | None = None,
                 tag: str | None = None, pcap: bool = True) -> None:
        super().__init__(out, target, tag, pcap)
        self.opts = options or T.LabOptions()
        self.attached: str | None = None

    def start(self) -> None:
        self._build(T)
        self._setup_hosts()
        for node, ports in T.SWITCHES.items():
            for ifname in ports:
                self._quiet(node, ifname)
                sh("ip", "link", "set", ifname, "up", ns=self.ns(node))
            if self.opts.ipsec:  # the switch's crypto port and the crypto path's end
                a, b = T.CRYPTO_IFACES
                sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, ns=self.ns(node))
                for ifname in (a, b):
                    self._quiet(node, ifname)
                    sh("ip", "link", "set", ifname, "up", ns=self.ns(node))
        # the access ports have no carrier (no radio) until attach
        self.mark("topology")
        for node in T.SWITCHES:
            self.start_switch(node)
        if self.pcap:
            for link in ("mag1", "mag2"):
                self.sup.spawn(f"pcap-{link}", ["tcpdump", "-i", link, "-U", "--immediate-mode", "-n", "-w",
                                                str(self.out / f"lma-{link}.pcap")],
                               self.out / f"tcpdump-{link}.log", ns=self.ns("lma"))
        self.write_configs()
        if self.opts.ipsec:
            for node in T.SWITCHES:
                self.start_crypto(node)
        self.start_controllers()
        self.mark("ready")

    def start_controllers(self) -> None:
        """One controller per switch, each reconciled (lab/cluster_lab.py: two for the LMA)."""
        for node in T.SWITCHES:
            self.start_controller(node)
        for node in T.SWITCHES:
            self.wait_event(node, "reconciled", timeout=120)

    def _setup_hosts(self) -> None:
        air = self.ns("air")
        sh("ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0", ns=air)
        sh("sysctl", "-qw", "net.ipv6.conf.br0.disable_ipv6=1", ns=air)
        sh("ip", "link", "set", "br0", "type", "bridge", "ageing_time", "0", ns=air)
        for ifname in ("mnair", "air1", "air2"):
            self._quiet("air", ifname)
        sh("ip", "link", "set", "mnair", "master", "br0", "up", ns=air)
        sh("ip", "link", "set", "br0", "up", ns=air)
        mn = self.ns("mn")
        for key, val in MN_SYSCTLS:
            sh("sysctl", "-qw", f"net.ipv6.conf.mn0.{key}={val}", ns=mn, check=False)
        cn = self.ns("cn")
        sh("sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0", ns=cn)
        sh("ip", "link", "set", "eth0", "up", ns=cn)
        sh("ip", "-6", "addr", "add", f"{T.CN_ADDRESS}/64", "dev", "eth0", "nodad", ns=cn)
        sh("ip", "-6", "neigh", "replace", str(T.CN_GATEWAY), "lladdr", T.MACS[("lma", "cn")], "dev", "eth0",
           "nud", "permanent", ns=cn)
        sh("ip", "-6", "route", "add", "default", "via", str(T.CN_GATEWAY), "dev", "eth0", ns=cn)

    # --- switches and controllers -----------------------------------------------------
    def start_switch(self, node: str) -> None:
        argv = switch_argv(self.switch_bin, self.target, node, ipsec=self.opts.ipsec)
        self.sup.spawn(f"switch-{node}", argv, self.out / f"{node}-switch.log", ns=self.ns(node))
        self._wait_port(node, GRPC_PORT, timeout=90)

    def _wait_port(self, node: str, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = ("import socket,sys; s=socket.socket(); s.settimeout(0.5);"
                 f"sys.exit(s.connect_ex(('127.0.0.1',{port})))")
        while time.monotonic() < deadline:
            proc = self.sup.procs[f"switch-{node}"]
            if not proc.alive():
                raise LabError(f"{node} switch exited: {tail(proc.log)}")
            if sh(sys.executable, "-c", probe, ns=self.ns(node), check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise LabError(f"{node} switch did not open gRPC port {port}")

    def node_settings(self, node: str) -> dict[str, Any]:
        return node_settings(self.out, node)

    def write_configs(self, new_keys: bool = True) -> None:
        write_configs(self.out, self.opts, new_keys)

    def write_ipsec(self) -> None:
        write_ipsec(self.out)

    def crypto_sock(self, node: str) -> Path:
        return crypto_sock(self.out, node)

    def start_crypto(self, node: str) -> None:
        self.sup.spawn(f"crypto-{node}", crypto_argv(self.out, node), self.out / f"{node}-crypto.out",
                       ns=self.ns(node))

    def sock(self, node: str) -> Path:
        return self.out / f"{node}.sock"

    def start_controller(self, node: str) -> None:
        self.sup.spawn(f"ctl-{node}", controller_argv(self.out, node), self.log_path(node), ns=self.ns(node))

    def kill_controller(self, node: str, sig: int = signal.SIGKILL) -> None:
        self.sup.stop(f"ctl-{node}", sig=sig)

    def restart_switch(self, node: str) -> None:
        self.sup.stop(f"switch-{node}", sig=signal.SIGKILL)
        self.start_switch(node)

    def log_path(self, node: str) -> Path:
        return self.out / f"{node}.log"

    def events(self, node: str, name: str | None = None, since: float = 0.0) -> list[dict]:
        return [e for e in read_events(str(self.log_path(node)))
                if (name is None or e.get("event") == name) and e.get("ts", 0) >= since]

    def wait_crypto_event(self, node: str, name: str, since: float = 0.0, timeout: float = 30.0) -> dict:
        """An event of ``node``'s crypto path (its own log)."""
        deadline = time.monotonic() + timeout
        while True:
            for e in read_events(str(self.out / f"{node}-crypto.log")):
                if e.get("event") == name and e.get("ts", 0) >= since:
                    return e
            if time.monotonic() > deadline:
                raise LabError(f"{node} crypto path: no '{name}' event within {timeout} s")
            time.sleep(0.05)

    def wait_event(self, node: str, name: str, since: float = 0.0, timeout: float = 30.0,
                   where: Any = None) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events(node, name, since):
                if where is None or where(e):
                    return e
            proc = self.sup.procs.get(f"ctl-{node}")
            if proc is not None and not proc.alive():
                raise LabError(f"{node} controller exited: {tail(proc.log)}")
            if time.monotonic() > deadline:
                raise LabError(f"{node}: no '{name}' event within {timeout} s")
            time.sleep(0.05)

    def control(self, node: str, obj: dict[str, Any]) -> dict:
        try:
            return request(str(self.sock(node)), obj)
        except ControlError as exc:
            raise LabError(str(exc)) from None

    def metrics(self, node: str) -> str:
        """The node's Prometheus exposition text (fetched inside its namespace)."""
        code = f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{METRICS_PORT}/metrics').read().decode())"
        return sh(sys.executable, "-c", code, ns=self.ns(node), timeout=20).stdout

    def read_switch(self, node: str, *tables: str) -> list[dict]:
        """Entries of ``tables`` as an independent P4Runtime client reads them."""
        res = sh(sys.executable, "-m", "p4mobility.lab.inspect", f"127.0.0.1:{GRPC_PORT}", *tables,
                 ns=self.ns(node), timeout=60)
        return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]

    def inject(self, node: str, ifname: str, frame: bytes) -> None:
        """Send one raw Ethernet frame out of ``ifname`` in ``node``'s namespace
        (tests: a hostile or malformed peer on a real link)."""
        code = ("import socket,sys;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);"
                f"s.bind(({ifname!r},0));s.send(bytes.fromhex(sys.argv[1]))")
        sh(sys.executable, "-c", code, frame.hex(), ns=self.ns(node), timeout=20)

    # --- the radio ---------------------------------------------------------------------
    def attach(self, mag: str) -> float:
        """Connect the MN's interface to ``mag``'s access port (link up on both ends)."""
        air = self.ns("air")
        port = "air1" if mag == "mag1" else "air2"
        t = self.mark(f"attach {mag}")
        sh("ip", "link", "set", port, "master", "br0", "up", ns=air)
        sh("ip", "link", "set", "mn0", "up", ns=self.ns("mn"))  # no-op after the first attach
        self.attached = mag
        return t

    def detach(self) -> float:
        """Take the MN's link away from its MAG (carrier loss at the access port)."""
        air = self.ns("air")
        t = self.mark(f"detach {self.attached}")
        if self.attached is not None:
            port = "air1" if self.attached == "mag1" else "air2"
            sh("ip", "link", "set", port, "down", ns=air)
            sh("ip", "link", "set", port, "nomaster", ns=air)
        self.attached = None
        return t

    def move(self, mag: str) -> float:
        """Handover: the MN's link leaves its MAG and comes up at ``mag`` (a
        link-layer handoff: the MN's interface, MAC and address stay; Linux
        sends no RS, the new MAG sees the MN's next packet). Both link changes
        go in one `ip -batch`, as one radio re-association."""
        old = "air1" if self.attached == "mag1" else "air2"
        new = "air1" if mag == "mag1" else "air2"
        t = self.mark(f"move {self.attached} -> {mag}")
        script = f"link set {old} down\nlink set {old} nomaster\nlink set {new} master br0 up\n"
        res = subprocess.run(["ip", "-n", self.ns("air"), "-batch", "-"], input=script, text=True,
                             capture_output=True, timeout=30)
        if res.returncode != 0:
            raise LabError(f"move to {mag}: {res.stderr.strip()}")
        self.attached = mag
        return t

    def mn_address(self, timeout: float = 20.0) -> str:
        """The MN's global address once SLAAC configured it (and a default route exists)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = sh("ip", "-6", "-j", "addr", "show", "dev", "mn0", "scope", "global", ns=self.ns("mn"),
                     check=False).stdout
            routes = sh("ip", "-6", "route", "show", "default", ns=self.ns("mn"), check=False).stdout
            try:
                infos = json.loads(out or "[]")
            except ValueError:
                infos = []
            for info in infos:
                for a in info.get("addr_info", []):
                    if a.get("family") == "inet6" and "tentative" not in a and routes.strip():
                        return a["local"]
            time.sleep(0.05)
        raise LabError("the MN got no global address (no RA with the home network prefix?)")

    def mn_has_global_address(self) -> bool:
        out = sh("ip", "-6", "addr", "show", "dev", "mn0", "scope", "global", ns=self.ns("mn"), check=False).stdout
        return "inet6" in out

    def ping_once(self, count: int = 3, timeout: float = 5.0) -> bool:
        res = sh("ping", "-6", "-c", str(count), "-i", "0.2", "-W", "1", str(T.CN_ADDRESS), ns=self.ns("mn"),
                 check=False, timeout=timeout + count)
        return res.returncode == 0

    def start_ping(self, name: str = "ping", interval: float = 0.01) -> Path:
        log = self.out / f"{name}.log"
        if log.exists():
            log.unlink()
        self.sup.spawn(name, ["ping", "-6", "-D", "-n", "-i", str(interval), str(T.CN_ADDRESS)], log,
                       ns=self.ns("mn"))
        return log

    def stop_ping(self, name: str = "ping") -> Path:
        self.sup.stop(name, sig=signal.SIGINT)
        return self.out / f"{name}.log"


__all__ = ["Lab", "LabError", "find_switch", "lab_unavailable", "GRPC_PORT"]
