"""An LMA node alone on a real switch, the test playing the MAGs (and a rogue) on a veth.

Rule: the switch process (embedded target or bmv2, tests/dataplane/targets.py)
runs with port 1 on a veth whose other end is in a namespace the test owns
(tests/dataplane/netns.py); `p4mob lma run` is a real process that pushes the
pipeline, reconciles and answers. Frames are built with our MH codec (and
mutated byte by byte for the malformed cases), sent on the wire, and the
answers read back there. `snapshot()` is what must not change: every table and
action profile as an independent P4Runtime client reads it (lab/inspect.py,
its own gRPC connection) and the node's `show bindings`.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import urllib.request
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from p4mobility.lab.topology import to_toml
from p4mobility.mh import (AccessTechnologyTypeOption, BindingUpdate, HandoffIndicatorOption, HomeNetworkPrefix,
                           MnIdentifier, Timestamp, checksum, encode_mh)
from p4mobility.p4rt.names import PROFILES, TABLES
from p4mobility.runtime.control import request
from p4mobility.runtime.frames import FrameError, parse_mh_frame
from p4mobility.runtime.logs import read_events
from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO
from tests.dataplane.netns import Namespace
from tests.dataplane.targets import CPU_PORT, SwitchProcess, free_tcp_port

LMA = IPv6Address("2001:db8:ffff::1")
MAG1, MAG2 = IPv6Address("2001:db8:a::1"), IPv6Address("2001:db8:a::2")
ROGUE = IPv6Address("2001:db8:a::66")  # on the MAGs' link, not a trusted MAG
GEN_MAC, SW_MAC = "02:00:00:00:0c:01", "02:00:00:00:0c:02"
PORT = 1
PUNT_MTU = 9000  # a full-size frame plus the controller header (runtime/punt_port.py)
MNS = [f"mn{i}" for i in range(7)]  # mn0..mn2 registered by the fixture, the others free
ONLY_MAG1 = "only-mag1"
FLOOD_LIMIT = 40  # PBUs per second per source (max_pbus_per_second_per_mag)


def mac(m: str) -> bytes:
    return bytes.fromhex(m.replace(":", ""))


def pbu(mn: str | None, seq: int, *, lifetime: int = 400, hnps=(("::", 0),), hi: int | None = 1,
        att: int | None = 4, ts: float | None = None, proxy: bool = True, extra=()) -> BindingUpdate:
    opts: list[Any] = [] if mn is None else [MnIdentifier(mn.encode())]
    opts += [HomeNetworkPrefix(plen, IPv6Address(p)) for p, plen in hnps]
    opts += [] if hi is None else [HandoffIndicatorOption(hi)]
    opts += [] if att is None else [AccessTechnologyTypeOption(att)]
    opts += [Timestamp.from_seconds(time.time() if ts is None else ts)]
    return BindingUpdate(seq, lifetime, ack=True, proxy=proxy, options=tuple(opts + list(extra)))


def frame(mh: bytes, src: IPv6Address = MAG1, dst: IPv6Address = LMA, *, fix_checksum: bool = False) -> bytes:
    """Ethernet + IPv6 (Next Header 135, Payload Length = the bytes given) around ``mh``."""
    mh = bytearray(mh)
    if fix_checksum:
        mh[4:6] = b"\0\0"
        mh[4:6] = struct.pack("!H", checksum(src, dst, bytes(mh)))
    ip = struct.pack("!IHBB", 0x60000000, len(mh), 135, 64) + src.packed + dst.packed
    return mac(SW_MAC) + mac(GEN_MAC) + b"\x86\xdd" + ip + bytes(mh)


def mh_bytes(msg: Any, src: IPv6Address = MAG1, dst: IPv6Address = LMA) -> bytearray:
    return bytearray(encode_mh(msg, src, dst))


class LmaAlone:
    @classmethod
    def start_or_skip(cls, target: str, out: Path, **kw: Any) -> LmaAlone:
        """An LmaAlone on ``target``; pytest.skip with the reason when the lab cannot run
        here (not root, no tools) or the target's switch binary is missing."""
        from tests.dataplane.targets import lab_binary_or_skip

        return cls(target, lab_binary_or_skip(target), out, **kw)

    def __init__(self, target: str, binary: str, out: Path, store: dict | None = None,
                 punt_port: bool = False) -> None:
        """``store``: a [store] table (etcd; None: SQLite at out/lma.db); ``punt_port``: punts
        and packet-outs on a veth pair (the switch's CPU_PORT end, the node's), not the
        P4Runtime stream (runtime/punt_port.py)."""
        self.target, self.out = target, out
        self.store = store  # a [store] table (etcd); None: SQLite at out/lma.db
        self.ns = Namespace.create([PORT])
        self.switch: SwitchProcess | None = None
        self.node: subprocess.Popen | None = None
        self.metrics_port = free_tcp_port()
        self.log = out / "lma.log"
        self.punt_ifnames: tuple[str, str] | None = None
        try:
            ports = {PORT: self.ns.ports[PORT].switch_ifname}
            if punt_port:
                tag = self.ns.name.rsplit("-", 1)[1]
                self.punt_ifnames = (f"n{tag}"[:15], f"c{tag}"[:15])  # the node's end, the switch's
                subprocess.run(["ip", "link", "add", self.punt_ifnames[0], "type", "veth", "peer", "name",
                                self.punt_ifnames[1]], check=True)
                for ifname in self.punt_ifnames:  # no kernel frames into the pipeline
                    subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1"], check=True)
                    subprocess.run(["ip", "link", "set", ifname, "mtu", str(PUNT_MTU), "up"], check=True)
                ports[CPU_PORT] = self.punt_ifnames[1]
            self.switch = SwitchProcess.start(target, binary, ports, cpu_port=not punt_port)
            self.start_node()
        except BaseException:
            self.close()
            raise

    # --- the node ---------------------------------------------------------------------
    def config(self, **lma: Any) -> dict:
        assert self.switch is not None
        doc = {
            "node": {"name": "lma", "switch_address": self.switch.grpc_addr, "p4info": str(DEFAULT_P4INFO),
                     "p4blob": str(DEFAULT_P4BLOB), "control_socket": str(self.out / "lma.sock"),
                     "state_db": str(self.out / "lma.db"), "metrics_port": self.metrics_port,
                     "counters_interval": 1.0, "log_level": "debug",
                     **({"punt_interface": self.punt_ifnames[0]} if self.punt_ifnames else {})},
            "lma": {"lma_address": str(LMA), "max_pbus_per_second_per_mag": FLOOD_LIMIT,
                    "timestamp_validity_window": 30.0, **lma},  # a replay within it: 157 (RFC 5213 §5.5)
            "policy": {"trusted_mags": [str(MAG1), str(MAG2)],
                       "pools": {"home": {"network": "2001:db8:100::/40", "prefix_length": 64}},
                       "profiles": {**{m: {"pool": "home"} for m in MNS},
                                    ONLY_MAG1: {"pool": "home", "allowed_mags": [str(MAG1)]}}},
            "routes": [{"prefix": "2001:db8:a::/64", "port": PORT, "src_mac": SW_MAC, "dst_mac": GEN_MAC}],
        }
        if self.store is not None:
            del doc["node"]["state_db"]
            doc["store"] = self.store
        return doc

    def start_node(self, **lma: Any) -> None:
        (self.out / "lma.toml").write_text(to_toml(self.config(**lma)))
        t = time.time()
        with open(self.log, "ab") as f:
            self.node = subprocess.Popen([sys.executable, "-m", "p4mobility.cli", "lma", "run", "-c",
                                          str(self.out / "lma.toml")], stdout=f, stderr=subprocess.STDOUT)
        self.wait_event("reconciled", since=t, timeout=180)

    def restart_node(self, **lma: Any) -> None:
        self.stop_node()
        self.start_node(**lma)

    def kill_node(self) -> None:
        """kill -9: nothing of the node's own shutdown runs."""
        if self.node is not None and self.node.poll() is None:
            self.node.kill()
            self.node.wait(15)

    def stop_node(self) -> None:
        if self.node is not None and self.node.poll() is None:
            self.node.terminate()
            try:
                self.node.wait(15)
            except subprocess.TimeoutExpired:
                self.node.kill()
                self.node.wait(5)

    def close(self) -> None:
        self.stop_node()
        if self.switch is not None:
            self.switch.stop()
        self.ns.close()
        subprocess.run(["ip", "netns", "del", self.ns.name], capture_output=True)
        if self.punt_ifnames:
            subprocess.run(["ip", "link", "del", self.punt_ifnames[0]], capture_output=True)

    # --- what the node says -----------------------------------------------------------
    def events(self, name: str | None = None, since: float = 0.0) -> list[dict]:
        return [e for e in read_events(str(self.log))
                if e.get("ts", 0) >= since and (name is None or e.get("event") == name)]

    def wait_event(self, name: str, since: float = 0.0, timeout: float = 30.0, where=lambda e: True) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events(name, since):
                if where(e):
                    return e
            if self.node is not None and self.node.poll() is not None:
                raise AssertionError(f"the LMA node exited: {self.log.read_text()[-2000:]}")
            assert time.monotonic() < deadline, f"no {name} event within {timeout} s"
            time.sleep(0.05)

    def control(self, obj: dict) -> dict:
        return request(str(self.out / "lma.sock"), obj)

    def metrics(self) -> dict[str, float]:
        """Every sample of the node's Prometheus exposition, by name{labels}."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line and not line.startswith("#")}

    def snapshot(self) -> tuple[list[dict], list]:
        """(every table entry and profile member/group of the switch, the node's `show bindings` rows)."""
        assert self.switch is not None
        names = list(TABLES) + list(PROFILES)
        res = subprocess.run([sys.executable, "-m", "p4mobility.lab.inspect", self.switch.grpc_addr, *names],
                             capture_output=True, text=True, timeout=120, env={**os.environ})
        assert res.returncode == 0, res.stderr[-2000:]
        entries = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
        shown = self.control({"cmd": "show", "what": "bindings"})
        assert shown["ok"], shown
        return entries, shown["rows"]

    # --- the wire ---------------------------------------------------------------------
    def send(self, f: bytes) -> None:
        self.ns.send(PORT, f)

    def answers(self, timeout: float, count: int = 1) -> list[tuple[bytes, Any]]:
        """Up to ``count`` MH frames from the LMA within ``timeout`` s: (frame, decoded message)."""
        got: list[tuple[bytes, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            data = self.ns.recv(PORT, left)
            if data is None:
                break
            try:
                msg, src, _ = parse_mh_frame(data)
            except FrameError:
                continue
            if src == LMA:
                got.append((data, msg))
        return got

    def icmp_answers(self, timeout: float) -> list[bytes]:
        """ICMPv6 frames from the LMA within ``timeout`` s (raw Ethernet frames)."""
        got: list[bytes] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            data = self.ns.recv(PORT, left) if left > 0 else None
            if data is None:
                return got
            if len(data) >= 62 and data[12:14] == b"\x86\xdd" and data[20] == 58 and data[22:38] == LMA.packed:
                got.append(data)

    def drain(self) -> None:
        self.ns.drain()

    def register(self, mn: str, seq: int, src: IPv6Address = MAG1) -> Any:
        self.drain()
        self.send(frame(mh_bytes(pbu(mn, seq), src)))
        got = self.answers(30)
        assert got, f"no PBA for {mn}"
        return got[0][1]


__all__ = ["LmaAlone", "LMA", "MAG1", "MAG2", "ROGUE", "MNS", "ONLY_MAG1", "FLOOD_LIMIT", "frame", "mh_bytes",
           "pbu"]
