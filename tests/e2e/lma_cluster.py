"""Two LMA instances for one switch on etcd ([store] election, docs/cluster.md) under the soak's load.

Rule: LmaAlone's switch and wire (port 1 a veth into a namespace the test owns); the
first instance is LmaAlone's node, `start_instance` starts more `p4mob lma run` for the
same switch and store (own socket, metrics port, log). `Load` drives the soak's load
model (p4mobility.soak.load: registrations, refreshes, handovers from two MAGs, RFC 5213
§6.9.4 retransmissions) through the soak's PbuSocket, paced in a thread; a few "static"
MNs registered first carry downlink data (`Downlink`) and are left alone by the load.
`switch_state` / `etcd_bindings` read the switch (lab.inspect, its own P4Runtime client)
and etcd (a store of the test's own). Shared by test_lma_failover.py and bench/bench_failover.py.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Iterator

from p4mobility.lab.topology import to_toml
from p4mobility.mh import BindingAck, HomeNetworkPrefix, MnIdentifier
from p4mobility.runtime.logs import read_events
from p4mobility.soak.load import HI, LoadModel, Mix, Op, OpKind
from p4mobility.soak.plan import GEN_MAGS, GEN_NETS, mn_id, mn_index
from p4mobility.soak.wire import PbuSocket, pbu, pbu_frame
from tests.dataplane.netns import _setns
from tests.dataplane.targets import free_tcp_port

from .lma_alone import GEN_MAC, LMA, PORT, SW_MAC, LmaAlone

LIFETIME_UNITS = 900  # 3600 s: nothing expires during a run
CN = IPv6Address("2001:db8:c::1")  # the correspondent node of the downlink data
NO_DEREGISTRATION = Mix(refresh=0.7, handover=0.3, deregister=0.0)


class ClusterLma(LmaAlone):
    """LmaAlone with the soak's MNs and MAGs, no flood limit, [store] etcd with an election."""

    def __init__(self, target: str, binary: str, out: Path, store: dict, mns: int, log_level: str = "info") -> None:
        self.mns, self.log_level = mns, log_level
        self.instances: dict[str, tuple[subprocess.Popen, Path, Path]] = {}  # tag -> (proc, log, socket)
        super().__init__(target, binary, out, store=store)
        self.instances["a"] = (self.node, self.log, self.out / "lma.sock")

    def config(self, **lma) -> dict:
        doc = super().config(**lma)
        doc["node"]["log_level"] = self.log_level
        doc["lma"].update(max_pbus_per_second_per_mag=0, max_bindings=self.mns + 64, max_tunnel_peers=16)
        doc["policy"]["trusted_mags"] += [str(m) for m in GEN_MAGS]
        doc["policy"]["profiles"].update({mn_id(i).decode(): {"pool": "home"} for i in range(self.mns)})
        doc["routes"] += [{"prefix": str(n), "port": PORT, "src_mac": SW_MAC, "dst_mac": GEN_MAC} for n in GEN_NETS]
        return doc

    def start_instance(self, tag: str) -> tuple[subprocess.Popen, Path]:
        """One more instance (or instance ``tag`` again, its log appended to)."""
        cfg = self.config()
        sock = self.out / f"lma-{tag}.sock"
        cfg["node"].update(control_socket=str(sock), metrics_port=free_tcp_port())
        (self.out / f"lma-{tag}.toml").write_text(to_toml(cfg))
        log = self.out / f"lma-{tag}.log"
        with open(log, "ab") as f:
            proc = subprocess.Popen([sys.executable, "-m", "p4mobility.cli", "lma", "run", "-c",
                                     str(self.out / f"lma-{tag}.toml")], stdout=f, stderr=subprocess.STDOUT)
        self.instances[tag] = (proc, log, sock)
        return proc, log

    def kill(self, tag: str) -> float:
        """kill -9 of instance ``tag``; the time of the kill."""
        proc = self.instances[tag][0]
        t = time.time()
        proc.kill()
        proc.wait(15)
        return t

    def close(self) -> None:
        for proc, _, _ in self.instances.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(15)
        super().close()

    def switch_state(self) -> dict[tuple, str]:
        """Every table entry and profile member/group of the switch: identity -> the rest."""
        import json

        from p4mobility.p4rt.names import PROFILES, TABLES

        res = subprocess.run([sys.executable, "-m", "p4mobility.lab.inspect", self.switch.grpc_addr, *TABLES,
                              *PROFILES], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        out = {}
        for row in (json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")):
            if "table" in row:
                key = ("table", row["table"], json.dumps(row["match"], sort_keys=True), row["priority"])
            else:
                key = ("profile", row["profile"], row.get("member_id"), row.get("group_id"))
            out[key] = json.dumps(row, sort_keys=True)
        return out

    def tamper(self, election_id: int, delete: int, modify: int, spare: set[IPv6Network]) -> None:
        """A switch that differs from etcd, as the test's own P4Runtime client makes it while no
        instance owns the switch: ``delete`` `bindings` entries gone and ``modify``
        binding_profile members tunnelling to another address (none of the ``spare`` prefixes')."""
        asyncio.run(self._tamper(election_id, delete, modify, spare))

    async def _tamper(self, election_id: int, delete: int, modify: int, spare: set[IPv6Network]) -> None:
        import finsy
        from finsy import P4ActionProfileMember, P4TableAction, P4TableEntry

        from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO

        opts = finsy.SwitchOptions(p4info=DEFAULT_P4INFO, initial_election_id=election_id, device_id=1)
        async with finsy.Switch("tamper", self.switch.grpc_addr, opts) as sw:
            entries = [e async for e in sw.read(P4TableEntry("bindings"))]
            spared = [IPv6Network(e.match["dst_addr"], strict=False) in spare for e in entries]
            kept = {e.action.member_id for e, s in zip(entries, spared) if s}
            await sw.write([-e for e, s in zip(entries, spared) if not s][:delete])
            members = [m async for m in sw.read(P4ActionProfileMember("binding_profile"))
                       if m.member_id not in kept and "dst_addr" in m.action.args]  # not a free id's placeholder
            changed = []
            for m in members[-modify:] if modify else []:
                args = {**m.action.args, "dst_addr": "2001:db8:ffff::99"}
                changed.append(~P4ActionProfileMember("binding_profile", member_id=m.member_id,
                                                      action=P4TableAction(m.action.name, **args)))
            await sw.write(changed)

    def etcd_bindings(self, endpoints: list[str]) -> list[dict]:
        from p4mobility.runtime.store_etcd import EtcdBindingStore

        store = EtcdBindingStore(endpoints, "/p4mob/lma")
        try:
            return list(store.load("bce").values())
        finally:
            store.close()


def wait_event(log: Path, name: str, since: float = 0.0, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        for e in read_events(str(log)) if log.exists() else []:
            if e.get("event") == name and e.get("ts", 0) >= since:
                return e
        assert time.monotonic() < deadline, f"no {name} in {log.name} within {timeout} s: {log.read_text()[-1500:]}"
        time.sleep(0.05)


@contextlib.contextmanager
def in_namespace(name: str) -> Iterator[None]:
    """This thread in namespace ``name`` (sockets made here stay there)."""
    back, there = os.open("/proc/thread-self/ns/net", os.O_RDONLY), os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(there)
        yield
    finally:
        _setns(back)
        os.close(back)
        os.close(there)


@dataclass
class Answers:
    """What the generator saw: accepted PBAs whose prefix was not the one the MN held (a
    refresh or handover answered with another HNP) are inconsistent; times are wall clock."""

    inconsistent: list = field(default_factory=list)
    times: list = field(default_factory=list)  # time.time() of every PBA received


class Load:
    """The soak's load model on the soak's generator socket, paced at ``rate`` PBUs/s with at
    most ``window`` in flight, in a thread; `pause()` holds every transmission (the MAGs'
    retransmissions included), `resume()` lets them go; `drain()` retransmits until answered."""

    def __init__(self, ns_name: str, ifname: str, mns: int, rate: int, window: int = 0, static: int = 0,
                 seed: int = 1) -> None:
        self.model = LoadModel(mns, NO_DEREGISTRATION, seed)
        self.rate, self.window = rate, window or max(50, rate // 4)
        self.static_count = static
        self.static: dict[int, IPv6Network] = {}  # MN index (>= mns) -> HNP: left alone by the load
        self.answers = Answers()
        self.pbas: queue.SimpleQueue = queue.SimpleQueue()
        with in_namespace(ns_name):
            self.port = PbuSocket(ifname, self._on_pba)
        self._run, self._paused = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self.started = 0.0
        self.lock = threading.Lock()

    def _on_pba(self, msg: BindingAck, t: float) -> None:
        self.pbas.put((msg, time.time()))

    def _send(self, op: Op, now: float) -> None:
        msg = pbu(mn_id(op.mn), op.seq, HI[op.kind], LIFETIME_UNITS, op.hnp, now)
        self.port.send(pbu_frame(msg, GEN_MAGS[op.mag], LMA, SW_MAC, GEN_MAC))

    def _take(self) -> None:
        while True:
            try:
                msg, t = self.pbas.get_nowait()
            except queue.Empty:
                return
            mn, opt = msg.option(MnIdentifier), msg.option(HomeNetworkPrefix)
            i = mn_index(mn.identifier) if mn is not None else -1
            hnp = IPv6Network((opt.prefix, opt.prefix_length)) if opt is not None and opt.prefix_length else None
            self.answers.times.append(t)
            if i >= len(self.model.mns):
                if int(msg.status) == 0 and hnp is not None:
                    self.static[i] = hnp
                continue
            op = self.model.on_pba(i, msg.sequence, int(msg.status), hnp)
            if op is not None and int(msg.status) < 128 and op.kind in (OpKind.REFRESH, OpKind.HANDOVER) \
                    and hnp != op.hnp:
                self.answers.inconsistent.append((i, op.kind.value, str(op.hnp), str(hnp)))

    def register_static(self, timeout: float = 60.0) -> None:
        """The static MNs (indices mns..), each registered from the first MAG, retried every second."""
        first = len(self.model.mns)
        deadline = time.monotonic() + timeout
        while len(self.static) < self.static_count and time.monotonic() < deadline:
            for i in range(first, first + self.static_count):
                if i not in self.static:
                    msg = pbu(mn_id(i), i & 0xFFFF, 1, LIFETIME_UNITS, None, time.time())
                    self.port.send(pbu_frame(msg, GEN_MAGS[0], LMA, SW_MAC, GEN_MAC))
            end = time.monotonic() + 1.0
            while len(self.static) < self.static_count and time.monotonic() < end:
                self._take()
                time.sleep(0.01)
        assert len(self.static) == self.static_count, f"{len(self.static)}/{self.static_count} static MNs registered"

    def start(self) -> None:
        self.started = time.time()
        self._run.set()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="load")
        self._thread.start()

    def _loop(self) -> None:
        t0, sent = time.time(), 0
        while self._run.is_set():
            now = time.time()
            with self.lock:
                self._take()
                if self._paused.is_set():
                    sent = int((now - t0) * self.rate)  # nothing offered while paused
                else:
                    for op in self.model.due(now):
                        self._send(op, now)
                    budget = int((now - t0) * self.rate) - sent
                    while budget > 0 and self.model.in_flight < self.window:
                        op = self.model.next_op(now)
                        if op is None:
                            break
                        self._send(op, now)
                        sent, budget = sent + 1, budget - 1
                    sent += max(0, budget)  # over the window: not offered
            time.sleep(0.002)

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        self._run.clear()
        if self._thread is not None:
            self._thread.join(10)

    def drain(self, timeout: float = 120.0) -> None:
        """Retransmit (RFC 5213 §6.9.4 backoff) until nothing is in flight or ``timeout``."""
        end = time.time() + timeout
        while self.model.in_flight and time.time() < end:
            self._take()
            for op in self.model.due(time.time()):
                self._send(op, time.time())
            time.sleep(0.01)
        time.sleep(0.5)
        self._take()

    def close(self) -> None:
        self.stop()
        self.port.close()


class Downlink:
    """Downlink packets (CN -> HNP::1, UDP) to the static MNs' prefixes into the switch's port 1
    at ``rate`` packets/s; the tunnelled copies (IPv6-in-IPv6 to a MAG, RFC 5213 §6.10.5) counted
    with their receive times."""

    def __init__(self, ns_name: str, ifname: str, hnps: list[IPv6Network], rate: int = 200) -> None:
        with in_namespace(ns_name):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
            self.sock.bind((ifname, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.frames = [self._frame(IPv6Address(int(h.network_address) + 1)) for h in hnps]
        self.dsts = {f[38:54] for f in self.frames}
        self.rate = rate
        self.sent: list[float] = []
        self.received: list[float] = []
        self._run = threading.Event()
        self._threads: list[threading.Thread] = []

    @staticmethod
    def _frame(dst: IPv6Address) -> bytes:
        udp = struct.pack("!HHHH", 5000, 6000, 8 + 32, 0) + b"failover" * 4
        ip = struct.pack("!IHBB", 0x60000000, len(udp), 17, 64) + CN.packed + dst.packed
        return bytes.fromhex(SW_MAC.replace(":", "")) + bytes.fromhex(GEN_MAC.replace(":", "")) + b"\x86\xdd" + ip + udp

    def start(self) -> None:
        self._run.set()
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._send, self._recv)]
        for t in self._threads:
            t.start()

    def _send(self) -> None:
        k, t_next = 0, time.time()
        while self._run.is_set():
            delay = t_next - time.time()
            if delay > 0:
                time.sleep(delay)
            self.sock.send(self.frames[k % len(self.frames)])
            self.sent.append(time.time())
            k, t_next = k + 1, t_next + 1.0 / self.rate

    def _recv(self) -> None:
        while self._run.is_set():
            if not select.select([self.sock], [], [], 0.2)[0]:
                continue
            data, addr = self.sock.recvfrom(65535)
            # outer IPv6 from the LMA, Next Header 41, inner destination one of ours
            if addr[2] != socket.PACKET_OUTGOING and len(data) >= 94 and data[20] == 41 \
                    and data[22:38] == LMA.packed and data[78:94] in self.dsts:
                self.received.append(time.time())

    def between(self, t0: float, t1: float) -> tuple[int, int]:
        """(sent, received) in [t0, t1)."""
        return (sum(1 for t in self.sent if t0 <= t < t1), sum(1 for t in self.received if t0 <= t < t1))

    def stop(self) -> None:
        self._run.clear()
        for t in self._threads:
            t.join(5)
        self.sock.close()


__all__ = ["ClusterLma", "Downlink", "Load", "in_namespace", "wait_event"]
