"""IP header walking and ESP placement (RFC 4303 §3.1, RFC 8200 §4, RFC 6275 §6.3/§6.4).

Rule: IPv6 extension headers hop-by-hop, routing, fragment and destination
options are walked (length-checked before every read); ESP and AH are not
skipped. In transport mode ESP goes after that chain, so a Home Address
option and a type 2 routing header stay outside ESP (RFC 4303 §3.1.1); in
tunnel mode the whole packet is wrapped. A Home Address option gives the
source and a type 2 routing header the destination used for SA/SPD selection
(RFC 3776 §4.3). IPv4 headers are checked and their checksum recomputed.
DSMIPv6's IPv4/UDP-4191 wrapper (RFC 5555 §4.1) lies outside ESP: it is
peeled off, kept as received (the NAT-detection code needs it) and its
lengths fixed around the decrypted IPv6 packet.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from .errors import MalformedPacket


class Proto(IntEnum):
    """IP protocol / IPv6 next-header numbers (IANA)."""

    HOPOPTS = 0
    ICMP = 1
    IPIP = 4
    TCP = 6
    UDP = 17
    IPV6 = 41
    ROUTING = 43
    FRAGMENT = 44
    ESP = 50
    AH = 51
    ICMPV6 = 58
    NONE = 59
    DSTOPTS = 60
    MH = 135


OPT_HOME_ADDRESS = 201  # RFC 6275 §6.3
DSMIP_UDP_PORT = 4191  # RFC 5555 §4.1: IPv6 (and its ESP) carried in UDP over IPv4
ROUTING_TYPE_2 = 2  # RFC 6275 §6.4
_EXT = frozenset((Proto.HOPOPTS, Proto.ROUTING, Proto.FRAGMENT, Proto.DSTOPTS))
_HOP_LIMIT = 64
_PLEN_NH = struct.Struct("!HB")  # IPv6 payload length, next header
_PORTED = frozenset((Proto.TCP, Proto.UDP))
_ICMPS = frozenset((Proto.ICMP, Proto.ICMPV6))
_MH = int(Proto.MH)


@dataclass(slots=True)
class IpView:
    """What the walk found; offsets index into the original packet."""

    version: int
    src: bytes  # as selected: HoA from a Home Address option if present
    dst: bytes  # as selected: HoA from a type 2 routing header if present
    proto: int  # next header after the walked chain (ESP, MH, TCP, ...)
    start: int  # offset of that next header's data (ESP header in inbound)
    nh_offset: int  # offset of the byte announcing ``proto``
    fragment: bool  # a fragment header / IPv4 MF or offset was seen
    first_fragment: bool = True


def walk(packet: bytes) -> IpView:
    """Parse an IPv4 or IPv6 packet's headers up to the upper layer or ESP."""
    if not packet:
        raise MalformedPacket("empty packet")
    version = packet[0] >> 4
    if version == 6:
        return _walk6(packet)
    if version == 4:
        return _walk4(packet)
    raise MalformedPacket(f"IP version {version}")


def _walk4(p: bytes) -> IpView:
    if len(p) < 20:
        raise MalformedPacket("IPv4 header truncated")
    ihl = (p[0] & 0x0F) * 4
    total = int.from_bytes(p[2:4], "big")
    if ihl < 20 or total < ihl or len(p) < total:
        raise MalformedPacket("IPv4 header/total length inconsistent")
    frag = int.from_bytes(p[6:8], "big")
    fragment = bool(frag & 0x3FFF)  # MF or offset
    return IpView(4, p[12:16], p[16:20], p[9], ihl, 9, fragment, (frag & 0x1FFF) == 0)


def _walk6(p: bytes) -> IpView:
    if len(p) < 40:
        raise MalformedPacket("IPv6 header truncated")
    if len(p) < 40 + int.from_bytes(p[4:6], "big"):
        raise MalformedPacket("IPv6 payload length exceeds the packet")
    src, dst = p[8:24], p[24:40]
    nh, nh_offset, off = p[6], 6, 40
    fragment, first = False, True
    while nh in _EXT:
        if len(p) < off + 8:
            raise MalformedPacket("extension header truncated")
        if nh == Proto.FRAGMENT:
            fragment = True
            first = (int.from_bytes(p[off + 2:off + 4], "big") >> 3) == 0
            size = 8
        else:
            size = (p[off + 1] + 1) * 8
            if len(p) < off + size:
                raise MalformedPacket("extension header length exceeds the packet")
        if nh == Proto.DSTOPTS:
            hoa = _home_address_option(p, off + 2, off + size)
            if hoa is not None:
                src = hoa
        elif nh == Proto.ROUTING and p[off + 2] == ROUTING_TYPE_2:
            if size != 24 or p[off + 3] > 1:
                raise MalformedPacket("type 2 routing header malformed (RFC 6275 §6.4)")
            dst = p[off + 8:off + 24]
        nh_offset, nh = off, p[off]
        off += size
        if fragment and not first:
            break  # upper-layer header is not in this fragment
    return IpView(6, src, dst, nh, off, nh_offset, fragment, first)


def _home_address_option(p: bytes, i: int, end: int) -> bytes | None:
    while i < end:
        kind = p[i]
        if kind == 0:  # Pad1
            i += 1
            continue
        if i + 2 > end or i + 2 + p[i + 1] > end:
            raise MalformedPacket("destination option overruns its header")
        if kind == OPT_HOME_ADDRESS:
            if p[i + 1] != 16:
                raise MalformedPacket("Home Address option length != 16")
            return p[i + 2:i + 18]
        i += 2 + p[i + 1]
    return None


def upper_layer_ports(packet: bytes, view: IpView) -> tuple[int | None, int | None]:
    """The two 16-bit values after the walked chain (ports, ICMP type/code, MH)."""
    if view.fragment and not view.first_fragment:
        return None, None
    s, proto = view.start, view.proto
    if proto in _PORTED and len(packet) >= s + 4:
        return (packet[s] << 8) | packet[s + 1], (packet[s + 2] << 8) | packet[s + 3]
    if proto in _ICMPS and len(packet) >= s + 2:
        return packet[s], packet[s + 1]
    if proto == _MH and len(packet) >= s + 3:
        return packet[s + 2], None  # RFC 6275 §6.1.1: MH type at offset 2
    return None, None


def _set_lengths(header: bytearray, view_version: int, payload_len: int, nh_offset: int,
                 next_header: int) -> None:
    header[nh_offset] = next_header
    if view_version == 6:
        struct.pack_into("!H", header, 4, len(header) - 40 + payload_len)
    else:
        struct.pack_into("!H", header, 2, len(header) + payload_len)
        struct.pack_into("!H", header, 10, 0)
        struct.pack_into("!H", header, 10, ipv4_checksum(header))


def ipv4_checksum(header: bytes | bytearray) -> int:
    """RFC 791 header checksum (one's complement sum of 16-bit words)."""
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def transport_split(packet: bytes) -> tuple[IpView, bytes, bytes]:
    """Outbound transport mode: (view, headers kept outside ESP, protected payload)."""
    view = walk(packet)
    if view.fragment:
        raise MalformedPacket("outbound fragments are made after ESP (RFC 4303 §3.3.4)")
    end = view_end(packet, view)
    return view, packet[:view.start], packet[view.start:end]


def view_end(packet: bytes, view: IpView) -> int:
    """Offset just past the IP packet (ignores link-layer trailer bytes)."""
    if view.version == 6:
        return 40 + int.from_bytes(packet[4:6], "big")
    return int.from_bytes(packet[2:4], "big")


def transport_join(view: IpView, headers: bytes, esp_or_payload: bytes, next_header: int) -> bytes:
    """Headers with ``next_header`` announced, lengths fixed, then the body."""
    if view.nh_offset == 6 and len(headers) == 40:  # bare IPv6 header: the common case
        return b"".join((headers[:4], _PLEN_NH.pack(len(esp_or_payload), next_header), headers[7:],
                         esp_or_payload))
    out = bytearray(headers)
    _set_lengths(out, view.version, len(esp_or_payload), view.nh_offset, next_header)
    return bytes(out) + esp_or_payload


def tunnel_header(src: bytes, dst: bytes, payload_len: int) -> bytes:
    """Outer IPv6 or IPv4 header for tunnel mode, next header ESP (RFC 4303 §3.1.2)."""
    if len(src) == 16:
        return struct.pack("!IHBB16s16s", 6 << 28, payload_len, Proto.ESP, _HOP_LIMIT, src, dst)
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0x4000,
                              _HOP_LIMIT, Proto.ESP, 0, src, dst))
    struct.pack_into("!H", h, 10, ipv4_checksum(h))
    return bytes(h)


def split_udp_encap(packet: bytes, view: IpView) -> tuple[bytes, bytes]:
    """IPv4/UDP(4191)/IPv6 -> (outer IPv4+UDP headers, inner IPv6 packet)."""
    udp = view.start
    if view.fragment or len(packet) < udp + 8:
        raise MalformedPacket("UDP header truncated or fragmented")
    sport, dport, length = struct.unpack_from("!HHH", packet, udp)
    if DSMIP_UDP_PORT not in (sport, dport):
        raise MalformedPacket("UDP is not DSMIPv6 (port 4191)")
    end = view_end(packet, view)
    if length != end - udp:
        raise MalformedPacket("UDP length disagrees with the IPv4 total length")
    return packet[:udp + 8], packet[udp + 8:end]


def join_udp_encap(outer: bytes, inner: bytes) -> bytes:
    """Put ``inner`` back under the kept IPv4/UDP headers, lengths and checksum fixed."""
    out = bytearray(outer)
    ihl = len(out) - 8
    struct.pack_into("!H", out, 2, len(out) + len(inner))
    struct.pack_into("!H", out, 10, 0)
    struct.pack_into("!H", out, 10, ipv4_checksum(out[:ihl]))
    # RFC 768: a zero UDP checksum over IPv4 means "not computed"
    struct.pack_into("!HH", out, ihl + 4, 8 + len(inner), 0)
    return bytes(out) + inner
