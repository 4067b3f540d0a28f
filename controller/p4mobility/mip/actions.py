"""Outputs of the mobile-node core: what the adapter must do.

Rule: an action is complete and self-describing; the adapter needs no core
state to apply it and applies no protocol rule. Apply them in list order.

Signalling and data never share a decision (draft-laganier-mext-dsmipv6-
ipsec §4.3, requirement 3): ``SendMh.path`` is where one BU leaves (the
care-of address being registered), while the data tunnel of a binding
changes only through ``TunnelChanged``, which the core emits only when a BA
accepted that care-of address (or the binding went away). So after a move
the BU leaves from the new CoA while data keeps the old tunnel until the BA.
The two are also told apart by SPI: the BU is protected by the transport-
mode BU SA (MH type 5 selector), data by the tunnel-mode payload SA.

Binding identifiers: ``bid`` is the RFC 5648 BID of one access interface
(1..65535) when ``multiple_coa`` is on; 0 is the core's key for the single
binding of plain RFC 6275 / RFC 5555 operation (no BID option on the wire).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from ipaddress import IPv6Network

from p4mobility.mh import BindingUpdate
from p4mobility.binding.actions import LogEvent
from p4mobility.nd.mobile_prefix import MobilePrefixSolicitation

from .path import Path


@dataclass(frozen=True, slots=True)
class SendMh:
    """Send ``message`` (a Binding Update) to the home agent.

    Build the IPv6 packet ``ipv6_src`` -> ``ipv6_dst``; when
    ``home_address_option`` is set (BU from an IPv6 CoA, RFC 6275 §11.7.1)
    it carries a Destination Options header with a Home Address option
    holding ``home_address``. The MH checksum uses ``home_address`` as
    source (RFC 6275 §6.1.1). Protect it with ESP transport mode, the SA
    the SPD selects for (``home_address``, ``ipv6_dst``, MH, local MH type
    5) (RFC 3776 §5.2.1), the HAO outside ESP; then send it on ``path``
    (``UDP4``: inside IPv4/UDP from ``path.mn_port`` to port 4191, RFC 5555
    §4.1), not on the data tunnel. ``bids`` are the bindings it registers."""

    message: BindingUpdate
    path: Path
    ipv6_src: IPv6Address
    ipv6_dst: IPv6Address
    home_address: IPv6Address
    home_address_option: bool
    bids: tuple[int, ...]

    @property
    def checksum_src(self) -> IPv6Address:
        return self.home_address

    @property
    def checksum_dst(self) -> IPv6Address:
        return self.ipv6_dst


@dataclass(frozen=True, slots=True)
class TunnelChanged:
    """The data tunnel of binding ``bid`` is now ``tunnel`` (None: no tunnel;
    its flows go elsewhere, see FlowsMoved). Packets from the home addresses
    leave encapsulated on ``tunnel``; packets arriving on it are decapsulated
    to the home addresses. ``previous`` is what it replaces."""

    bid: int
    tunnel: Path | None
    previous: Path | None
    reason: str


@dataclass(frozen=True, slots=True)
class FlowsMoved:
    """RFC 5648: binding ``from_bid`` is gone; send the flows that used it
    on binding ``to_bid`` (which has a tunnel)."""

    from_bid: int
    to_bid: int
    reason: str


@dataclass(frozen=True, slots=True)
class HomeAddressAssigned:
    """RFC 5555 §3.2.1: the HA acknowledged this IPv4 home address (put it on
    the tunnel interface)."""

    address: IPv4Address
    prefix_length: int


@dataclass(frozen=True, slots=True)
class HomeAddressReleased:
    """The IPv4 home address is no longer ours (refused, or every binding gone)."""

    address: IPv4Address
    reason: str


@dataclass(frozen=True, slots=True)
class Keepalive:
    """RFC 5555 §3.2.2/§4.1: the NAT binding of ``path`` needs refreshing
    every ``interval`` seconds; the SendMh (binding refresh BU on this path)
    that follows in the same list is the keepalive."""

    bid: int
    path: Path
    interval: float


@dataclass(frozen=True, slots=True)
class Registered:
    """A BA accepted ``coa`` for ``bid`` (RFC 6275 §11.7.3); the binding
    lasts until ``expires_at`` (BU send time + granted lifetime)."""

    bid: int
    interface: str
    coa: IPv6Address | IPv4Address
    lifetime: float
    expires_at: float
    refreshed: bool  # same CoA as before (a refresh), not a new registration


@dataclass(frozen=True, slots=True)
class Deregistered:
    """Binding ``bid`` no longer exists (``reason``: "deregistered", "home",
    "expired", "stopped", "rejected", "no answer")."""

    bid: int
    coa: IPv6Address | IPv4Address | None
    reason: str


@dataclass(frozen=True, slots=True)
class RegistrationFailed:
    """The HA rejected ``coa`` for ``bid`` with ``status`` (RFC 6275
    §11.7.3): no more BUs for that CoA until the addresses change."""

    bid: int
    coa: IPv6Address | IPv4Address | None
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class PrefixDiscoveryNeeded:
    """BA status 1 (RFC 6275 §11.7.3): prefix discovery is needed; informational, the
    core sends the Mobile Prefix Solicitation itself (a SendPrefixSolicitation follows)."""


@dataclass(frozen=True, slots=True)
class SendPrefixSolicitation:
    """Send ``message`` (ICMPv6 Mobile Prefix Solicitation, RFC 6275 §6.7, §11.4.2) to the
    home agent, framed like a BU: IPv6 ``ipv6_src`` -> ``ipv6_dst`` with a Home Address
    option holding ``home_address`` when ``home_address_option`` (from an IPv6 CoA); the
    ICMPv6 checksum over (``home_address``, ``ipv6_dst``). ESP transport mode with the SA the
    SPD selects by ICMPv6 type 146 (RFC 3776 §5.2.3, the BU SA), the HAO outside ESP; then
    out on ``path`` (UDP4: inside IPv4/UDP 4191)."""

    message: MobilePrefixSolicitation
    path: Path
    ipv6_src: IPv6Address
    ipv6_dst: IPv6Address
    home_address: IPv6Address
    home_address_option: bool

    @property
    def checksum_src(self) -> IPv6Address:
        return self.home_address

    @property
    def checksum_dst(self) -> IPv6Address:
        return self.ipv6_dst


@dataclass(frozen=True, slots=True)
class HomePrefix:
    """A home prefix the home agent advertised (RFC 6275 §6.8, §7.2): lifetimes as
    absolute core times (None: infinite, 0xFFFFFFFF on the wire)."""

    prefix: IPv6Network
    valid_until: float | None
    preferred_until: float | None
    on_link: bool
    autonomous: bool
    router_address: bool


@dataclass(frozen=True, slots=True)
class HomePrefixesLearned:
    """A Mobile Prefix Advertisement answering our solicitation ``identifier`` was
    accepted (RFC 6275 §11.4.3): ``prefixes`` is every home prefix now known;
    ``home_address_covered`` says whether one of them still holds the home address."""

    identifier: int
    prefixes: tuple[HomePrefix, ...]
    home_address_covered: bool


@dataclass(frozen=True, slots=True)
class AtHome:
    """RFC 6275 §11.5.4: de-registered from the home link ``interface``;
    advertise the home address there (unsolicited Neighbor Advertisement)."""

    interface: str


@dataclass(frozen=True, slots=True)
class Stopped:
    """After StopRequested: no binding is left (de-registered or given up)."""


Action = (SendMh | SendPrefixSolicitation | TunnelChanged | FlowsMoved | HomeAddressAssigned
          | HomeAddressReleased | Keepalive | Registered | Deregistered | RegistrationFailed | PrefixDiscoveryNeeded
          | HomePrefixesLearned | AtHome | Stopped | LogEvent)

__all__ = ["SendMh", "SendPrefixSolicitation", "TunnelChanged", "FlowsMoved", "HomeAddressAssigned",
           "HomeAddressReleased", "Keepalive", "Registered", "Deregistered", "RegistrationFailed",
           "PrefixDiscoveryNeeded", "HomePrefix", "HomePrefixesLearned", "AtHome", "Stopped", "LogEvent", "Action"]
