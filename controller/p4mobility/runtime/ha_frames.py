"""The home agent's frames through the switch's CPU port: punted signalling in,
signalling to the mobile node out.

Rule: byte-level packing and walking only, every length checked before it is
read; bad input raises `FrameError` (RFC 6275 §9.2: silently discard) and a
Mobility Header that does not decode is returned as its `MhDecodeError` so
the core can answer it (§9.2: Binding Error status 2). In: the frame the
switch punts (after the crypto path: ESP removed, HAO and any DSMIPv6
IPv4/UDP-4191 wrapper kept as received, RFC 5555 §4.1) -> the MH message,
the (inner) IPv6 source and destination, the Home Address option (RFC 6275
§6.3) and, for UDP 4191, the outer IPv4 source and UDP source port. Out
(`signalling_frame`): the message in the clear, framed per the core's route
(ha/actions.py) so the switch's SPD selects its SA (RFC 3776 §5.2: selectors
on the home address through RH2 or the inner IPv6 destination) and the
crypto path puts ESP after RH2 / inside the UDP wrapper: Ipv6Route ->
IPv6{HA -> CoA} RH2{HoA} MH (no RH2 at home); UdpIpv4Route -> IPv4{HA4 ->
outer} UDP{4191 -> port} IPv6{HA -> HoA} MH. The MH checksum is computed over
(HA, HoA) in both (RFC 6275 §6.1.1). The node never encrypts.
A Mobile Prefix Solicitation (ICMPv6 146, RFC 6275 §6.7) is punted and
framed like a BU (`parse_punted_solicitation`); the advertisement answering it
(`prefix_advertisement_frame`, ICMPv6 147, §6.8) goes along the same routes
with its checksum over (HA, HoA) (RFC 8200 §8.1: the final destination).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from p4mobility.ha import Ipv6Route, Route, SendMobilePrefixAdvertisement, UdpIpv4Route
from p4mobility.mh import IPPROTO_MH, MhDecodeError, decode_mh, encode_mh
from p4mobility.mh.exthdr import encode_type2_routing_header
from p4mobility.mh.extract import PacketError, find_in_ipv6
from p4mobility.nd.mobile_prefix import (ICMPV6, MobilePrefixAdvertisement, MobilePrefixError,
                                         MobilePrefixSolicitation, PrefixOption, decode_mobile_prefix,
                                         encode_mobile_prefix)
from p4mobility.runtime.frames import FrameError

ETH_P_IPV4, ETH_P_IPV6 = 0x0800, 0x86DD
IPPROTO_UDP, IPPROTO_ROUTING = 17, 43
DSMIPV6_UDP_PORT = 4191  # RFC 5555 §4.1
HOP_LIMIT = 64
_IP4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")


@dataclass(frozen=True, slots=True)
class PuntedMh:
    """One message the switch punted (a Mobility Header, or a Mobile Prefix Solicitation),
    as the core's events need it."""

    message: Any  # a decoded message, or the MhDecodeError it raised
    src: IPv6Address  # the IPv6 Source (inside UDP 4191: the inner one)
    dst: IPv6Address
    home_address_option: IPv6Address | None
    outer_v4: tuple[IPv4Address, int] | None  # (IPv4 source, UDP source port) of a UDP-4191 wrapper
    packet: bytes = b""  # the (inner) IPv6 packet as punted, for an ICMPv6 error to quote (RFC 4443 §3.4)
    mh_offset: int = 0  # where the MH starts in ``packet``

    @property
    def undecodable(self) -> bool:
        return isinstance(self.message, MhDecodeError)


def _ipv4_udp(p: bytes) -> tuple[tuple[IPv4Address, int], bytes]:
    """IPv4/UDP 4191 -> ((source, source port), inner IPv6 packet)."""
    if len(p) < 20:
        raise FrameError("IPv4 header truncated")
    vihl, _, total, _, frag, _, proto, _, src, _ = _IP4.unpack_from(p)
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20 or total < ihl + 8 or total > len(p):
        raise FrameError(f"IPv4 header length {ihl} / total length {total} / {len(p)} bytes")
    if frag & 0x3FFF:
        raise FrameError("IPv4 fragment")
    if proto != IPPROTO_UDP:
        raise FrameError(f"IPv4 protocol {proto} is not UDP")
    sport, dport, ulen, _ = _UDP.unpack_from(p, ihl)
    if dport != DSMIPV6_UDP_PORT:  # RFC 5555 §4.1: the MN sends to 4191
        raise FrameError(f"UDP destination port {dport} is not 4191")
    if ulen < 8 or ihl + ulen > total:
        raise FrameError(f"UDP length {ulen} with {total - ihl} bytes present")
    return (IPv4Address(src), sport), p[ihl + 8:ihl + ulen]


def _find(frame: bytes, want: int, what: str) -> tuple[Any, tuple[IPv4Address, int] | None, bytes]:
    """(the upper-layer header ``want``, the UDP-4191 wrapper's source, the IPv6 packet) of a
    punted Ethernet frame (IPv6, or IPv6 in IPv4/UDP 4191)."""
    if len(frame) < 14:
        raise FrameError("Ethernet header truncated")
    ethertype, ip = struct.unpack_from("!H", frame, 12)[0], frame[14:]
    outer: tuple[IPv4Address, int] | None = None
    if ethertype == ETH_P_IPV4:
        outer, ip = _ipv4_udp(ip)
    elif ethertype != ETH_P_IPV6:
        raise FrameError(f"EtherType 0x{ethertype:04x} is neither IPv6 nor IPv4")
    try:
        found = find_in_ipv6(ip, want=want)
    except PacketError as exc:
        raise FrameError(str(exc)) from None
    if found is None or found.encapsulation != "ipv6":
        raise FrameError(f"no {what} right behind the IPv6 header and its options")
    return found, outer, ip[:40 + struct.unpack_from("!H", ip, 4)[0]]


def parse_punted(frame: bytes) -> PuntedMh:
    """The MH of a punted Ethernet frame (IPv6, or IPv6 in IPv4/UDP 4191)."""
    found, outer, packet = _find(frame, IPPROTO_MH, "Mobility Header")
    try:  # RFC 6275 §6.1.1: checksum over the HoA (HAO) and the destination
        message: Any = decode_mh(found.mh, found.checksum_src, found.checksum_dst)
    except MhDecodeError as exc:  # the MH runs to the end of the IPv6 payload
        return PuntedMh(exc, found.ip_src, found.ip_dst, found.home_address, outer, packet,
                        len(packet) - len(found.mh))
    return PuntedMh(message, found.ip_src, found.ip_dst, found.home_address, outer)


def parse_punted_solicitation(frame: bytes) -> PuntedMh:
    """A punted Mobile Prefix Solicitation (RFC 6275 §6.7): IPv6{CoA -> HA} DestOpt{HAO}
    ICMPv6 146, or IPv6{HoA -> HA} ICMPv6 146 inside UDP 4191; the checksum over (HoA,
    HA). Anything else, or a bad message, raises FrameError (silently discard)."""
    found, outer, _ = _find(frame, ICMPV6, "ICMPv6 message")
    try:
        message = decode_mobile_prefix(found.mh, found.checksum_src, found.checksum_dst)
    except MobilePrefixError as exc:
        raise FrameError(f"{exc} (RFC 6275 §10.6.2: discarded)") from None
    if not isinstance(message, MobilePrefixSolicitation):
        raise FrameError("a Mobile Prefix Advertisement sent to the home agent")
    return PuntedMh(message, found.ip_src, found.ip_dst, found.home_address, outer)


# --- out ------------------------------------------------------------------------------------------

def _ipv6(src: IPv6Address, dst: IPv6Address, nh: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, HOP_LIMIT) + src.packed + dst.packed + payload


def _ipv4_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _udp4(route: UdpIpv4Route, payload: bytes) -> bytes:
    udp = _UDP.pack(route.src_port, route.dst_port, 8 + len(payload), 0) + payload  # RFC 768: 0 = no checksum
    head = bytearray(_IP4.pack(0x45, 0, 20 + len(udp), 0, 0x4000, HOP_LIMIT, IPPROTO_UDP, 0,
                               route.ipv4_src.packed, route.ipv4_dst.packed))
    struct.pack_into("!H", head, 10, _ipv4_checksum(bytes(head)))
    return bytes(head) + udp


def _routed(route: Route, nh: int, upper: bytes) -> bytes:
    """An Ethernet frame (MACs zero: the switch's routes set them) carrying ``upper`` along ``route``."""
    if isinstance(route, Ipv6Route):
        rh2 = route.type2_routing_header
        if rh2 is None:
            ip = _ipv6(route.src, route.dst, nh, upper)
        else:  # RFC 6275 §6.4: to the CoA, the home address in the Type 2 Routing Header
            ip = _ipv6(route.src, route.dst, IPPROTO_ROUTING, encode_type2_routing_header(nh, rh2) + upper)
        return bytes(12) + struct.pack("!H", ETH_P_IPV6) + ip
    inner = _ipv6(route.src, route.home_address, nh, upper)  # RFC 5555 §4.1: no RH2 inside UDP
    return bytes(12) + struct.pack("!H", ETH_P_IPV4) + _udp4(route, inner)


def signalling_frame(message: Any, route: Route) -> bytes:
    """A BA / BRR along ``route``, its MH checksum over (HA, HoA) (RFC 6275 §6.1.1)."""
    return _routed(route, IPPROTO_MH, encode_mh(message, route.src, route.home_address))


def prefix_advertisement_frame(action: SendMobilePrefixAdvertisement) -> bytes:
    """RFC 6275 §6.8, §10.6.2: ICMPv6 147 to the care-of address the solicitation came from,
    with a Type 2 Routing Header (or inside UDP 4191), its checksum over (HA, HoA)."""
    prefixes = tuple(PrefixOption(p.prefix, p.valid_lifetime, p.preferred_lifetime, p.on_link, p.autonomous,
                                  p.router_address) for p in action.prefixes)
    mpa = MobilePrefixAdvertisement(action.identifier, prefixes, action.managed, action.other)
    route = action.route
    return _routed(route, ICMPV6, encode_mobile_prefix(mpa, route.src, route.home_address))


__all__ = ["PuntedMh", "FrameError", "parse_punted", "parse_punted_solicitation", "signalling_frame",
           "prefix_advertisement_frame"]
