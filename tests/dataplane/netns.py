"""Network namespace and veth plumbing for data-plane tests.

Rule: every test module gets a fresh namespace; the test-side end of each veth
pair lives in it, the switch-side end stays in the root namespace (where the
switch process runs). IPv6 is disabled on both ends so the kernel sends no
noise. AF_PACKET sockets are opened inside the namespace by a temporary
setns() of the calling thread. Everything is torn down by close().
"""

from __future__ import annotations

import ctypes
import os
import select
import socket
import subprocess
import time
from dataclasses import dataclass, field

from p4mobility.lab.tools import tool_missing

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def netns_available() -> str | None:
    """None when namespaces can be used here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veths)"
    return tool_missing("ip")


@dataclass
class Port:
    """One switch port: a veth pair, the test side in the namespace."""

    number: int
    switch_ifname: str
    test_ifname: str
    sock: socket.socket | None = None


@dataclass
class Namespace:
    name: str
    ports: dict[int, Port] = field(default_factory=dict)

    @classmethod
    def create(cls, port_numbers: list[int]) -> "Namespace":
        tag = f"{os.getpid() % 100000}{int(time.monotonic() * 1000) % 1000:03d}"
        ns = cls(name=f"p4mob-{tag}")
        _run("ip", "netns", "add", ns.name)
        try:
            for number in port_numbers:
                ns._add_port(number, tag)
        except BaseException:
            ns.close()
            raise
        return ns

    def _add_port(self, number: int, tag: str) -> None:
        sw = f"s{tag}-{number}"[:15]
        te = f"t{tag}-{number}"[:15]
        _run("ip", "link", "add", sw, "type", "veth", "peer", "name", te)
        port = Port(number, sw, te)
        self.ports[number] = port
        _run("ip", "link", "set", te, "netns", self.name)
        for args in (
            ("sysctl", "-qw", f"net.ipv6.conf.{sw}.disable_ipv6=1"),
            ("ip", "link", "set", sw, "mtu", "9000", "up"),
        ):
            _run(*args)
        for args in (
            ("sysctl", "-qw", f"net.ipv6.conf.{te}.disable_ipv6=1"),
            ("ip", "link", "set", te, "mtu", "9000", "up"),
        ):
            _run("ip", "netns", "exec", self.name, *args)
        port.sock = self._open_socket(te)

    def _open_socket(self, ifname: str) -> socket.socket:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                sock.bind((ifname, 0))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                sock.setblocking(False)
            finally:
                _setns(own)
        finally:
            os.close(own)
            os.close(target)
        return sock

    def send(self, port: int, frame: bytes) -> None:
        sock = self.ports[port].sock
        assert sock is not None
        sock.send(frame)

    def drain(self) -> None:
        """Discard whatever is queued on every port."""
        for port in self.ports.values():
            while self._recv_one(port, 0.0) is not None:
                pass

    def _recv_one(self, port: Port, timeout: float) -> bytes | None:
        sock = port.sock
        assert sock is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                data, addr = sock.recvfrom(65535)
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                select.select([sock], [], [], remaining)
                continue
            if addr[2] == PACKET_OUTGOING:
                continue  # our own transmission
            return data

    def recv(self, port: int, timeout: float) -> bytes | None:
        return self._recv_one(self.ports[port], timeout)

    def recv_any(self, timeout: float) -> tuple[int, bytes] | None:
        """First frame on any port within timeout, as (port, bytes)."""
        socks = {p.sock: p for p in self.ports.values()}
        deadline = time.monotonic() + timeout
        while True:
            for port in self.ports.values():
                data = self._recv_one(port, 0.0)
                if data is not None:
                    return port.number, data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            select.select(list(socks), [], [], remaining)

    def close(self) -> None:
        for port in self.ports.values():
            if port.sock is not None:
                port.sock.close()
                port.sock = None
            subprocess.run(["ip", "link", "del", port.switch_ifname], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
