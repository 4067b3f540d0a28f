"""A real etcd for the tests: one member in a temp dir on free loopback ports, or a small
cluster of them (EtcdCluster, three members by default).

Rule: found with tests/tooling (skip with the reason when Debian's etcd-server is
absent); ``stop()`` kills it (-9 by default: etcd unreachable), ``start()`` brings it
back on the same ports and data dir, so what was committed is there again.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import grpc
from aetcd import rpc

from p4mobility.lab.etcd_cluster import ELECTION_TIMEOUT_MS, HEARTBEAT_MS, MAX_TXN_OPS
from tests.dataplane.targets import free_tcp_port
from tests.tooling import require_tool


class EtcdServer:
    def __init__(self, workdir: Path, name: str = "t") -> None:
        self.binary = require_tool("etcd")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.initial_cluster: str | None = None  # name=peer-url,... of a cluster (EtcdCluster); None: alone
        self.proc: subprocess.Popen | None = None
        self._new_ports()
        self.started_once = False

    def _new_ports(self) -> None:
        self.client_port = free_tcp_port()
        self.peer_port = free_tcp_port()
        while self.peer_port == self.client_port:
            self.peer_port = free_tcp_port()
        self.endpoint = f"127.0.0.1:{self.client_port}"

    def start(self) -> "EtcdServer":
        """Start (again: on the same ports and data dir). A first start whose port was taken
        meanwhile by another process is tried again on other ports."""
        for attempt in range(3):
            try:
                self._start()
                self.started_once = True
                return self
            except RuntimeError:
                if self.started_once or attempt == 2 or "address already in use" not in self._log_tail():
                    raise
                shutil.rmtree(self.dir / "data", ignore_errors=True)  # (it names the old peer URL)
                self._new_ports()
        return self

    def _log_tail(self) -> str:
        return (self.dir / "etcd.log").read_text(errors="replace")[-3000:]

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    def _start(self) -> None:
        self._spawn()
        self._wait_ready()

    def _spawn(self) -> None:
        client, peer = f"http://{self.endpoint}", self.peer_url
        log = open(self.dir / "etcd.log", "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--name", self.name, "--data-dir", str(self.dir / "data"),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", self.initial_cluster or f"{self.name}={peer}", "--max-txn-ops", str(MAX_TXN_OPS),
             # raft timing as in the cluster lab: a new leader well within a lease TTL
             "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_TIMEOUT_MS)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.endpoint) as channel:
            kv = rpc.KVStub(channel)
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    self.proc = None
                    raise RuntimeError(f"etcd exited: {self._log_tail()[-2000:]}")
                try:
                    kv.Range(rpc.RangeRequest(key=b"/"), timeout=1.0)
                    return
                except grpc.RpcError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"etcd not ready in {timeout} s") from None
                    time.sleep(0.05)

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        self.proc = None


class EtcdCluster:
    """``size`` members m0.. on loopback, one cluster (Raft quorum: size // 2 + 1)."""

    def __init__(self, workdir: Path, size: int = 3) -> None:
        self.members = [EtcdServer(workdir / f"m{i}", f"m{i}") for i in range(size)]
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for m in self.members:
            m.initial_cluster = initial

    @property
    def endpoints(self) -> list[str]:
        return [m.endpoint for m in self.members]

    def start(self) -> "EtcdCluster":
        """Every member started, then each one serving (a new cluster answers once it has a quorum)."""
        for m in self.members:
            m._spawn()
        for m in self.members:
            m._wait_ready()
            m.started_once = True
        return self

    def leader(self) -> int:
        """Index of the member that leads now (Status of a member that answers)."""
        for m in self.members:
            if m.proc is None:
                continue
            with grpc.insecure_channel(m.endpoint) as channel:
                try:
                    st = rpc.MaintenanceStub(channel).Status(rpc.StatusRequest(), timeout=2.0)
                    listed = rpc.ClusterStub(channel).MemberList(rpc.MemberListRequest(), timeout=2.0)
                except grpc.RpcError:
                    continue
            names = {x.ID: x.name for x in listed.members}
            if st.leader in names:
                return [x.name for x in self.members].index(names[st.leader])
        raise RuntimeError("no etcd member answers")

    def stop(self) -> None:
        for m in self.members:
            m.stop()


__all__ = ["EtcdCluster", "EtcdServer", "MAX_TXN_OPS"]
