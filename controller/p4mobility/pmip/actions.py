"""Outputs of the PMIPv6 cores: what the runtime must do, as frozen dataclasses.

Rule: the actions every role shares (tunnel peers, bindings, SendMh, logs)
are binding/actions.py's; the MAG adds its own here (forwarding for an MN on
an access port, Router Advertisements, holding an attaching MN's uplink).
An action is complete and self-describing; the adapter applies no protocol
rule. Order matters and is the order of the returned list (binding/actions.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network

from p4mobility.binding.actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    HoldDownlink,
    LogEvent,
    ReleaseDownlink,
    SendMh,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from p4mobility.binding.mh_answers import SendIcmpParameterProblem  # shared with the HA (RFC 6275 §9.2)


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
class HoldUplink:
    """MAG (RFC 5213 §6.9.1.1): keep ``frame``, sent by the MN on
    ``access_port`` before its forwarding exists, until ReleaseUplink."""

    access_port: int
    frame: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReleaseUplink:
    """MAG: the MN on ``access_port`` is served: tunnel the frames held for it
    (sourced in ``hnps``) from ``proxy_coa`` to ``lma_address``."""

    access_port: int
    hnps: tuple[IPv6Network, ...]
    lma_address: IPv6Address
    proxy_coa: IPv6Address


Action = (SendMh | TunnelPeerAdded | TunnelPeerRemoved | BindingCreated | BindingUpdated
          | BindingMoved | BindingDeregistered | BindingDeleted | HoldDownlink | ReleaseDownlink
          | MagBindingInstalled | MagBindingRemoved | SendRouterAdvertisement | HoldUplink | ReleaseUplink
          | SendIcmpParameterProblem | LogEvent)

__all__ = [
    "SendMh", "TunnelPeerAdded", "TunnelPeerRemoved", "BindingCreated", "BindingUpdated",
    "BindingMoved", "BindingDeregistered", "BindingDeleted", "HoldDownlink", "ReleaseDownlink",
    "MagBindingInstalled", "MagBindingRemoved", "RaPrefix", "SendRouterAdvertisement", "HoldUplink",
    "ReleaseUplink", "SendIcmpParameterProblem", "LogEvent", "Action",
]
