"""DSMIPv6 at the home agent (RFC 5555): IPv4 home addresses, IPv4 care-of
addresses and NAT detection.

Rules.
- IPv4 Home Address option (§3.1.1), answered by the IPv4 Address
  Acknowledgement (§3.2.1): P=1 (a prefix) -> 133; 0.0.0.0 -> the address the
  binding already holds, else the MN's static one, else one from the pool
  (129 when its profile forbids dynamic addresses, 132 when there is no pool
  or it is empty); a specific address -> accepted only if it is the one the
  binding holds or, for a binding without one, the MN's static address (130
  otherwise; 131 when it is no unicast address). The acknowledgement carries
  prefix length 32: the address is reached only through the tunnel. An IPv4
  failure does not fail the IPv6 registration (§3.2.1: the BA status covers
  the IPv6 home address).
- NAT detection (§4.2; draft-laganier req. 4): the BU came in UDP 4191; its
  IPv4 CoA option is compared with the outer IPv4 source the switch recorded
  before decryption. Different -> NAT: the tunnel goes to (outer source, outer
  port) in UDP, and the BA's NAT Detection option carries the refresh time.
  Equal -> no NAT: UDP anyway when the BU has F (and the profile honours it)
  or the HA forces it (NAT Detection with F set, refresh time all ones:
  no keepalives needed); else plain IPv4 encapsulation (§4.1), no option.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv4Network

from p4mobility.binding import IdAllocator, Transport, TunnelEndpoints
from p4mobility.mh import Ipv4AckStatus, Ipv4AddressAcknowledgement, Ipv4HomeAddress, NatDetection
from p4mobility.mh.constants import DSMIPV6_UDP_PORT, NAT_REFRESH_NO_NAT

from .config import HaConfig, MnProfile

V4_PREFIX_LEN = 32
BROADCAST = IPv4Address("255.255.255.255")


def ipv4_unicast(a: IPv4Address) -> bool:
    """A usable IPv4 unicast address (no 0/8, loopback, multicast, class E, broadcast)."""
    return not (a.is_unspecified or a.is_loopback or a.is_multicast or a.is_reserved or a == BROADCAST
                or a in IPv4Network("0.0.0.0/8"))


class Ipv4Pool:
    """IPv4 home addresses handed out on a 0.0.0.0 request: the smallest free one
    (network and broadcast addresses left out below /31; statics reserved)."""

    def __init__(self, net: IPv4Network, reserved: tuple[IPv4Address, ...] = ()) -> None:
        self.net = net
        edge = 1 if net.prefixlen <= 30 else 0
        self._first = int(net.network_address) + edge
        self._count = net.num_addresses - 2 * edge
        self._ids = IdAllocator(self._count + 1)
        for a in reserved:
            if a in self:
                self._ids.reserve(self._id(a))

    def __contains__(self, a: IPv4Address) -> bool:
        return 0 <= int(a) - self._first < self._count

    def _id(self, a: IPv4Address) -> int:
        return int(a) - self._first + 1

    def free_count(self) -> int:
        return self._ids.free_count()

    def allocate(self) -> IPv4Address | None:
        i = self._ids.allocate()
        return None if i is None else IPv4Address(self._first + i - 1)

    def release(self, a: IPv4Address) -> None:
        if a in self:
            self._ids.release(self._id(a))

    def reserve(self, a: IPv4Address) -> None:
        """Mark ``a`` used (state restore); ValueError when it already is."""
        if a in self:
            self._ids.reserve(self._id(a))


class V4Source(Enum):
    HELD = "held"  # the binding's current address
    STATIC = "static"  # the profile's address
    POOL = "pool"  # to allocate when the registration is applied


@dataclass(frozen=True, slots=True)
class Ipv4Decision:
    status: Ipv4AckStatus
    address: IPv4Address  # the requested one when refused; unspecified for POOL until allocated
    source: V4Source | None = None

    @property
    def accepted(self) -> bool:
        return self.status < 128


def decide_ipv4_home_address(opt: Ipv4HomeAddress, held: IPv4Address | None, profile: MnProfile,
                             pool: Ipv4Pool | None) -> Ipv4Decision:
    """RFC 5555 §3.1.1/§3.2.1 (rules in the module docstring); changes nothing."""
    want = opt.address
    if opt.p:
        return Ipv4Decision(Ipv4AckStatus.PREFIX_ALLOCATION_UNAUTHORIZED, want)
    if want.is_unspecified:  # "assign one"
        if held is not None:
            return Ipv4Decision(Ipv4AckStatus.SUCCESS, held, V4Source.HELD)
        if profile.ipv4_home_address is not None:
            return Ipv4Decision(Ipv4AckStatus.SUCCESS, profile.ipv4_home_address, V4Source.STATIC)
        if not profile.dynamic_ipv4:
            return Ipv4Decision(Ipv4AckStatus.ADMINISTRATIVELY_PROHIBITED, want)
        if pool is None or pool.free_count() == 0:
            return Ipv4Decision(Ipv4AckStatus.DYNAMIC_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_AVAILABLE, want)
        return Ipv4Decision(Ipv4AckStatus.SUCCESS, want, V4Source.POOL)
    if not ipv4_unicast(want):
        return Ipv4Decision(Ipv4AckStatus.INVALID_IPV4_ADDRESS, want)
    if held is not None:
        ok = want == held
        return Ipv4Decision(Ipv4AckStatus.SUCCESS if ok else Ipv4AckStatus.INCORRECT_IPV4_HOME_ADDRESS, want,
                            V4Source.HELD if ok else None)
    if want == profile.ipv4_home_address:
        return Ipv4Decision(Ipv4AckStatus.SUCCESS, want, V4Source.STATIC)
    return Ipv4Decision(Ipv4AckStatus.INCORRECT_IPV4_HOME_ADDRESS, want)


def ack_option(d: Ipv4Decision, address: IPv4Address | None = None) -> Ipv4AddressAcknowledgement:
    """RFC 5555 §3.2.1: status, prefix length, the address given (or the one refused)."""
    return Ipv4AddressAcknowledgement(int(d.status), V4_PREFIX_LEN if d.accepted else 0,
                                      address if address is not None else d.address)


@dataclass(frozen=True, slots=True)
class V4Path:
    endpoints: TunnelEndpoints
    nat_detected: bool
    nat_option: NatDetection | None


def ipv4_path(config: HaConfig, profile: MnProfile, coa: IPv4Address, outer: tuple[IPv4Address, int],
              force_udp_flag: bool) -> V4Path:
    """RFC 5555 §4.1, §4.2: the tunnel to an IPv4 care-of address (module docstring)."""
    assert config.ha_address_v4 is not None
    outer_src, outer_port = outer
    nat = outer_src != coa
    forced = config.force_udp_encapsulation or (force_udp_flag and profile.force_udp)
    if not nat and not forced:
        return V4Path(TunnelEndpoints(config.ha_address_v4, coa, Transport.IPV4), False, None)
    ends = TunnelEndpoints(config.ha_address_v4, outer_src, Transport.UDP_IPV4, DSMIPV6_UDP_PORT, outer_port)
    refresh = config.nat_keepalive_refresh if nat else NAT_REFRESH_NO_NAT
    return V4Path(ends, nat, NatDetection(forced, refresh))


__all__ = ["Ipv4Pool", "Ipv4Decision", "V4Source", "decide_ipv4_home_address", "ack_option", "V4Path",
           "ipv4_path", "ipv4_unicast", "V4_PREFIX_LEN"]
