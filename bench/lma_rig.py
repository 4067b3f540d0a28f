"""The LMA test rig the registration benches share: a namespace with the LMA's switch, a PBU
generator on its port 1, the LMA node process.

Rule: helpers only, no benchmark of its own (the name does not match run_all's
`bench_*.py`). `lma_namespace` builds the namespace and starts the switch (the
`outer` half of a bench, as root); the rest runs inside it: `lma_config` the
node's configuration, `start_node` the `p4mob lma run` process up to its
`reconciled` line, `Generator` sends PBUs (p4mobility.soak.wire) from a trusted
MAG address and matches PBAs by MN-ID.
"""
from __future__ import annotations

import subprocess
import sys
import time
from ipaddress import IPv6Address
from pathlib import Path

LMA = IPv6Address("2001:db8:ffff::1")
MAG = IPv6Address("2001:db8:a::1")
PUNT_IF = "punt0"
GEN_MAC = "02:00:00:00:0b:01"
SW_MAC = "02:00:00:00:0b:02"
LIFETIME_UNITS = 100  # 400 s (RFC 6275 §6.1.7: 4 s units)


def lma_namespace(sup, target: str, out: Path, punt_port: bool = False) -> tuple[str, int]:
    """Namespace "lma" of Supervisor ``sup``: veth gen0 <-> p1 (switch port 1), with
    ``punt_port`` also punt0 <-> sw255 (the switch's port 255, no --cpu-port; MTU 9000: a
    held full-size frame plus the controller header fits); the switch
    (``target``: embedded or bmv2) started on them, its log in ``out``.
    Returns (namespace, switch pid)."""
    from p4mobility.lab.lab import find_switch
    from p4mobility.lab.supervisor import sh

    binary = find_switch(target)
    ns = sup.add_namespace("lma")
    sh("ip", "link", "add", "gen0", "type", "veth", "peer", "name", "p1", ns=ns)
    links = [("gen0", GEN_MAC), ("p1", SW_MAC)]
    if punt_port:  # punts and packet-outs on a veth: the switch's port 255, no --cpu-port
        sh("ip", "link", "add", PUNT_IF, "type", "veth", "peer", "name", "sw255", ns=ns)
        links += [(PUNT_IF, "02:00:00:00:0b:03"), ("sw255", "02:00:00:00:0b:04")]
    for ifname, mac in links:
        sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", ns=ns)
        sh("ip", "link", "set", ifname, "address", mac, "mtu", "9000", "up", ns=ns)
    out.mkdir(parents=True, exist_ok=True)
    argv = [binary, "-i", "1@p1", "--device-id", "1", "--no-p4", "--", "--grpc-server-addr", "127.0.0.1:9559"]
    argv[3:3] = ["-i", "255@sw255"] if punt_port else []
    argv += [] if punt_port else ["--cpu-port", "255"]
    sw = sup.spawn("switch", argv, out / "switch.log", ns=ns)  # `ip netns exec` execs: same pid
    return ns, sw.popen.pid


def lma_config(out: Path, mns: int, log_level: str = "info", punt_port: bool = False,
               state_db: str | None = None) -> dict:
    """The LMA node's configuration: a profile for MNs mn0..mn<mns-1> (pool "home"), no
    flood limit (one generator plays every MAG), the route back to the generator."""
    from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO

    cfg = {
        "node": {"name": "lma", "switch_address": "127.0.0.1:9559", "p4info": str(DEFAULT_P4INFO),
                 "p4blob": str(DEFAULT_P4BLOB), "control_socket": str(out / "lma.sock"), "counters_interval": 60.0,
                 "log_level": log_level},
        "lma": {"lma_address": str(LMA), "max_bindings": mns + 16, "max_tunnel_peers": 16,
                "max_pbus_per_second_per_mag": 0,  # one generator plays every MAG: no flood limit
                "timestamp_validity_window": 5.0},
        "policy": {"trusted_mags": [str(MAG)], "pools": {"home": {"network": "2001:db8:100::/40",
                                                                  "prefix_length": 64}},
                   "profiles": {f"mn{i}": {"pool": "home"} for i in range(mns)}},
        "routes": [{"prefix": "2001:db8:a::/64", "port": 1, "src_mac": SW_MAC, "dst_mac": GEN_MAC}],
    }
    if punt_port:
        cfg["node"]["punt_interface"] = PUNT_IF
    if state_db:
        cfg["node"]["state_db"] = state_db
    return cfg


def start_node(config: Path, log: Path, timeout: float = 120.0) -> subprocess.Popen | None:
    """`p4mob lma run -c config`, output to ``log`` (appended), up to its next `reconciled`
    line; None (the log's tail printed) when it exits or does not get there in time."""
    from p4mobility.runtime.logs import read_events

    before = sum(1 for e in read_events(str(log)) if e["event"] == "reconciled")
    with open(log, "ab") as f:
        node = subprocess.Popen([sys.executable, "-m", "p4mobility.cli", "lma", "run", "-c", str(config)],
                                stdout=f, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while sum(1 for e in read_events(str(log)) if e["event"] == "reconciled") <= before:
        if node.poll() is not None or time.monotonic() > deadline:
            print("LMA node did not come up:", log.read_text()[-2000:])
            if node.poll() is None:
                node.kill()
            return None
        time.sleep(0.1)
    return node


def stop_node(node: subprocess.Popen) -> None:
    node.terminate()
    try:
        node.wait(10)
    except subprocess.TimeoutExpired:
        node.kill()


def rss_bytes(pid: int) -> int:
    """VmRSS of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pbu_frame(i: int, seq: int, lifetime_units: int = LIFETIME_UNITS) -> bytes:
    from p4mobility.soak.wire import pbu, pbu_frame as frame

    return frame(pbu(f"mn{i}".encode(), seq, 1, lifetime_units), MAG, LMA, SW_MAC, GEN_MAC)


class Generator:
    """PBUs out of gen0, PBAs matched by MN-ID (the socket is p4mobility.soak.wire's)."""

    def __init__(self, lifetime_units: int = LIFETIME_UNITS) -> None:
        from p4mobility.soak.wire import PbuSocket

        self.lifetime_units = lifetime_units
        self.sent: dict[int, float] = {}
        self.acked: dict[int, tuple[float, int]] = {}
        self.port = PbuSocket("gen0", self._on_pba)

    def _on_pba(self, msg, t: float) -> None:
        from p4mobility.mh import MnIdentifier

        mn = msg.option(MnIdentifier)
        if mn is not None and mn.identifier.startswith(b"mn"):
            self.acked.setdefault(int(mn.identifier[2:]), (t, int(msg.status)))

    def send(self, i: int, seq: int) -> None:
        frame = pbu_frame(i, seq, self.lifetime_units)
        self.sent[i] = time.perf_counter()
        self.port.send(frame)

    def wait(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self.port.close()


__all__ = ["GEN_MAC", "LMA", "MAG", "PUNT_IF", "SW_MAC", "Generator", "lma_config", "lma_namespace", "pbu_frame",
           "rss_bytes", "start_node", "stop_node"]
