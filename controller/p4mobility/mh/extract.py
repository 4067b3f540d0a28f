"""Find Mobility Header messages inside captured frames.

Rule: walk link layer -> IPv4/IPv6 -> extension headers with every length
checked, at most MAX_DEPTH headers/encapsulations. MH is found behind IPv6
(Hop-by-Hop, Routing incl. Type 2, Destination Options incl. the Home Address
option, AH), behind IPv6-in-IPv4 (protocol 41), IPv6-in-IPv6, and behind UDP
port 4191 (RFC 5555 §4.1: IPv6 inside UDP/IPv4) or 5436 (RFC 5844: PMIPv6
signalling over an IPv4 transport network). The checksum addresses follow
RFC 6275 §6.1.1: HoA from the HAO as source, HoA from the RH2 as destination.
ESP and fragments end the walk (nothing readable behind them). Malformed
headers raise PacketError.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from .constants import DSMIPV6_UDP_PORT, IPPROTO_MH, PMIPV6_IPV4_UDP_PORT
from .errors import MhDecodeError
from .exthdr import Type2RoutingHeader, decode_destination_options_header
from .pcap import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

MAX_DEPTH = 16


class PacketError(Exception):
    """A header around the MH is malformed or truncated."""


@dataclass(frozen=True, slots=True)
class FoundMh:
    """An MH message located in a packet, with the addresses for its checksum."""

    mh: bytes
    checksum_src: IPv6Address  # HoA from the HAO, else the IPv6 Source
    checksum_dst: IPv6Address  # HoA from the RH2, else the IPv6 Destination
    ip_src: IPv6Address
    ip_dst: IPv6Address
    home_address: IPv6Address | None
    encapsulation: str  # "ipv6", "ipv6-in-ipv4", "ipv6-in-udp4191", "ipv6-in-udp5436", "ipv6-in-ipv6"
    outer_src: IPv4Address | IPv6Address | None = None
    outer_dst: IPv4Address | IPv6Address | None = None


def find_in_frame(data: bytes, linktype: int) -> FoundMh | None:
    """The MH message in a link-layer frame, or None if there is none."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            raise PacketError("Ethernet header truncated")
        etype, off = struct.unpack_from("!H", data, 12)[0], 14
        for _ in range(2):  # 802.1Q / QinQ
            if etype in (0x8100, 0x88A8):
                if len(data) < off + 4:
                    raise PacketError("VLAN tag truncated")
                etype, off = struct.unpack_from("!H", data, off + 2)[0], off + 4
        return _by_ethertype(etype, data[off:])
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            raise PacketError("Linux cooked header truncated")
        return _by_ethertype(struct.unpack_from("!H", data, 14)[0], data[16:])
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            raise PacketError("Linux cooked v2 header truncated")
        return _by_ethertype(struct.unpack_from("!H", data, 0)[0], data[20:])
    if linktype == LINKTYPE_NULL:
        if len(data) < 4:
            raise PacketError("loopback header truncated")
        fam = struct.unpack_from("<I", data)[0]
        if fam > 0xFFFF:
            fam = struct.unpack_from(">I", data)[0]
        return find_in_ip(data[4:]) if fam in (2, 10, 24, 28, 30) else None
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, 12, 14):
        return find_in_ip(data)
    raise PacketError(f"unsupported link type {linktype}")


def _by_ethertype(etype: int, payload: bytes) -> FoundMh | None:
    if etype == 0x86DD:
        return find_in_ipv6(payload)
    if etype == 0x0800:
        return find_in_ipv4(payload)
    return None


def find_in_ip(data: bytes, depth: int = 0) -> FoundMh | None:
    if not data:
        raise PacketError("empty IP packet")
    version = data[0] >> 4
    if version == 6:
        return find_in_ipv6(data, depth=depth)
    if version == 4:
        return find_in_ipv4(data, depth=depth)
    return None


def find_in_ipv4(data: bytes, depth: int = 0) -> FoundMh | None:
    if len(data) < 20 or data[0] >> 4 != 4:
        raise PacketError("IPv4 header truncated or wrong version")
    ihl = (data[0] & 0x0F) * 4
    total = struct.unpack_from("!H", data, 2)[0]
    if ihl < 20 or total < ihl or len(data) < total:
        raise PacketError(f"IPv4 header: IHL {ihl} / total length {total} / {len(data)} bytes")
    if struct.unpack_from("!H", data, 6)[0] & 0x3FFF:  # MF or offset: fragment
        return None
    proto = data[9]
    src, dst = IPv4Address(data[12:16]), IPv4Address(data[16:20])
    payload = data[ihl:total]
    if proto == 41:  # RFC 4213 / RFC 5555: IPv6-in-IPv4
        return find_in_ipv6(payload, "ipv6-in-ipv4", src, dst, depth + 1)
    if proto == 17:
        if len(payload) < 8:
            raise PacketError("UDP header truncated")
        sport, dport, ulen = struct.unpack_from("!HHH", payload)
        port = DSMIPV6_UDP_PORT if DSMIPV6_UDP_PORT in (sport, dport) else (
            PMIPV6_IPV4_UDP_PORT if PMIPV6_IPV4_UDP_PORT in (sport, dport) else None)
        if port is not None:
            if ulen < 8 or ulen > len(payload):
                raise PacketError(f"UDP length {ulen} with {len(payload)} bytes present")
            inner = payload[8:ulen]
            if inner and inner[0] >> 4 == 6:  # RFC 5555 §4.1: version nibble tells
                return find_in_ipv6(inner, f"ipv6-in-udp{port}", src, dst, depth + 1)
    return None


_EXT_LEN = {0: "hop-by-hop", 43: "routing", 60: "destination options"}


def find_in_ipv6(data: bytes, encap: str = "ipv6", outer_src=None, outer_dst=None,
                 depth: int = 0, want: int = IPPROTO_MH) -> FoundMh | None:
    """The MH (or, with ``want``, another upper-layer header such as ICMPv6 58, whose
    bytes are then in ``FoundMh.mh``) behind the IPv6 header and its extension headers."""
    if depth > MAX_DEPTH:
        raise PacketError("too many nested encapsulations")
    if len(data) < 40 or data[0] >> 4 != 6:
        raise PacketError("IPv6 header truncated or wrong version")
    plen = struct.unpack_from("!H", data, 4)[0]
    if len(data) < 40 + plen:
        raise PacketError(f"IPv6 Payload Length {plen}, {len(data) - 40} bytes present")
    nh = data[6]
    src, dst = IPv6Address(data[8:24]), IPv6Address(data[24:40])
    payload = data[40 : 40 + plen]
    hoa = rh2 = None
    off = 0
    for _ in range(MAX_DEPTH):
        if nh == want:
            return FoundMh(payload[off:], hoa or src, rh2 or dst, src, dst, hoa, encap, outer_src, outer_dst)
        if nh in _EXT_LEN:
            if len(payload) < off + 2:
                raise PacketError(f"{_EXT_LEN[nh]} header truncated")
            hlen = (payload[off + 1] + 1) * 8
            if len(payload) < off + hlen:
                raise PacketError(f"{_EXT_LEN[nh]} header: {hlen} bytes announced")
            try:
                if nh == 60:
                    hdr, _ = decode_destination_options_header(payload[off : off + hlen])
                    hoa = hdr.home_address or hoa
                elif nh == 43 and payload[off + 2] == 2:
                    rh2 = Type2RoutingHeader.decode(payload[off : off + hlen]).address
            except MhDecodeError as exc:
                raise PacketError(str(exc)) from None
            nh, off = payload[off], off + hlen
        elif nh == 51:  # AH: length in 4-octet units minus 2
            if len(payload) < off + 2:
                raise PacketError("AH truncated")
            nh, off = payload[off], off + (payload[off + 1] + 2) * 4
            if off > len(payload):
                raise PacketError("AH runs past the packet")
        elif nh == 41:
            return find_in_ipv6(payload[off:], "ipv6-in-ipv6", src, dst, depth + 1, want)
        else:  # ESP (50), fragment (44), transport protocols: no readable MH
            return None
    raise PacketError("too many extension headers")
