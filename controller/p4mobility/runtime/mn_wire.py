"""The mobile node's sockets on its access interfaces.

Rule and the choice made: the kernel here has no ESP, no ip6tnl/sit and no
Mobile IPv6 (it answers a Type 2 Routing Header with an ICMPv6 Parameter
Problem and drops the packet), so the daemon must see the home agent's
packets before the kernel's IP layer judges them. Receiving is therefore an
AF_PACKET socket (SOCK_DGRAM: the IP packet without the link header) per
access interface, filtered in the kernel to packets for this host from the
home agent's addresses (bpf.py): BA/BRR/BE with their RH2, ESP, IP-in-IP and
UDP 4191 all arrive the same way, whatever the kernel supports. Sending is
a raw IP socket with the header included (IPPROTO_RAW) bound to the
interface (SO_BINDTODEVICE): the kernel picks the next hop and resolves it
(ND/ARP) among that interface's routes only, so a BU or tunnelled packet
leaves by the interface of its care-of address even while the default route
points into the tunnel interface. AF_PACKET sending would need our own
routing and neighbour discovery; raw receiving would lose RH2 packets.
The kernel still receives the same packets: "sinks" (raw sockets for IP
protocols 4, 41, 50 of both families and a UDP socket on our DSMIPv6 port,
each with a drop-all filter) claim them so it does not answer each one with
an ICMP protocol/port unreachable; the RH2 Parameter Problem cannot be
avoided without a Mobile IPv6 kernel.
"""
from __future__ import annotations

import contextlib
import socket
from ipaddress import IPv4Address, IPv6Address

from . import bpf

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
RCVBUF = 1 << 21
RECV_SIZE = 65535
IPPROTO_RAW = 255
SINK_PROTOCOLS = (4, 41, 50)  # IPv4-in, IPv6-in, ESP


class AccessPort:
    """One access interface: receive from the HA, send IP packets out of it."""

    def __init__(self, name: str, index: int, ha6: IPv6Address, ha4: IPv4Address | None) -> None:
        self.name, self.index = name, index
        self._socks: list[socket.socket] = []
        try:
            # protocol 0: nothing is queued until bind(), which comes after the filter
            self.rx = self._open(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
            bpf.attach(self.rx, bpf.from_home_agent(ha6, ha4))
            self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            with contextlib.suppress(OSError):  # before Linux 4.20 the filter drops them anyway
                self.rx.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            self.rx.bind((name, ETH_P_ALL))
            self.tx6 = self._open(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_RAW)
            self.tx4 = self._open(socket.AF_INET, socket.SOCK_RAW, IPPROTO_RAW)
            for tx in (self.tx6, self.tx4):
                tx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, name.encode())
        except OSError:
            self.close()
            raise
        for s in self._socks:
            s.setblocking(False)

    def _open(self, *args: int) -> socket.socket:
        s = socket.socket(*args)
        self._socks.append(s)
        return s

    def receive(self, limit: int) -> list[bytes]:
        """Up to ``limit`` queued packets."""
        out = []
        for _ in range(limit):
            try:
                out.append(self.rx.recv(RECV_SIZE))
            except (BlockingIOError, InterruptedError):
                break
        return out

    def send(self, packet: bytes) -> None:
        """Send one whole IP packet (OSError when the kernel refuses it)."""
        if packet[0] >> 4 == 6:
            self.tx6.sendto(packet, (str(IPv6Address(packet[24:40])), 0))
        else:
            self.tx4.sendto(packet, (str(IPv4Address(packet[16:20])), 0))

    def close(self) -> None:
        for s in self._socks:
            s.close()
        self._socks.clear()


class Sinks:
    """Sockets that keep the kernel quiet about what the access ports handle."""

    def __init__(self, udp_port: int) -> None:
        self.socks: list[socket.socket] = []
        self.problems: list[str] = []
        for family in (socket.AF_INET6, socket.AF_INET):
            for proto in SINK_PROTOCOLS:
                self._add(f"raw {family.name} protocol {proto}", family, socket.SOCK_RAW, proto)
        self._add(f"UDP port {udp_port}", socket.AF_INET, socket.SOCK_DGRAM, 0, ("0.0.0.0", udp_port))

    def _add(self, what: str, family: int, kind: int, proto: int, bind: tuple | None = None) -> None:
        try:
            s = socket.socket(family, kind, proto)
        except OSError as exc:
            self.problems.append(f"{what}: {exc.strerror}")
            return
        try:
            bpf.attach(s, bpf.DROP_ALL)
            if bind is not None:
                s.bind(bind)
        except OSError as exc:
            s.close()
            self.problems.append(f"{what}: {exc.strerror}")
            return
        self.socks.append(s)

    def close(self) -> None:
        for s in self.socks:
            s.close()
        self.socks.clear()


__all__ = ["AccessPort", "Sinks"]
