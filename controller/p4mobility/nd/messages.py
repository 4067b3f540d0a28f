"""ICMPv6 Neighbor Discovery messages in Ethernet frames (RFC 4861 §4, §6, §7).

``decode_frame`` takes a whole Ethernet frame and returns a message with its
addresses, or raises ``NdDecodeError`` (the RFC 4861 validity checks: hop
limit 255, ICMP code 0, length, checksum); it never raises anything else.
``encode_frame`` builds the frame a MAG sends.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

ETH_P_IPV6 = 0x86DD
ICMPV6 = 58
RS, RA, NS, NA = 133, 134, 135, 136
OPT_SOURCE_LL, OPT_TARGET_LL, OPT_PREFIX_INFO, OPT_MTU = 1, 2, 3, 5
ALL_NODES = IPv6Address("ff02::1")
ALL_ROUTERS = IPv6Address("ff02::2")
_SOLICITED_NODE_PREFIX = bytes.fromhex("ff02" + "00" * 9 + "01ff")  # ff02::1:ff00:0/104 (RFC 4291 §2.7.1)


class NdDecodeError(Exception):
    """Not a valid ND message: RFC 4861 says silently discard."""

    action = "silent_discard"


@dataclass(frozen=True, slots=True)
class PrefixInformation:
    """RFC 4861 §4.6.2; the HNP advertised to the MN (RFC 5213 §6.7)."""

    prefix: IPv6Network
    valid_lifetime: int
    preferred_lifetime: int
    on_link: bool = True
    autonomous: bool = True


@dataclass(frozen=True, slots=True)
class RouterSolicitation:
    src_mac: bytes
    src: IPv6Address
    dst: IPv6Address
    source_ll: bytes | None = None


@dataclass(frozen=True, slots=True)
class RouterAdvertisement:
    """RFC 4861 §4.2. ``router_lifetime`` 0 tells the MN we are no default router."""

    router_lifetime: int
    prefixes: tuple[PrefixInformation, ...] = ()
    cur_hop_limit: int = 64
    managed: bool = False
    other: bool = False
    reachable_time: int = 0
    retrans_timer: int = 0
    source_ll: bytes | None = None
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class NeighborSolicitation:
    src_mac: bytes
    src: IPv6Address
    dst: IPv6Address
    target: IPv6Address
    source_ll: bytes | None = None


@dataclass(frozen=True, slots=True)
class NeighborAdvertisement:
    """RFC 4861 §4.4."""

    target: IPv6Address
    target_ll: bytes | None = None
    router: bool = True
    solicited: bool = True
    override: bool = True


def link_local_from_mac(mac: bytes) -> IPv6Address:
    """Modified EUI-64 link-local address (RFC 4291 App. A)."""
    eui = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return IPv6Address(b"\xfe\x80" + bytes(6) + eui)


def solicited_node(addr: IPv6Address) -> IPv6Address:
    """RFC 4291 §2.7.1."""
    return IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + addr.packed[13:])


def all_nodes_mac(group: IPv6Address = ALL_NODES) -> bytes:
    """RFC 2464 §7: 33:33 + low 32 bits of the group."""
    return b"\x33\x33" + group.packed[12:]


def _checksum(src: IPv6Address, dst: IPv6Address, icmp: bytes) -> int:
    data = src.packed + dst.packed + struct.pack("!I3xB", len(icmp), ICMPV6) + icmp
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ll_option(kind: int, mac: bytes) -> bytes:
    return struct.pack("!BB", kind, 1) + mac


def _encode_icmp(msg: object) -> bytes:
    if isinstance(msg, RouterAdvertisement):
        flags = (0x80 if msg.managed else 0) | (0x40 if msg.other else 0)
        body = struct.pack("!BBHBBHII", RA, 0, 0, msg.cur_hop_limit, flags, msg.router_lifetime,
                           msg.reachable_time, msg.retrans_timer)
        if msg.source_ll:
            body += _ll_option(OPT_SOURCE_LL, msg.source_ll)
        if msg.mtu:
            body += struct.pack("!BBHI", OPT_MTU, 1, 0, msg.mtu)
        for p in msg.prefixes:
            pflags = (0x80 if p.on_link else 0) | (0x40 if p.autonomous else 0)
            body += struct.pack("!BBBBIII", OPT_PREFIX_INFO, 4, p.prefix.prefixlen, pflags,
                                p.valid_lifetime, p.preferred_lifetime, 0) + p.prefix.network_address.packed
        return body
    if isinstance(msg, NeighborAdvertisement):
        flags = (0x80 if msg.router else 0) | (0x40 if msg.solicited else 0) | (0x20 if msg.override else 0)
        body = struct.pack("!BBHB3x", NA, 0, 0, flags) + msg.target.packed
        if msg.target_ll:
            body += _ll_option(OPT_TARGET_LL, msg.target_ll)
        return body
    raise TypeError(f"cannot encode {type(msg).__name__}")


def encode_frame(msg: RouterAdvertisement | NeighborAdvertisement, *, src_mac: bytes, dst_mac: bytes,
                 src: IPv6Address, dst: IPv6Address) -> bytes:
    """Ethernet + IPv6 (hop limit 255, RFC 4861 §6.1.2) + ICMPv6 with its checksum."""
    icmp = bytearray(_encode_icmp(msg))
    struct.pack_into("!H", icmp, 2, _checksum(src, dst, bytes(icmp)))
    ip = struct.pack("!IHBB", 0x60000000, len(icmp), ICMPV6, 255) + src.packed + dst.packed
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + ip + bytes(icmp)


def _options(data: bytes) -> dict[int, bytes]:
    """RFC 4861 §4.6: 8-octet units; a zero length is invalid."""
    opts: dict[int, bytes] = {}
    off = 0
    while off < len(data):
        if off + 2 > len(data):
            raise NdDecodeError("truncated option")
        kind, length = data[off], data[off + 1] * 8
        if length == 0 or off + length > len(data):
            raise NdDecodeError("option with bad length")
        opts.setdefault(kind, data[off + 2: off + length])
        off += length
    return opts


def decode_frame(frame: bytes) -> RouterSolicitation | NeighborSolicitation:
    """Decode an RS or NS in an Ethernet frame, checking RFC 4861 §6.1.1 / §7.1.1."""
    if len(frame) < 14 + 40 + 8:
        raise NdDecodeError("frame too short")
    if struct.unpack_from("!H", frame, 12)[0] != ETH_P_IPV6:
        raise NdDecodeError("not IPv6")
    ip = frame[14:]
    if ip[0] >> 4 != 6:
        raise NdDecodeError("not IPv6")
    plen, nh, hlim = struct.unpack_from("!HBB", ip, 4)
    if nh != ICMPV6:
        raise NdDecodeError("not ICMPv6 (extension headers are not accepted on ND)")
    if hlim != 255:
        raise NdDecodeError("hop limit is not 255")
    if 40 + plen > len(ip):
        raise NdDecodeError("payload length beyond frame")
    src, dst = IPv6Address(ip[8:24]), IPv6Address(ip[24:40])
    icmp = ip[40:40 + plen]
    if len(icmp) < 8:  # §6.1.1 / §7.1.1: ICMP length 8 or more
        raise NdDecodeError(f"ICMP length {len(icmp)}, shorter than 8")
    kind, code = icmp[0], icmp[1]
    if code != 0:
        raise NdDecodeError("ICMP code is not 0")
    if _checksum(src, dst, icmp) != 0:
        raise NdDecodeError("bad ICMPv6 checksum")
    src_mac = frame[6:12]
    if kind == RS:
        opts = _options(icmp[8:])
        sll = opts.get(OPT_SOURCE_LL)
        if src.is_unspecified and sll is not None:
            raise NdDecodeError("RS from :: with a source link-layer option")
        return RouterSolicitation(src_mac, src, dst, sll[:6] if sll else None)
    if kind == NS:
        if len(icmp) < 24:
            raise NdDecodeError("NS too short")
        target = IPv6Address(icmp[8:24])
        if target.is_multicast:
            raise NdDecodeError("NS target is multicast")
        opts = _options(icmp[24:])
        sll = opts.get(OPT_SOURCE_LL)
        if src.is_unspecified and (sll is not None or dst.packed[:13] != _SOLICITED_NODE_PREFIX):
            raise NdDecodeError("NS from :: must go to a solicited-node address without a source "
                                "link-layer option (RFC 4861 §7.1.1)")
        return NeighborSolicitation(src_mac, src, dst, target, sll[:6] if sll else None)
    raise NdDecodeError(f"ICMPv6 type {kind} is not handled here")
