"""Security Policy Database (RFC 4301 §4.4.1), with Mobility Header selectors.

Rule: the SPD is an ordered list; the first entry whose direction and
selectors match decides PROTECT, BYPASS or DISCARD (§4.4.1); no match means
DISCARD. Selectors are in local/remote terms, as in RFC 5213 §4.2 and RFC 4877
examples: outbound, local = source; inbound/forward, local = destination. The
Mobility Header type is the port-like selector (§4.4.1.1): ``local_mh_type``
matches MH messages this node sends, ``remote_mh_type`` those its peer sends.
Addresses are taken after the Home Address option / type 2 routing header
swap (RFC 3776 §4.3), so policies name the home address, never the CoA. A
non-first fragment hides ports and MH type: it matches only ANY there.
A host-wide payload entry selecting on the home address goes last
(draft-laganier-mext-dsmipv6-ipsec, requirement 2).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from .ipframe import Proto, upper_layer_ports, walk

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# packed bytes -> address object; the same few addresses repeat on the crypto port's hot path
_address = lru_cache(maxsize=4096)(ipaddress.ip_address)


class Action(StrEnum):
    """RFC 4301 §4.4.1: the three SPD actions."""

    PROTECT = "protect"
    BYPASS = "bypass"
    DISCARD = "discard"


class Dir(StrEnum):
    """ip-xfrm policy/state directions."""

    IN = "in"
    OUT = "out"
    FWD = "fwd"


class Mode(StrEnum):
    """RFC 4301 §4.1: SA modes."""

    TRANSPORT = "transport"
    TUNNEL = "tunnel"


class PacketSelector(NamedTuple):
    """Selector values of one packet, after the HoA swap (RFC 3776 §4.3).

    A NamedTuple (immutable, hashable): built once per packet on the crypto
    port's hot path, where a frozen dataclass costs several times more."""

    src: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address
    proto: int
    sport: int | None = None  # TCP/UDP source port; ICMP type
    dport: int | None = None  # TCP/UDP destination port; ICMP code
    mh_type: int | None = None
    opaque: bool = False  # non-first fragment: ports/MH type unavailable


def selector_from_packet(packet: bytes) -> PacketSelector:
    """Addresses, protocol and port-like fields, skipping IPv6 extension headers."""
    view = walk(packet)
    a, b = upper_layer_ports(packet, view)
    src, dst = _address(view.src), _address(view.dst)
    opaque = view.fragment and not view.first_fragment
    if view.proto == Proto.MH:
        return PacketSelector(src, dst, view.proto, mh_type=a, opaque=opaque)
    return PacketSelector(src, dst, view.proto, a, b, opaque=opaque)


def _net(value: str | Network | None) -> Network | None:
    if value is None or isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value
    return ipaddress.ip_network(value, strict=False)


@dataclass(frozen=True)
class Selector:
    """RFC 4301 §4.4.1.1 selectors; ``None`` is ANY. Ports are inclusive ranges."""

    local: Network | None = None
    remote: Network | None = None
    proto: int | None = None
    local_ports: tuple[int, int] | None = None
    remote_ports: tuple[int, int] | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    local_mh_type: int | None = None
    remote_mh_type: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "local", _net(self.local))
        object.__setattr__(self, "remote", _net(self.remote))
        # (version, network, mask) as ints: the per-packet test is one AND and compare
        object.__setattr__(self, "_local_m", _mask(self.local))
        object.__setattr__(self, "_remote_m", _mask(self.remote))

    def matches(self, p: PacketSelector, direction: Dir) -> bool:
        """Does the packet travelling in ``direction`` fall under this selector?"""
        outbound = direction == Dir.OUT
        local, remote = (p.src, p.dst) if outbound else (p.dst, p.src)
        m = self._local_m
        if m is not None and (local.version != m[0] or int(local) & m[2] != m[1]):
            return False
        m = self._remote_m
        if m is not None and (remote.version != m[0] or int(remote) & m[2] != m[1]):
            return False
        if self.proto is None:
            return True
        if p.proto != self.proto:
            return False
        if p.proto == Proto.MH:
            want = self.local_mh_type if outbound else self.remote_mh_type
            return want is None or (not p.opaque and p.mh_type == want)
        if p.proto in (Proto.ICMP, Proto.ICMPV6):
            return (self.icmp_type is None or (not p.opaque and p.sport == self.icmp_type)) and (
                self.icmp_code is None or (not p.opaque and p.dport == self.icmp_code))
        lport, rport = (p.sport, p.dport) if outbound else (p.dport, p.sport)
        return _in_range(lport, self.local_ports, p.opaque) and _in_range(rport, self.remote_ports, p.opaque)


def _mask(net: Network | None) -> tuple[int, int, int] | None:
    return None if net is None else (net.version, int(net.network_address), int(net.netmask))


def _in_range(port: int | None, rng: tuple[int, int] | None, opaque: bool) -> bool:
    if rng is None:
        return True
    return not opaque and port is not None and rng[0] <= port <= rng[1]


@dataclass(frozen=True)
class Template:
    """ip-xfrm `tmpl`: which SA protects matching traffic (by reqid)."""

    reqid: int
    mode: Mode = Mode.TRANSPORT
    proto: str = "esp"


@dataclass(frozen=True)
class SpdEntry:
    """One ordered SPD entry (ip-xfrm policy): dir, selector, action, tmpl."""

    dir: Dir
    selector: Selector
    action: Action
    tmpl: Template | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if (self.action == Action.PROTECT) != (self.tmpl is not None):
            raise ValueError("a PROTECT entry needs a tmpl; BYPASS/DISCARD take none")


@dataclass
class Spd:
    """Ordered SPD; ``lookup`` returns the first matching entry (RFC 4301 §4.4.1)."""

    entries: list[SpdEntry] = field(default_factory=list)

    def add(self, entry: SpdEntry) -> None:
        self.entries.append(entry)

    def lookup(self, direction: Dir, packet: PacketSelector) -> SpdEntry | None:
        for entry in self.entries:
            if entry.dir == direction and entry.selector.matches(packet, direction):
                return entry
        return None
