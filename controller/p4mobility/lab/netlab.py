"""What every lab topology shares: its namespaces and veths, its output folder, marks.

Orchestration only, no protocol logic. `Lab` (PMIPv6) and `MipLab` (host
mobility) subclass it with their own topology module (NODES, LINKS, MACS).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import ModuleType

from p4mobility.lab.launch import find_switch
from p4mobility.lab.supervisor import LabError, Supervisor, clean_leftovers, sh
from p4mobility.lab.tools import tool_missing
from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO

# what a previous run left in the output folder and a new run replaces
RUN_SUFFIXES = (".log", ".db", ".sock", ".pcap", ".toml", ".out", ".state", ".esp")


def lab_unavailable() -> str | None:
    """None when a lab can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, veths)"
    missing = tool_missing("ip")
    if missing:
        return missing
    if not (DEFAULT_P4INFO.exists() and DEFAULT_P4BLOB.exists()):
        return "p4src/build outputs missing (run `make p4`)"
    return None


def tail(path: Path, n: int = 1500) -> str:
    """The last n characters of a process's log, for an error message."""
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


class NamespaceLab:
    """Namespaces, veths and processes of one topology, all owned by a Supervisor."""

    def __init__(self, out: str | Path, target: str, tag: str | None, pcap: bool) -> None:
        self.out = Path(out).resolve()
        self.target = target
        self.pcap = pcap
        self.sup = Supervisor(tag)
        self.switch_bin = find_switch(target)
        self.marks: list[tuple[float, str]] = []

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sup.close()

    def mark(self, what: str) -> float:
        t = time.time()
        self.marks.append((t, what))
        return t

    def ns(self, node: str) -> str:
        return self.sup.ns(node)

    def _quiet(self, node: str, ifname: str) -> None:
        sh("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", ns=self.ns(node))

    def _build(self, topology: ModuleType) -> None:
        """A clean output folder, then the topology's namespaces, veths and MACs."""
        reason = lab_unavailable()
        if reason:
            raise LabError(reason)
        self.out.mkdir(parents=True, exist_ok=True)
        for f in self.out.glob("*"):
            if f.is_file() and (f.suffix in RUN_SUFFIXES or f.name.endswith(("-wal", "-shm"))
                                or f.name == "esp_sa"):
                f.unlink()
        clean_leftovers()
        self.sup.__enter__()
        for node in topology.NODES:
            self.sup.add_namespace(node)
        for link in topology.LINKS:
            (na, ia), (nb, ib) = link.a, link.b
            sh("ip", "link", "add", ia, "netns", self.ns(na), "type", "veth", "peer", "name", ib,
               "netns", self.ns(nb))
        for (node, ifname), mac in topology.MACS.items():
            sh("ip", "link", "set", ifname, "address", mac, ns=self.ns(node))
