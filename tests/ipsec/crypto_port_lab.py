"""Helpers for the crypto-port tests and bench: a namespace with a veth pair, the
`p4mob ipsec run` process in it, and a packet socket on the switch side.

Rule: real kernel objects only. The namespace holds `cry0` (the switch side,
CRYPTO_PORT) and `cry1` (the crypto process's side); the test talks on cry0
through an AF_PACKET socket opened inside the namespace. The process is the
real CLI, started with `ip netns exec`; everything is removed by close().
"""
from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from p4mobility.runtime.crypto_port import PACKET_IGNORE_OUTGOING, SOL_PACKET
from tests.dataplane.netns import ETH_P_ALL, PACKET_OUTGOING, _setns

P4MOB = str(Path(sys.executable).with_name("p4mob"))
START_TIMEOUT = 20.0


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def socket_in_netns(netns: str, ifname: str, ignore_outgoing: bool = True) -> socket.socket:
    """A non-blocking ETH_P_ALL socket on ``ifname`` inside ``netns``."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind((ifname, 0))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            with contextlib.suppress(OSError):  # Linux >= 4.20; recv_frame filters anyway
                if ignore_outgoing:
                    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)  # no copies of our own frames
            sock.setblocking(False)
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(target)
    return sock


def recv_frame(sock: socket.socket, timeout: float, ethertype: bytes | None = b"\x88\xb5") -> bytes | None:
    """Next received frame (not our own, of ``ethertype``) within ``timeout``."""
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
        if addr[2] == PACKET_OUTGOING or (ethertype and data[12:14] != ethertype):
            continue
        return data


class CryptoLab:
    """netns + cry0/cry1 + `p4mob ipsec run -c CONFIG -i cry1` inside it.

    With ``netns`` given, only the process is managed: it runs in that
    existing namespace (made by someone else) and no veth is created."""

    def __init__(self, tmp: Path, netns: str | None = None) -> None:
        tag = f"{os.getpid() % 100000}{int(time.monotonic() * 1000) % 1000:03d}"
        self.own_netns = netns is None
        self.netns = netns or f"p4mobc-{tag}"
        self.tmp = tmp
        self.control = str(tmp / "crypto.sock")
        self.log = str(tmp / "crypto.log")
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        if not self.own_netns:
            return
        _run("ip", "netns", "add", self.netns)
        try:
            self.ns("ip", "link", "add", "cry0", "type", "veth", "peer", "name", "cry1")
            for ifname in ("cry0", "cry1"):
                self.ns("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1")
                self.ns("ip", "link", "set", ifname, "mtu", "9000", "up")
            self.sock = socket_in_netns(self.netns, "cry0")
        except BaseException:
            self.close()
            raise

    def ns(self, *args: str) -> None:
        _run("ip", "netns", "exec", self.netns, *args)

    def start(self, config: Path, ifname: str = "cry1", extra: tuple[str, ...] = ()) -> None:
        argv = ["ip", "netns", "exec", self.netns, P4MOB, "ipsec", "run", "-c", str(config),
                "-i", ifname, "--control-socket", self.control, "--log", self.log, *extra]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._listening():  # the socket is served once the port is open
            if self.proc.poll() is not None:
                raise RuntimeError(f"p4mob ipsec run exited: {self.proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError("p4mob ipsec run did not open its control socket")
            time.sleep(0.05)

    def _listening(self) -> bool:
        """The control socket accepts connections (its file appears at bind(), before listen())."""
        if not os.path.exists(self.control):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.control)
            except OSError:
                return False
        return True

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        rc = self.proc.returncode
        self.proc.stderr.close()
        self.proc = None
        return rc

    def close(self) -> None:
        self.stop()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.own_netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
