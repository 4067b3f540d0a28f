"""Outputs of the home agent core, as frozen dataclasses.

Rule: the data-plane actions are binding/actions.py's (tunnel peers, bindings
with their paths; an IPv4 home address is one more /32 home prefix), so
p4rt/entries.py ``lma_changes`` programs the switch for the HA as for the
LMA. What the HA adds here is how a message to a mobile node is carried,
because that is a protocol decision (RFC 6275 §9.5.4, §6.4; RFC 5555 §4.1):
``route`` is an ``Ipv6Route`` (IPv6 to the care-of address with a Type 2
Routing Header carrying the home address; none when the MN is at home) or a
``UdpIpv4Route`` (IPv4 + UDP from port 4191 to the recorded outer address
and port, inner IPv6 destination = the home address, no RH2). In both the
MH checksum is computed over (``route.src``, ``route.home_address``) (RFC
6275 §6.1.1) and the adapter protects the message with the ESP SA of
``route.home_address`` before adding RH2/IPv4/UDP (RFC 3776 §5.2; the
outer headers stay outside ESP). A Binding Error is a plain ``SendMh``
(RFC 6275 §9.3.3: to the offending packet's source, no RH2, no ESP), an
ICMPv6 Parameter Problem a plain ``SendIcmpParameterProblem`` (§9.2,
binding/mh_answers.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from p4mobility.binding.actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    LogEvent,
    SendMh,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from p4mobility.binding.mh_answers import SendIcmpParameterProblem
from p4mobility.mh import BindingAck, BindingRefreshRequest
from p4mobility.mh.constants import DSMIPV6_UDP_PORT


@dataclass(frozen=True, slots=True)
class Ipv6Route:
    """IPv6{src -> dst} [RH2{home_address} when dst is not the home address]."""

    src: IPv6Address  # the home agent address the BU was sent to
    dst: IPv6Address  # the care-of address (the BU's IPv6 Source); the HoA at home
    home_address: IPv6Address

    @property
    def type2_routing_header(self) -> IPv6Address | None:
        """RFC 6275 §6.4, §9.5.4: RH2 carries the home address when sent to a CoA."""
        return None if self.dst == self.home_address else self.home_address


@dataclass(frozen=True, slots=True)
class UdpIpv4Route:
    """IPv4{ipv4_src -> ipv4_dst} UDP{src_port -> dst_port} IPv6{src -> home_address}
    (RFC 5555 §4.1; draft-laganier §"Binding Acknowledgement to the MN over IPv4")."""

    ipv4_src: IPv4Address  # ha_address_v4
    ipv4_dst: IPv4Address  # the outer source the BU came from (a NAT's public address)
    dst_port: int  # the outer UDP source port the BU came from
    src: IPv6Address  # the home agent's IPv6 address
    home_address: IPv6Address
    src_port: int = DSMIPV6_UDP_PORT


Route = Ipv6Route | UdpIpv4Route


@dataclass(frozen=True, slots=True)
class SendBindingAck:
    """Send ``message`` to the MN along ``route`` (RFC 6275 §10.3.1 step "send a BA";
    ESP transport with the HoA's SA, RFC 3776 §5.2.1)."""

    message: BindingAck
    route: Route


@dataclass(frozen=True, slots=True)
class SendBindingRefreshRequest:
    """Ask the MN for a fresh BU before its binding expires (RFC 6275 §6.1.2, §9.5.5;
    RFC 5648 §5.4: BID options name the bindings to refresh)."""

    message: BindingRefreshRequest
    route: Route


@dataclass(frozen=True, slots=True)
class AdvertisedPrefix:
    """One Prefix Information option of a Mobile Prefix Advertisement (RFC 6275 §6.8, §7.2)."""

    prefix: IPv6Network
    valid_lifetime: int
    preferred_lifetime: int
    on_link: bool = True
    autonomous: bool = True
    router_address: bool = False  # RFC 6275 §7.2 R flag (the prefix field holds a router address)


@dataclass(frozen=True, slots=True)
class SendMobilePrefixAdvertisement:
    """ICMPv6 Mobile Prefix Advertisement (type 147, RFC 6275 §6.8, §10.6.2) answering a
    solicitation: ``identifier`` copied from it, the home prefixes; M and O flags clear.
    ESP with the HoA's SA (RFC 3776 §5.2.3); the adapter builds the ICMPv6 bytes."""

    identifier: int
    prefixes: tuple[AdvertisedPrefix, ...]
    route: Route
    managed: bool = False
    other: bool = False


Action = (SendMh | SendIcmpParameterProblem | SendBindingAck | SendBindingRefreshRequest
          | SendMobilePrefixAdvertisement | TunnelPeerAdded
          | TunnelPeerRemoved | BindingCreated | BindingUpdated | BindingMoved | BindingDeregistered | BindingDeleted
          | LogEvent)

__all__ = [
    "Ipv6Route", "UdpIpv4Route", "Route", "SendBindingAck", "SendBindingRefreshRequest", "AdvertisedPrefix",
    "SendMobilePrefixAdvertisement", "SendMh", "SendIcmpParameterProblem", "TunnelPeerAdded", "TunnelPeerRemoved",
    "BindingCreated",
    "BindingUpdated", "BindingMoved", "BindingDeregistered", "BindingDeleted", "LogEvent", "Action",
]
