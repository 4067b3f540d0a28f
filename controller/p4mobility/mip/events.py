"""Inputs to the mobile-node core: frozen, slotted dataclasses.

Rule: an event is a fact that already happened; the adapter builds it and
calls ``mn.handle(event, now)``. Timers are not events: the adapter calls
``mn.handle_timer(now)`` when ``mn.next_deadline()`` is reached.

Address events come from the host's access interfaces (netlink): a global
IPv6 address or an IPv4 address appeared or went away. The core decides
what is a care-of address and what means "at home" (RFC 6275 §11.5). The
tunnel interface carrying the home addresses must not be reported.

Received Mobility Header messages are passed only after the adapter has
checked their protection: a BA, BRR or BE from the home agent arrives on the
MN-HA SA for MH messages (RFC 3776 §4.1, §5.2.1); ``src``/``dst`` are the
IPv6 addresses after Type 2 Routing Header processing (``dst`` = the home
address, RFC 6275 §6.4); ``outer`` is the IPv4/UDP header when the packet
came in UDP port 4191 (RFC 5555 §4.1), recorded before IPsec removed it.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from p4mobility.mh import BindingAck, BindingError, BindingRefreshRequest
from p4mobility.nd.mobile_prefix import MobilePrefixAdvertisement

from .path import OuterUdp4


@dataclass(frozen=True, slots=True)
class AddressAdded:
    """``interface`` got ``address`` (global IPv6 or IPv4); ``valid_lifetime``
    (seconds, from RA/DHCP) caps BU lifetimes (RFC 6275 §11.7.1)."""

    interface: str
    address: IPv6Address | IPv4Address
    valid_lifetime: float | None = None


@dataclass(frozen=True, slots=True)
class AddressRemoved:
    interface: str
    address: IPv6Address | IPv4Address


@dataclass(frozen=True, slots=True)
class InterfaceDown:
    """Every address of ``interface`` is gone (link down, interface removed)."""

    interface: str


@dataclass(frozen=True, slots=True)
class BaReceived:
    message: BindingAck
    src: IPv6Address
    dst: IPv6Address
    outer: OuterUdp4 | None = None


@dataclass(frozen=True, slots=True)
class BrrReceived:
    message: BindingRefreshRequest
    src: IPv6Address
    dst: IPv6Address
    outer: OuterUdp4 | None = None


@dataclass(frozen=True, slots=True)
class BeReceived:
    message: BindingError
    src: IPv6Address
    dst: IPv6Address
    outer: OuterUdp4 | None = None


@dataclass(frozen=True, slots=True)
class PrefixAdvertisementReceived:
    """A Mobile Prefix Advertisement (ICMPv6 147, RFC 6275 §6.8) from the home agent, after
    ESP (the BA SA, RFC 3776 §5.2.3) and RH2 processing, framed like a BA."""

    message: MobilePrefixAdvertisement
    src: IPv6Address
    dst: IPv6Address
    outer: OuterUdp4 | None = None


@dataclass(frozen=True, slots=True)
class PrefixSolicitationRequested:
    """Someone (the operator, over the control socket) asks for the home prefixes now."""


@dataclass(frozen=True, slots=True)
class StopRequested:
    """Leave: de-register every binding (lifetime 0), then report ``Stopped``."""


Event = (AddressAdded | AddressRemoved | InterfaceDown | BaReceived | BrrReceived | BeReceived
         | PrefixAdvertisementReceived | PrefixSolicitationRequested | StopRequested)

__all__ = ["AddressAdded", "AddressRemoved", "InterfaceDown", "BaReceived", "BrrReceived",
           "BeReceived", "PrefixAdvertisementReceived", "PrefixSolicitationRequested", "StopRequested", "Event"]
