"""The pmip-handover topology with the LMA as a cluster (issue 16, docs/cluster.md).

Rule: orchestration only. Three etcd members, each in its own namespace (lab/etcd_cluster.py,
reached over a bridge in the LMA's namespace), and two LMA controller instances, `lma-a`
and `lma-b`, in the LMA's namespace next to its switch: both `p4mob lma run` with
`[store] kind = "etcd"`, the three endpoints and one `election` for the switch, so one
owns the switch and the other waits (runtime/election.py). They share the node name
(the store prefix /p4mob/lma), the crypto path and the switch; each has its own
control socket, metrics port and log. MAGs, MN and CN are those of the default lab.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from p4mobility.lab import topology as T
from p4mobility.lab.etcd_cluster import EtcdCluster
from p4mobility.lab.lab import Lab, LabError
from p4mobility.lab.launch import METRICS_PORT
from p4mobility.lab.supervisor import sh
from p4mobility.lab.tools import find_tool

INSTANCES = ("lma-a", "lma-b")
ELECTION = "lma-switch"
STORE_PREFIX = "/p4mob/lma"
LEASE_TTL = 3  # s: the owner's lease outlives its last keepalive by at most this; more than raft
# needs to choose a new leader (1-2 s with etcd's default election timeout), or the owner would
# give up the switch when the leader dies
STORE_TIMEOUT = 1.0  # s per etcd call, so a call held by a member without a leader moves on soon


class ClusterLab(Lab):
    def __init__(self, out: str | Path, target: str = "embedded", options: T.LabOptions | None = None,
                 lease_ttl: int = LEASE_TTL, tag: str | None = None) -> None:
        super().__init__(out, target, options, tag, pcap=find_tool("tcpdump") is not None)
        self.lease_ttl = lease_ttl
        self.etcd: EtcdCluster | None = None

    def start_controllers(self) -> None:
        self.etcd = EtcdCluster(self.sup, self.out, self.ns("lma"))
        self.etcd.start()
        self.mark("etcd cluster up")
        for name in INSTANCES:
            self.write_instance_config(name)
        for mag in ("mag1", "mag2"):
            self.start_controller(mag)
        self.start_instance("lma-a")  # first: it owns the switch
        self.wait_event("lma-a", "election_won", timeout=60)
        self.start_instance("lma-b")
        self.wait_event("lma-b", "election_waiting", timeout=60)
        for node in ("mag1", "mag2", "lma-a"):
            self.wait_event(node, "reconciled", timeout=120)

    def write_instance_config(self, name: str) -> None:
        """`lma-a.toml` / `lma-b.toml`: lma.toml's node with its state in the etcd cluster."""
        import tomllib

        cfg: dict[str, Any] = tomllib.loads((self.out / "lma.toml").read_text())
        node = cfg["node"]
        node.pop("state_db", None)
        node.update(control_socket=str(self.sock(name)), metrics_port=METRICS_PORT + 1 + INSTANCES.index(name))
        assert self.etcd is not None
        cfg["store"] = {"kind": "etcd", "endpoints": self.etcd.endpoints, "prefix": STORE_PREFIX, "timeout": STORE_TIMEOUT,
                        "election": ELECTION, "lease_ttl": self.lease_ttl}
        (self.out / f"{name}.toml").write_text(T.to_toml(cfg))

    def start_instance(self, name: str) -> None:
        argv = [sys.executable, "-m", "p4mobility.cli", "lma", "run", "-c", str(self.out / f"{name}.toml")]
        self.sup.spawn(f"ctl-{name}", argv, self.log_path(name), ns=self.ns("lma"))

    def owner(self) -> str | None:
        """The instance that won the election last and is still running."""
        best: tuple[float, str] | None = None
        for name in INSTANCES:
            proc = self.sup.procs.get(f"ctl-{name}")
            if proc is None or not proc.alive():
                continue
            for e in self.events(name, "election_won"):
                if best is None or e["ts"] > best[0]:
                    best = (e["ts"], name)
        return best[1] if best else None

    def etcd_docs(self, kind: str, prefix: str = STORE_PREFIX) -> dict[str, dict]:
        """The documents of one store kind as etcd holds them (read from the LMA's namespace)."""
        assert self.etcd is not None
        alive = [ep for n, ep in zip(self.etcd.names, self.etcd.endpoints) if n in self.etcd.alive()]
        res = sh(sys.executable, "-m", "p4mobility.lab.etcd_cluster", "dump", ",".join(alive), prefix, kind,
                 ns=self.ns("lma"), check=False, timeout=60)
        if res.returncode != 0:
            raise LabError(f"reading {kind} from etcd: {res.stderr.strip()[-500:]}")
        return json.loads(res.stdout)


__all__ = ["ClusterLab", "INSTANCES", "ELECTION", "STORE_PREFIX", "LEASE_TTL"]
