"""Inputs to the home agent core: frozen, slotted dataclasses.

Rule: an event is a fact the adapter observed, already decoded and, where
IPsec applies, already through ESP: ``protected_by`` is the home address the
inbound SA that carried the message is bound to (RFC 3776 §4.1: SAs and
selectors name the HoA), None when it came without ESP. ``outer_v4`` is
(IPv4 source, UDP source port) of the UDP-4191 envelope, recorded by the
switch before decryption (draft-laganier-mext-dsmipv6-ipsec req. 4), None
when the message came over IPv6. ``home_address_option`` is the value of a
Home Address destination option (RFC 6275 §6.3), None without one. Timers
are not events: the adapter calls ``handle_timer(now)`` at ``next_deadline()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from p4mobility.mh import BindingUpdate, MhDecodeError


@dataclass(frozen=True, slots=True)
class BuReceived:
    """A Binding Update from IPv6 ``src`` to ``dst`` (inside UDP 4191: the inner header)."""

    message: BindingUpdate
    src: IPv6Address
    dst: IPv6Address
    home_address_option: IPv6Address | None = None
    protected_by: IPv6Address | None = None
    outer_v4: tuple[IPv4Address, int] | None = None

    @property
    def home_address(self) -> IPv6Address:
        """RFC 6275 §9.5.1: the HAO's address, else the IPv6 Source (at home, or in UDP 4191)."""
        return self.home_address_option if self.home_address_option is not None else self.src


@dataclass(frozen=True, slots=True)
class MhUndecodable:
    """A Mobility Header from ``src`` to ``dst`` that ``decode_mh`` refused with ``error``
    (its class attributes carry the RFC 6275 §9.2 action); ``packet`` is the IPv6 packet
    that carried it (inside UDP 4191: the inner one; after ESP: as decrypted; empty:
    unknown) with the MH at ``mh_offset``; ``in_esp``: the crypto path decrypted it;
    ``outer_v4`` as for a BU."""

    error: MhDecodeError
    src: IPv6Address
    dst: IPv6Address
    home_address_option: IPv6Address | None = None
    packet: bytes = field(default=b"", repr=False)
    mh_offset: int = 0
    in_esp: bool = False
    outer_v4: tuple[IPv4Address, int] | None = None


@dataclass(frozen=True, slots=True)
class HaoPacketReceived:
    """A packet other than a BU carrying a Home Address option (RFC 6275 §9.3.1) reached
    the controller: the data plane has no binding matching (``home_address``, ``src``)."""

    src: IPv6Address
    dst: IPv6Address
    home_address: IPv6Address


@dataclass(frozen=True, slots=True)
class MobilePrefixSolicitationReceived:
    """ICMPv6 Mobile Prefix Solicitation (type 146, RFC 6275 §6.7) with its Identifier,
    framed like a BU (HAO from an IPv6 CoA, or inner source = HoA inside UDP 4191)."""

    identifier: int
    src: IPv6Address
    dst: IPv6Address
    home_address_option: IPv6Address | None = None
    protected_by: IPv6Address | None = None
    outer_v4: tuple[IPv4Address, int] | None = None

    @property
    def home_address(self) -> IPv6Address:
        return self.home_address_option if self.home_address_option is not None else self.src


HaEvent = BuReceived | MhUndecodable | HaoPacketReceived | MobilePrefixSolicitationReceived

__all__ = ["BuReceived", "MhUndecodable", "HaoPacketReceived", "MobilePrefixSolicitationReceived", "HaEvent"]
