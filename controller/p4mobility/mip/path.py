"""Ways between a mobile node and its home agent: outer headers as values.

Rule: a ``Path`` names one outer encapsulation between one care-of address
and the home agent address of the same family; it never names the home
address (that is inside). Signalling and data use different paths for the
same CoA:

- IPv6 CoA: BUs are IPv6 from the CoA with a Home Address option (RFC 6275
  §11.7.1); data is IPv6-in-IPv6 / IPv4-in-IPv6 (``IPV6``).
- IPv4 CoA: BUs are always IPv6-in-UDP(4191)-in-IPv4 (RFC 5555 §4.1,
  ``UDP4``); data is ``UDP4`` when the BA carried a NAT Detection option
  (a NAT, or the F flag honoured, RFC 5555 §3.2.2), else IP-in-IPv4 without
  UDP (``IPV4``: protocol 41 for IPv6, 4 for IPv4 inside).
- At home: no tunnel; the de-registration BU is sent from the home address
  (RFC 6275 §11.5.4, ``HOME``).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

DSMIPV6_UDP_PORT = 4191  # RFC 5555 §4.1 (IANA "dsmipv6")


class Encapsulation(Enum):
    IPV6 = "ipv6"  # outer IPv6 CoA -> HA (HAO on signalling, IP-in-IPv6 data)
    IPV4 = "ipv4"  # outer IPv4 CoA -> HA, no UDP (data only)
    UDP4 = "udp4191"  # outer IPv4 + UDP, HA port 4191
    HOME = "home"  # at home: no outer header at all


@dataclass(frozen=True, slots=True)
class Path:
    """Outer header of packets between the MN and the HA.

    ``coa`` is the outer source on the MN side (as configured on the MN:
    behind a NAT it is the private address), ``ha`` the outer destination;
    ``mn_port``/``ha_port`` are set for ``UDP4`` only."""

    interface: str
    encapsulation: Encapsulation
    coa: IPv6Address | IPv4Address
    ha: IPv6Address | IPv4Address
    mn_port: int | None = None
    ha_port: int | None = None

    @property
    def is_ipv4(self) -> bool:
        return self.encapsulation in (Encapsulation.IPV4, Encapsulation.UDP4)


@dataclass(frozen=True, slots=True)
class OuterUdp4:
    """The IPv4/UDP header a packet arrived in (RFC 5555 §4.1), as received."""

    src: IPv4Address
    dst: IPv4Address
    sport: int
    dport: int


__all__ = ["DSMIPV6_UDP_PORT", "Encapsulation", "Path", "OuterUdp4"]
