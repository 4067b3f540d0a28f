"""Data between the tunnel interface and the access interfaces, as pure functions.

Rule (draft-laganier-mext-dsmipv6-ipsec §3: the tunnel interface adds and
removes the outer headers; IPsec stays an unmodified RFC 4301 implementation):

- ``tunnel_protected(path, packet)``: a packet the payload SA protected in
  tunnel mode, outer IPv6 {HoA -> HA} as IPsec built it. On an IPv6 path the
  home address in the outer source is replaced by the care-of address (RFC
  3776 §3.4: IPv6{CoA -> HA} ESP{IPv6{HoA -> CN}}; the MN's mirror of
  draft-laganier requirement 1); on an IPv4 path the IPv6 packet goes inside
  IPv4 (protocol 41) or IPv4/UDP 4191 (RFC 5555 §4.1). Clear data uses
  ``frames.tunnel_packet``.
- ``decapsulate(packet, ...)``: a packet received on an access interface.
  Only the home agent tunnels to us (RFC 6275 §11.3.3): the outer source must
  be the HA's IPv6 or IPv4 address, and over UDP the source port 4191 and the
  destination port ours (RFC 5555 §4.1). The result is either ESP for IPsec
  (``esp=True``; the SPI decides BU SA or payload SA) or a clear inner packet
  for a home address (``esp=False``). ESP straight after the outer IPv6
  header without a Type 2 Routing Header is a tunnel-mode packet whose
  destination the HA turned from the HoA into the CoA (draft-laganier
  requirement 1): the HoA is put back so the SA is found by {SPI, HoA}
  (RFC 3776 §4.3); with a Type 2 Routing Header (a BA, RFC 6275 §6.4) the
  packet is left as it is. IPv4/UDP ESP is handed over whole: IPsec keeps the
  wrapper around a BA (RFC 5555 §4.1 NAT detection) and drops it for data.
  A Mobility Header in clear is never accepted (RFC 3776 §4.1), nor a
  fragment (no reassembly here). Every length is checked before it is read;
  anything else raises FrameError (silently discard, counted by the adapter).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from p4mobility.mh.constants import IPPROTO_DSTOPTS, IPPROTO_MH, IPPROTO_ROUTING

from .frames import FrameError, tunnel_packet
from .path import DSMIPV6_UDP_PORT, Encapsulation, OuterUdp4, Path

IPPROTO_IPIP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_ESP = 4, 17, 41, 50
IPPROTO_HOPOPTS, IPPROTO_FRAGMENT = 0, 44
_IP4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_MAX_EXT = 8  # extension headers walked before giving up


@dataclass(frozen=True, slots=True)
class Decapsulated:
    """What the tunnel interface got: ``packet`` for IPsec (``esp``) or for the
    home addresses (clear); ``outer`` when it came in IPv4/UDP 4191."""

    packet: bytes
    esp: bool
    outer: OuterUdp4 | None = None


# --- outbound ----------------------------------------------------------------------------

def tunnel_protected(path: Path, packet: bytes) -> bytes:
    if len(packet) < 40 or packet[0] >> 4 != 6:
        raise FrameError("a tunnel-mode ESP packet from IPsec has an IPv6 outer header")
    if path.encapsulation is Encapsulation.IPV6:  # RFC 3776 §3.4: outer source = CoA
        return packet[:8] + path.coa.packed + packet[24:]
    return tunnel_packet(path, packet)  # RFC 5555 §4.1: inside IPv4 (41) or IPv4/UDP


# --- inbound -----------------------------------------------------------------------------

def _ipv4(p: bytes) -> tuple[int, int, int, bytes, bytes]:
    """(header length, total length, protocol, src, dst) of a checked IPv4 header."""
    if len(p) < 20:
        raise FrameError("IPv4 header truncated")
    vihl, _, total, _, frag, _, proto, _, src, dst = _IP4.unpack_from(p)
    ihl = (vihl & 0x0F) * 4
    if ihl < 20 or total < ihl or total > len(p):
        raise FrameError(f"IPv4 header length {ihl} / total length {total} / {len(p)} bytes")
    if frag & 0x3FFF:
        raise FrameError("IPv4 fragment (no reassembly in the tunnel interface)")
    if _checksum(p[:ihl]) != 0:
        raise FrameError("IPv4 header checksum wrong")
    return ihl, total, proto, src, dst


def _checksum(data: bytes) -> int:
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ipv6_chain(p: bytes) -> tuple[int, bool]:
    """Next header after HbH/RH/DestOpts of an IPv6 packet, and whether a Type 2
    Routing Header was among them."""
    if len(p) < 40 or p[0] >> 4 != 6:
        raise FrameError("IPv6 header truncated or wrong version")
    plen = int.from_bytes(p[4:6], "big")
    if 40 + plen > len(p):
        raise FrameError(f"IPv6 Payload Length {plen}, {len(p) - 40} bytes present")
    nh, off, rh2 = p[6], 40, False
    for _ in range(_MAX_EXT):
        if nh not in (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS):
            return nh, rh2
        if 40 + plen < off + 8:
            raise FrameError("extension header truncated")
        size = (p[off + 1] + 1) * 8
        if 40 + plen < off + size:
            raise FrameError("extension header runs past the packet")
        rh2 |= nh == IPPROTO_ROUTING and p[off + 2] == 2
        nh, off = p[off], off + size
    raise FrameError("too many extension headers")


def _inner(inner: bytes, home: frozenset, outer: OuterUdp4 | None) -> Decapsulated:
    """A packet that was inside a tunnel header: ESP for IPsec, or clear data to a home address."""
    if not inner:
        raise FrameError("empty tunnel payload")
    if inner[0] >> 4 == 6:
        nh, _ = _ipv6_chain(inner)
        if nh == IPPROTO_ESP:
            return Decapsulated(inner, True, outer)
        if nh == IPPROTO_FRAGMENT:
            raise FrameError("IPv6 fragment (no reassembly in the tunnel interface)")
        dst = IPv6Address(inner[24:40])
        end = 40 + int.from_bytes(inner[4:6], "big")
    elif inner[0] >> 4 == 4:
        _, end, proto, _, dst_b = _ipv4(inner)
        if proto == IPPROTO_ESP:
            raise FrameError("ESP in IPv4 inside the tunnel: the SAs are IPv6 (RFC 3776)")
        dst = IPv4Address(dst_b)
    else:
        raise FrameError("tunnelled packet is neither IPv4 nor IPv6")
    if dst not in home:
        raise FrameError(f"tunnelled packet for {dst}, not a home address")
    if inner[0] >> 4 == 6 and nh == IPPROTO_MH:
        raise FrameError("Mobility Header in clear (RFC 3776 §4.1: BA/BRR/BE come in ESP)")
    return Decapsulated(inner[:end], False, outer)


def decapsulate(packet: bytes, home_agent: IPv6Address, home_agent_ipv4: IPv4Address | None,
                home_address: IPv6Address, ipv4_home_address: IPv4Address | None, mn_port: int) -> Decapsulated:
    """One packet from an access interface; FrameError when it is not ours."""
    home_addresses = frozenset(a for a in (home_address, ipv4_home_address) if a is not None)
    p = bytes(packet)
    if not p:
        raise FrameError("empty packet")
    if p[0] >> 4 == 6:
        nh, rh2 = _ipv6_chain(p)
        if IPv6Address(p[8:24]) != home_agent:  # RFC 6275 §11.3.3: tunnelled by our HA only
            raise FrameError(f"IPv6 packet from {IPv6Address(p[8:24])}, not from the home agent")
        end = 40 + int.from_bytes(p[4:6], "big")
        if nh in (IPPROTO_IPV6, IPPROTO_IPIP) and p[6] == nh:
            return _inner(p[40:end], home_addresses, None)
        if nh == IPPROTO_ESP:
            # draft-laganier req. 1 undone: the HA put the CoA where IPsec had the HoA
            return Decapsulated(p[:end] if rh2 else p[:24] + home_address.packed + p[40:end], True)
        raise FrameError(f"IPv6 next header {nh} from the home agent: not a tunnel nor ESP")
    if p[0] >> 4 != 4:
        raise FrameError(f"IP version {p[0] >> 4}")
    ihl, total, proto, src, dst = _ipv4(p)
    if home_agent_ipv4 is None or IPv4Address(src) != home_agent_ipv4:
        raise FrameError(f"IPv4 packet from {IPv4Address(src)}, not from the home agent")
    if proto in (IPPROTO_IPV6, IPPROTO_IPIP):
        return _inner(p[ihl:total], home_addresses, None)
    if proto != IPPROTO_UDP or total < ihl + 8:
        raise FrameError(f"IPv4 protocol {proto} from the home agent: not a DSMIPv6 tunnel")
    sport, dport, ulen, _ = _UDP.unpack_from(p, ihl)
    if sport != DSMIPV6_UDP_PORT or dport != mn_port:  # RFC 5555 §4.1
        raise FrameError(f"UDP {sport} -> {dport}: not from port 4191 to our port {mn_port}")
    if ulen < 8 or ihl + ulen != total:
        raise FrameError(f"UDP length {ulen} with {total - ihl} bytes present")
    outer = OuterUdp4(IPv4Address(src), IPv4Address(dst), sport, dport)
    got = _inner(p[ihl + 8:total], home_addresses, outer)
    return Decapsulated(p[:total], True, outer) if got.esp else got


__all__ = ["Decapsulated", "tunnel_protected", "decapsulate", "FrameError"]
