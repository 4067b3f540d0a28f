"""Outputs of the PMIPv6 cores: what the runtime must do, as frozen dataclasses.

Rule: an action is complete and self-describing; the adapter that turns it
into P4Runtime writes or packet-outs needs no other state and applies no
protocol rule. Order matters and is the order of the returned list: tunnel
peers appear before bindings that use them and disappear after; data-plane
changes come before the PBA/RA that announces them (style guide, "One PBU").
Binding ids and tunnel peer ids are small ints in 1..max-1 (P4 indices),
stable for the life of the entry and reused after deletion.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any


@dataclass(frozen=True, slots=True)
class SendMh:
    """Send ``message`` (a BindingUpdate/BindingAck) as a Mobility Header from
    ``src`` to ``dst`` (IPsec-protected per RFC 5213 §4 by the transport)."""

    message: Any
    src: IPv6Address
    dst: IPv6Address


@dataclass(frozen=True, slots=True)
class TunnelPeerAdded:
    """Create bidirectional IPv6-in-IPv6 tunnel peer ``tunnel_peer_id`` between
    ``local`` and ``remote`` (RFC 5213 §5.6.1, §6.10.4); the first binding that
    uses this remote endpoint appeared."""

    tunnel_peer_id: int
    local: IPv6Address
    remote: IPv6Address


@dataclass(frozen=True, slots=True)
class TunnelPeerRemoved:
    """Remove tunnel peer ``tunnel_peer_id``: its last binding is gone."""

    tunnel_peer_id: int
    local: IPv6Address
    remote: IPv6Address


@dataclass(frozen=True, slots=True)
class BindingCreated:
    """LMA (RFC 5213 §5.3.2): new BCE. Route every HNP into tunnel peer
    ``tunnel_peer_id`` (towards ``proxy_coa``) and accept tunnelled packets from
    it whose inner source is in ``hnps`` (§5.6.2)."""

    binding_id: int
    mn_id: bytes
    mn_ll_id: bytes | None
    att: int
    hnps: tuple[IPv6Network, ...]
    proxy_coa: IPv6Address
    lma_address: IPv6Address
    tunnel_peer_id: int
    lifetime: float  # granted, seconds
    expires_at: float


@dataclass(frozen=True, slots=True)
class BindingUpdated:
    """LMA (RFC 5213 §5.3.3): lifetime extended, same MAG. If the entry was
    de-registering (traffic dropped), forwarding resumes (``reactivated``)."""

    binding_id: int
    mn_id: bytes
    hnps: tuple[IPv6Network, ...]
    proxy_coa: IPv6Address
    lma_address: IPv6Address
    tunnel_peer_id: int
    lifetime: float
    expires_at: float
    reactivated: bool = False


@dataclass(frozen=True, slots=True)
class BindingMoved:
    """LMA (RFC 5213 §5.3.4): handoff. Rewrite the binding's tunnel peer from
    ``old_tunnel_peer_id`` (``old_proxy_coa``) to ``tunnel_peer_id``
    (``proxy_coa``); forwarding is (re)enabled."""

    binding_id: int
    mn_id: bytes
    mn_ll_id: bytes | None
    att: int
    hnps: tuple[IPv6Network, ...]
    old_proxy_coa: IPv6Address
    old_tunnel_peer_id: int
    proxy_coa: IPv6Address
    lma_address: IPv6Address
    tunnel_peer_id: int
    lifetime: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class BindingDeregistered:
    """LMA (RFC 5213 §5.3.5): accepted de-registration. Keep the entry but drop
    the MN's traffic until ``delete_at`` (MinDelayBeforeBCEDelete) unless a
    new registration arrives first."""

    binding_id: int
    mn_id: bytes
    hnps: tuple[IPv6Network, ...]
    proxy_coa: IPv6Address
    tunnel_peer_id: int
    delete_at: float


@dataclass(frozen=True, slots=True)
class BindingDeleted:
    """LMA: BCE gone (``reason``: "deregistered", "expired"); remove the HNP
    routes of ``binding_id``. Followed by TunnelPeerRemoved if it was the last."""

    binding_id: int
    mn_id: bytes
    hnps: tuple[IPv6Network, ...]
    proxy_coa: IPv6Address
    tunnel_peer_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class MagBindingInstalled:
    """MAG (RFC 5213 §6.9.1.2, §6.10.5): after an accepted PBA. Downlink:
    packets from tunnel peer ``tunnel_peer_id`` to an HNP go out
    ``access_port``; uplink: packets from ``access_port`` sourced in ``hnps``
    go into the tunnel to ``lma_address`` (or are routed locally when
    ``local_routing``, §6.10.3)."""

    access_port: int
    mn_id: bytes
    mn_ll_id: bytes | None
    hnps: tuple[IPv6Network, ...]
    lma_address: IPv6Address
    proxy_coa: IPv6Address
    tunnel_peer_id: int
    mag_link_local: IPv6Address
    lifetime: float
    local_routing: bool = False


@dataclass(frozen=True, slots=True)
class MagBindingRemoved:
    """MAG: stop forwarding for the MN on ``access_port`` (``reason``:
    "detached", "expired", "rejected"). Followed by TunnelPeerRemoved if last."""

    access_port: int
    mn_id: bytes
    hnps: tuple[IPv6Network, ...]
    lma_address: IPv6Address
    tunnel_peer_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class RaPrefix:
    """One Prefix Information option (RFC 4861 §4.6.2): on-link, autonomous."""

    prefix: IPv6Network
    valid_lifetime: int
    preferred_lifetime: int
    on_link: bool = True
    autonomous: bool = True


@dataclass(frozen=True, slots=True)
class SendRouterAdvertisement:
    """MAG (RFC 5213 §6.7, §6.9.1.2): unicast RA to the MN on ``access_port``
    from ``source`` (the MAG link-local that is the same on every MAG, §6.8),
    advertising its HNPs as on-link. Lifetimes never outlive the binding; all
    zero withdraws the prefixes and the default router."""

    access_port: int
    mn_id: bytes
    source: IPv6Address
    router_lifetime: int
    prefixes: tuple[RaPrefix, ...]
    source_link_layer_address: bytes | None = None


@dataclass(frozen=True, slots=True)
class LogEvent:
    """Something an operator may want to see; carries no protocol meaning."""

    level: str  # "info" | "warning" | "error"
    message: str
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


Action = (SendMh | TunnelPeerAdded | TunnelPeerRemoved | BindingCreated | BindingUpdated
          | BindingMoved | BindingDeregistered | BindingDeleted | MagBindingInstalled
          | MagBindingRemoved | SendRouterAdvertisement | LogEvent)

__all__ = [
    "SendMh", "TunnelPeerAdded", "TunnelPeerRemoved", "BindingCreated", "BindingUpdated",
    "BindingMoved", "BindingDeregistered", "BindingDeleted", "MagBindingInstalled",
    "MagBindingRemoved", "RaPrefix", "SendRouterAdvertisement", "LogEvent", "Action",
]
