"""veth pairs in the root namespace for AF_PACKET tests and the benchmark.

Rule: the switch owns the `s` end of each pair, the test the `t` end; IPv6 is
disabled on both so the kernel sends nothing of its own; close() deletes all.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
import uuid

from p4mob_switch.ports import enable_auxdata, recv_frame
from p4mobility.lab.tools import tool_missing

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def veth_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create veth pairs"
    return tool_missing("ip")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _sysctl(ifname: str) -> None:
    path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    if os.path.exists(path):
        with open(path, "w") as f:
            f.write("1")


class VethSet:
    def __init__(self, n: int) -> None:
        tag = uuid.uuid4().hex[:5]
        self.pairs: dict[int, tuple[str, str]] = {}
        self.socks: dict[int, socket.socket] = {}
        try:
            for i in range(1, n + 1):
                s, t = f"p4s{tag}{i}", f"p4t{tag}{i}"
                _ip("link", "add", s, "type", "veth", "peer", "name", t)
                self.pairs[i] = (s, t)
                for name in (s, t):
                    _sysctl(name)
                    _ip("link", "set", name, "up")
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                sock.bind((t, ETH_P_ALL))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
                enable_auxdata(sock)
                self.socks[i] = sock
        except Exception:
            self.close()
            raise

    def switch_ifs(self) -> dict[int, str]:
        return {i: p[0] for i, p in self.pairs.items()}

    def send(self, port: int, frame: bytes) -> None:
        self.socks[port].send(frame)

    def drain(self, port: int) -> None:
        sock = self.socks[port]
        while select.select([sock], [], [], 0)[0]:
            sock.recv(65535)

    def recv(self, port: int, timeout: float, want=None) -> bytes | None:
        """Next incoming frame on port (optionally satisfying want)."""
        sock = self.socks[port]
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                return None
            frame, pkttype = recv_frame(sock, 65535)
            if pkttype == PACKET_OUTGOING:
                continue
            if want is None or want(frame):
                return frame

    def recv_any(self, timeout: float) -> tuple[int, bytes] | None:
        """Next incoming frame on any port, as (port, frame)."""
        by_fd = {s.fileno(): (n, s) for n, s in self.socks.items()}
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready = select.select(list(by_fd), [], [], left)[0]
            if not ready:
                return None
            n, sock = by_fd[ready[0]]
            frame, pkttype = recv_frame(sock, 65535)
            if pkttype != PACKET_OUTGOING:
                return n, frame

    def close(self) -> None:
        for s in self.socks.values():
            s.close()
        for s, _t in self.pairs.values():
            subprocess.run(["ip", "link", "del", s], capture_output=True)
        self.pairs.clear()
        self.socks.clear()
