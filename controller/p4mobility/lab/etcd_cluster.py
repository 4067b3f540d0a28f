"""A real etcd cluster for the lab (issue 16): N members, each in its own namespace.

Rule: orchestration only. Each member runs Debian's `etcd` in namespace `etcd<i>`
with its own data dir (out/etcd/etcd<i>), on 10.77.0.1<i> (client :2379, peer :2380),
raft's election timeout 500 ms (HEARTBEAT_MS, ELECTION_TIMEOUT_MS).
Every member's veth peer is a port of the bridge `etcdbr` in the hub namespace (the
LMA's), which holds 10.77.0.1/24: the LMA instances reach each member there, and the
members reach each other (raft) through it. `--max-txn-ops 4096`: the node writes a
batch of up to 1,024 inputs as one Txn (docs/cluster.md).

`python -m p4mobility.lab.etcd_cluster dump ENDPOINTS PREFIX KIND` prints one
store kind as JSON ({key: document}); the lab runs it inside the hub namespace.
"""
from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from pathlib import Path

from p4mobility.lab.supervisor import LabError, Supervisor, sh
from p4mobility.lab.tools import find_tool, tool_missing

SUBNET = "10.77.0"
CLIENT_PORT, PEER_PORT = 2379, 2380
MAX_TXN_OPS = 4096  # the node writes a batch of up to runtime.node.MAX_BATCH bindings as one Txn
# raft's timers (ms): a new leader within about a second of the old one's death, well inside the
# lab's lease TTL (3 s); with etcd's defaults (100/1000) it took up to 2.5 s here and the owner,
# whose keepalives went unanswered for a TTL meanwhile, gave up the switch
HEARTBEAT_MS, ELECTION_TIMEOUT_MS = 50, 500
BRIDGE = "etcdbr"


def etcd_unavailable() -> str | None:
    """None when `etcd` can be started here, else why not."""
    return tool_missing("etcd")


class EtcdCluster:
    def __init__(self, sup: Supervisor, out: Path, hub_ns: str, members: int = 3) -> None:
        self.sup, self.hub = sup, hub_ns
        self.dir = out / "etcd"
        self.names = [f"etcd{i}" for i in range(1, members + 1)]
        self.binary = find_tool("etcd") or ""

    def ip(self, name: str) -> str:
        return f"{SUBNET}.1{self.names.index(name) + 1}"

    @property
    def endpoints(self) -> list[str]:
        """host:port of every member, in order (the [store] endpoints)."""
        return [f"{self.ip(n)}:{CLIENT_PORT}" for n in self.names]

    def start(self, timeout: float = 90.0) -> None:
        if not self.binary:
            raise LabError(etcd_unavailable() or "etcd not found")
        shutil.rmtree(self.dir, ignore_errors=True)  # a new cluster: no earlier member ids
        self.dir.mkdir(parents=True)
        sh("ip", "link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0", ns=self.hub)
        sh("sysctl", "-qw", f"net.ipv6.conf.{BRIDGE}.disable_ipv6=1", ns=self.hub)
        sh("ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE, ns=self.hub)
        sh("ip", "link", "set", BRIDGE, "up", ns=self.hub)
        for name in self.names:
            ns = self.sup.add_namespace(name)
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", name, "netns", self.hub)
            sh("sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1", ns=ns)
            sh("ip", "addr", "add", f"{self.ip(name)}/24", "dev", "eth0", ns=ns)
            sh("ip", "link", "set", "eth0", "up", ns=ns)
            sh("ip", "link", "set", name, "master", BRIDGE, "up", ns=self.hub)
        for name in self.names:
            self.start_member(name)
        self.wait_healthy(timeout)

    def _argv(self, name: str) -> list[str]:
        client, peer = f"http://{self.ip(name)}:{CLIENT_PORT}", f"http://{self.ip(name)}:{PEER_PORT}"
        cluster = ",".join(f"{n}=http://{self.ip(n)}:{PEER_PORT}" for n in self.names)
        return [self.binary, "--name", name, "--data-dir", str(self.dir / name),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "p4mob-lab", "--max-txn-ops", str(MAX_TXN_OPS),
                "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_TIMEOUT_MS)]

    def start_member(self, name: str) -> None:
        """Start (or restart, on its data dir) one member."""
        self.sup.spawn(name, self._argv(name), self.dir / f"{name}.log", ns=self.sup.ns(name))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.sup.stop(name, sig=sig)

    def _get(self, name: str, path: str, body: bytes | None = None) -> dict | None:
        """One HTTP call to a member's client URL (from the hub namespace); None when it fails."""
        url = f"http://{self.ip(name)}:{CLIENT_PORT}{path}"
        code = ("import sys,urllib.request as u;d=sys.argv[2].encode() or None;"
                "print(u.urlopen(u.Request(sys.argv[1],data=d),timeout=2).read().decode())")
        res = sh(sys.executable, "-c", code, url, (body or b"").decode(), ns=self.hub, check=False, timeout=20)
        try:
            return json.loads(res.stdout) if res.returncode == 0 else None
        except ValueError:
            return None

    def status(self, name: str) -> dict | None:
        """The member's maintenance status: its member id, the leader's, raft term and index."""
        doc = self._get(name, "/v3/maintenance/status", b"{}")
        if doc is None:
            return None
        return {"member_id": doc.get("header", {}).get("member_id"), "leader": doc.get("leader"),
                "raft_term": int(doc.get("raftTerm", 0)), "raft_index": int(doc.get("raftIndex", 0))}

    def leader(self) -> str | None:
        """The name of the member that leads raft now (None: no answer)."""
        found = {n: self.status(n) for n in self.alive()}
        ids = {s["member_id"]: n for n, s in found.items() if s}
        for s in found.values():
            if s and s["leader"] in ids:
                return ids[s["leader"]]
        return None

    def make_leader(self, name: str, timeout: float = 30.0) -> None:
        """Move raft's leadership to ``name`` (etcd's MoveLeader, asked of the leader)."""
        deadline = time.monotonic() + timeout
        while (leader := self.leader()) != name:
            target = self.status(name)
            if leader is not None and target is not None:
                body = json.dumps({"targetID": target["member_id"]}).encode()
                self._get(leader, "/v3/maintenance/transfer-leadership", body)
            if time.monotonic() > deadline:
                raise LabError(f"etcd: leadership not moved to {name} within {timeout} s (leader {leader})")
            time.sleep(0.3)

    def alive(self) -> list[str]:
        return [n for n in self.names if n in self.sup.procs and self.sup.procs[n].alive()]

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            dead = [n for n in self.names if n in self.sup.procs and not self.sup.procs[n].alive()]
            if dead:
                log = self.dir / f"{dead[0]}.log"
                raise LabError(f"{dead[0]} exited: {log.read_text(errors='replace')[-800:]}")
            health = [self._get(n, "/health") for n in self.names]
            if all(h and h.get("health") == "true" for h in health) and self.leader():
                return
            if time.monotonic() > deadline:
                raise LabError(f"etcd cluster not healthy within {timeout} s: {health}")
            time.sleep(0.3)


def dump(endpoints: list[str], prefix: str, kind: str) -> dict[str, dict]:
    from p4mobility.runtime.store_etcd import EtcdBindingStore

    store = EtcdBindingStore(endpoints, prefix)
    try:
        return store.load(kind)
    finally:
        store.close()


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "dump":
        print("usage: python -m p4mobility.lab.etcd_cluster dump HOST:PORT[,...] PREFIX KIND", file=sys.stderr)
        return 2
    print(json.dumps(dump(argv[1].split(","), argv[2], argv[3]), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

__all__ = ["EtcdCluster", "etcd_unavailable", "dump", "MAX_TXN_OPS"]
