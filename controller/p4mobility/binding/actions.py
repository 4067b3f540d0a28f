"""Outputs every mobility core shares, as frozen dataclasses.

Rule: an action is complete and self-describing; the adapter that turns it
into table entries or packets needs no other state and applies no protocol
rule. Order matters and is the order of the returned list: tunnel peers
appear before the bindings that use them and disappear after; data-plane
changes come before the acknowledgement that announces them (style guide,
"One PBU"). Binding ids and tunnel peer ids are small ints in 1..max-1 (P4
indices), stable for the life of the entry and reused after deletion. A
binding's ``paths`` are its care-of addresses ordered by BID (RFC 5648);
PMIPv6 bindings have one path, BID 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from .tunnels import IPAddress, Path, Transport, TunnelEndpoints

IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class SendMh:
    """Send ``message`` (a decoded Mobility Header message) from ``src`` to
    ``dst``; IPsec protection, when configured, is the transport's (RFC 5213 §4,
    RFC 3776)."""

    message: Any
    src: IPAddress
    dst: IPAddress


@dataclass(frozen=True, slots=True)
class TunnelPeerAdded:
    """Create tunnel peer ``tunnel_peer_id`` (both directions): encapsulate
    towards ``endpoints.remote`` and terminate tunnels from it (RFC 5213
    §5.6.1, §6.10.4; RFC 6275 §10.4.1; RFC 5555 §4)."""

    tunnel_peer_id: int
    endpoints: TunnelEndpoints
    inner_ipv4: bool = False  # also carries IPv4 packets (RFC 5555 IPv4 home addresses)

    @property
    def local(self) -> IPAddress:
        return self.endpoints.local

    @property
    def remote(self) -> IPAddress:
        return self.endpoints.remote

    @property
    def transport(self) -> Transport:
        return self.endpoints.transport


@dataclass(frozen=True, slots=True)
class TunnelPeerRemoved:
    """Remove tunnel peer ``tunnel_peer_id``: its last path is gone."""

    tunnel_peer_id: int
    endpoints: TunnelEndpoints
    inner_ipv4: bool = False

    @property
    def local(self) -> IPAddress:
        return self.endpoints.local

    @property
    def remote(self) -> IPAddress:
        return self.endpoints.remote


@dataclass(frozen=True, slots=True)
class BindingCreated:
    """New binding (RFC 5213 §5.3.2, RFC 6275 §10.3.1): route ``home_prefixes``
    into the tunnel peers of ``paths`` (several: one per flow, RFC 5648) and
    accept reverse-tunnelled packets from a path's CoA whose inner source is
    in ``home_prefixes`` (RFC 5213 §5.6.2)."""

    binding_id: int
    mn_id: bytes
    home_prefixes: tuple[IPNetwork, ...]
    paths: tuple[Path, ...]
    lifetime: float  # granted, seconds
    expires_at: float


@dataclass(frozen=True, slots=True)
class BindingUpdated:
    """Lifetime extended, same paths (RFC 5213 §5.3.3). If the binding was
    de-registering (traffic dropped), forwarding resumes (``reactivated``)."""

    binding_id: int
    mn_id: bytes
    home_prefixes: tuple[IPNetwork, ...]
    paths: tuple[Path, ...]
    lifetime: float
    expires_at: float
    reactivated: bool = False


@dataclass(frozen=True, slots=True)
class BindingMoved:
    """The binding's paths changed (RFC 5213 §5.3.4 handoff; RFC 5648 a CoA
    added, moved or removed): forwarding follows ``paths`` from now on and
    ``old_paths`` no longer carry it (it is (re)enabled)."""

    binding_id: int
    mn_id: bytes
    home_prefixes: tuple[IPNetwork, ...]
    old_paths: tuple[Path, ...]
    paths: tuple[Path, ...]
    lifetime: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class BindingDeregistered:
    """Accepted de-registration that keeps the entry (RFC 5213 §5.3.5): drop
    (or hold) the MN's traffic until ``delete_at`` unless it registers again."""

    binding_id: int
    mn_id: bytes
    home_prefixes: tuple[IPNetwork, ...]
    paths: tuple[Path, ...]
    delete_at: float


@dataclass(frozen=True, slots=True)
class BindingDeleted:
    """Binding gone (``reason``: "deregistered", "expired"); remove its
    entries. Followed by TunnelPeerRemoved for peers no path uses any more."""

    binding_id: int
    mn_id: bytes
    home_prefixes: tuple[IPNetwork, ...]
    paths: tuple[Path, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class HoldDownlink:
    """Keep ``frame`` (a downlink packet the switch punted for binding
    ``binding_id``) until ReleaseDownlink; bounded by the adapter."""

    binding_id: int
    frame: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReleaseDownlink:
    """Binding ``binding_id`` forwards again: send the frames held for it
    (addressed into ``home_prefixes``) back through the pipeline."""

    binding_id: int
    home_prefixes: tuple[IPNetwork, ...]


@dataclass(frozen=True, slots=True)
class LogEvent:
    """Something an operator may want to see; carries no protocol meaning."""

    level: str  # "info" | "warning" | "error"
    message: str
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


__all__ = [
    "SendMh", "TunnelPeerAdded", "TunnelPeerRemoved", "BindingCreated", "BindingUpdated", "BindingMoved",
    "BindingDeregistered", "BindingDeleted", "HoldDownlink", "ReleaseDownlink", "LogEvent",
]
