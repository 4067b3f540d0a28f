"""Tunnel peers: the outer header of a bidirectional tunnel, shared and refcounted.

Rule: a tunnel peer is (local, remote, transport, UDP ports): IPv6 (RFC 2473),
IPv4 (RFC 4213 / RFC 2003) or UDP 4191 over IPv4 (RFC 5555 §4.1, NAT
traversal). Every binding path with the same endpoints uses the same peer
(RFC 5213 §5.6.1: one tunnel per MAG, shared by its MNs); the peer exists
while at least one path uses it. Its id is the smallest free integer in
1..limit-1 (a P4 table index). ``acquire``/``release`` say when a peer
appears or disappears so the caller can emit TunnelPeerAdded/Removed.
A ``Path`` is one care-of address of a binding: the BID (RFC 5648; 0 when
the BU carries no Binding Identifier), the endpoints and the peer id.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import Iterable, Iterator

from .ids import IdAllocator

IPAddress = IPv4Address | IPv6Address


class Transport(Enum):
    """How the tunnel's outer header is built (p4src TunnelType)."""

    IPV6 = "ipv6"  # RFC 2473: IPv6 or IPv4 packets in IPv6
    IPV4 = "ipv4"  # RFC 4213 §3.5 / RFC 2003: IPv6 or IPv4 packets in IPv4
    UDP_IPV4 = "udp_ipv4"  # RFC 5555 §4.1: in UDP (port 4191) in IPv4


@dataclass(frozen=True, slots=True)
class TunnelEndpoints:
    """Outer addresses (and UDP ports for UDP_IPV4) of one tunnel, from our side."""

    local: IPAddress
    remote: IPAddress
    transport: Transport = Transport.IPV6
    local_port: int = 0
    remote_port: int = 0

    def __post_init__(self) -> None:
        want = 6 if self.transport is Transport.IPV6 else 4
        if self.local.version != want or self.remote.version != want:
            raise ValueError(f"{self.transport.value} tunnel needs IPv{want} endpoints, got "
                             f"{self.local} -> {self.remote}")
        udp = self.transport is Transport.UDP_IPV4
        for port in (self.local_port, self.remote_port):
            if not (0 < port <= 0xFFFF if udp else port == 0):
                raise ValueError(f"{self.transport.value} tunnel: bad UDP port {port}")


@dataclass(frozen=True, slots=True)
class Path:
    """One care-of address of a binding and the tunnel peer that reaches it."""

    bid: int  # RFC 5648 §6.1 Binding ID; 0 = no BID option
    endpoints: TunnelEndpoints
    tunnel_peer_id: int

    @property
    def coa(self) -> IPAddress:
        return self.endpoints.remote

    @property
    def local(self) -> IPAddress:
        return self.endpoints.local


@dataclass(slots=True)
class TunnelPeer:
    tunnel_peer_id: int
    endpoints: TunnelEndpoints
    refcount: int = 0


class TunnelPeerTable:
    """Endpoints -> refcounted peer with a small id."""

    __slots__ = ("_peers", "_ids")

    def __init__(self, limit: int) -> None:
        self._peers: dict[TunnelEndpoints, TunnelPeer] = {}
        self._ids = IdAllocator(limit)

    def __len__(self) -> int:
        return len(self._peers)

    def __iter__(self) -> Iterator[TunnelPeer]:
        return iter(self._peers.values())

    def get(self, endpoints: TunnelEndpoints) -> TunnelPeer | None:
        return self._peers.get(endpoints)

    def can_acquire(self, endpoints: TunnelEndpoints) -> bool:
        return endpoints in self._peers or self._ids.available()

    def can_acquire_all(self, endpoints: Iterable[TunnelEndpoints]) -> bool:
        """True when every one of ``endpoints`` can be acquired together (the new
        distinct ones fit the free ids): check a whole request before changing anything."""
        new = {e for e in endpoints if e not in self._peers}
        return len(new) <= self._ids.free_count()

    def acquire(self, endpoints: TunnelEndpoints) -> tuple[TunnelPeer, bool] | None:
        """Take a reference: (peer, created), or None when no id is left."""
        peer = self._peers.get(endpoints)
        created = peer is None
        if peer is None:
            ident = self._ids.allocate()
            if ident is None:
                return None
            peer = self._peers[endpoints] = TunnelPeer(ident, endpoints)
        peer.refcount += 1
        return peer, created

    def release(self, endpoints: TunnelEndpoints) -> TunnelPeer | None:
        """Drop a reference; returns the peer when that was the last one (it is gone)."""
        peer = self._peers[endpoints]
        peer.refcount -= 1
        if peer.refcount > 0:
            return None
        del self._peers[endpoints]
        self._ids.release(peer.tunnel_peer_id)
        return peer

    def restore(self, endpoints: TunnelEndpoints, tunnel_peer_id: int) -> TunnelPeer:
        """Take a reference on a peer with a known id (state restore); ValueError on a conflict."""
        peer = self._peers.get(endpoints)
        if peer is None:
            self._ids.reserve(tunnel_peer_id)
            peer = self._peers[endpoints] = TunnelPeer(tunnel_peer_id, endpoints)
        elif peer.tunnel_peer_id != tunnel_peer_id:
            raise ValueError(f"tunnel to {endpoints.remote} has ids {peer.tunnel_peer_id} and {tunnel_peer_id}")
        peer.refcount += 1
        return peer


__all__ = ["IPAddress", "Transport", "TunnelEndpoints", "Path", "TunnelPeer", "TunnelPeerTable"]
