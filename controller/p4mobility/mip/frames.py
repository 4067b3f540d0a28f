"""The mobile node's packets, as pure functions (no sockets, no IPsec).

Rule:
- ``bu_packet(send)``: the cleartext IPv6 packet of a SendMh. From an IPv6
  CoA: IPv6{CoA -> HA} | Destination Options{Home Address option} | MH
  (RFC 6275 §11.7.1, HAO at 8n+6, §6.3); over IPv4 or at home: IPv6{HoA ->
  HA} | MH. The MH checksum is over (HoA, HA) (§6.1.1). ESP (transport) is
  inserted by the IPsec core after the Destination Options header, then
  ``wrap_signalling`` adds the outer header of ``send.path``.
- ``wrap_signalling(path, packet)``: UDP4 -> IPv4{CoA -> HA4} | UDP{mn_port
  -> 4191} | packet (RFC 5555 §4.1); IPv6 paths and home -> unchanged.
- ``tunnel_packet(path, inner)``: data encapsulation on a tunnel path:
  IPv6 / IPv4 outer with protocol 41 (IPv6 inside) or 4 (IPv4 inside), or
  IPv4 + UDP(4191) for UDP4 (the version nibble tells what is inside).
- ``solicitation_packet(send)``: a SendPrefixSolicitation framed like a BU:
  IPv6{CoA -> HA} | Destination Options{HAO} | ICMPv6 146 (RFC 6275 §6.7), or
  IPv6{HoA -> HA} | ICMPv6 146 over IPv4; the checksum over (HoA, HA).
- ``parse_signalling(packet, home_address)``: a received cleartext packet
  (after IPsec) -> BaReceived / BrrReceived / BeReceived, a Mobile Prefix
  Advertisement (ICMPv6 147, §6.8) -> PrefixAdvertisementReceived, or None for
  other MH types. Accepted framings: IPv6 (with a Type 2 Routing Header whose
  address must be ``home_address`` with Segments Left 1, RFC 6275 §11.3.3,
  swapped into the destination), optionally inside IPv4/UDP with port 4191
  on either side (recorded as ``outer``). Every length is checked before it
  is read; malformed input raises FrameError (silently discard) or the MH
  codec's MhDecodeError (whose class attributes say the RFC action).
"""
from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from p4mobility.mh import (BindingAck, BindingError, BindingRefreshRequest, MhDecodeError, decode_mh,
                           encode_mh)
from p4mobility.mh.constants import IPPROTO_DSTOPTS, IPPROTO_MH, IPPROTO_ROUTING
from p4mobility.mh.errors import SILENT_DISCARD
from p4mobility.mh.exthdr import (HomeAddressOption, Type2RoutingHeader, decode_destination_options_header,
                                  encode_destination_options_header)

from p4mobility.nd.mobile_prefix import (ICMPV6, MobilePrefixAdvertisement, MobilePrefixError, decode_mobile_prefix,
                                         encode_mobile_prefix)

from .actions import SendMh, SendPrefixSolicitation
from .events import BaReceived, BeReceived, BrrReceived, PrefixAdvertisementReceived
from .path import DSMIPV6_UDP_PORT, Encapsulation, OuterUdp4, Path

HOP_LIMIT = 64
_IP6 = struct.Struct("!IHBB16s16s")
_IP4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_MAX_EXT = 8  # extension headers walked before giving up


class FrameError(ValueError):
    """A packet around the Mobility Header is malformed or not for us."""

    action = SILENT_DISCARD


# --- building ----------------------------------------------------------------------------

def _ipv6(src: IPv6Address, dst: IPv6Address, nh: int, payload: bytes) -> bytes:
    return _IP6.pack(6 << 28, len(payload), nh, HOP_LIMIT, src.packed, dst.packed) + payload


def _csum(data: bytes) -> int:
    if len(data) & 1:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ipv4(src: IPv4Address, dst: IPv4Address, proto: int, payload: bytes) -> bytes:
    total = 20 + len(payload)
    if total > 0xFFFF:
        raise FrameError(f"IPv4 packet of {total} bytes")
    hdr = _IP4.pack(0x45, 0, total, 0, 0x4000, HOP_LIMIT, proto, 0, src.packed, dst.packed)  # DF
    return hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:] + payload


def _udp4(src: IPv4Address, dst: IPv4Address, sport: int, dport: int, payload: bytes) -> bytes:
    length = 8 + len(payload)
    pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 17, length)
    csum = _csum(pseudo + _UDP.pack(sport, dport, length, 0) + payload) or 0xFFFF  # RFC 768
    return _ipv4(src, dst, 17, _UDP.pack(sport, dport, length, csum) + payload)


def _with_hao(send: SendMh | SendPrefixSolicitation, nh: int, upper: bytes) -> bytes:
    if send.home_address_option:  # RFC 6275 §11.7.1, §6.7
        dstopts = encode_destination_options_header(nh, [HomeAddressOption(send.home_address)])
        return _ipv6(send.ipv6_src, send.ipv6_dst, IPPROTO_DSTOPTS, dstopts + upper)
    return _ipv6(send.ipv6_src, send.ipv6_dst, nh, upper)


def bu_packet(send: SendMh) -> bytes:
    return _with_hao(send, IPPROTO_MH, encode_mh(send.message, send.checksum_src, send.checksum_dst))


def solicitation_packet(send: SendPrefixSolicitation) -> bytes:
    return _with_hao(send, ICMPV6, encode_mobile_prefix(send.message, send.checksum_src, send.checksum_dst))


def signalling_packet(send: SendMh | SendPrefixSolicitation) -> bytes:
    """The cleartext IPv6 packet of a BU or a prefix solicitation."""
    return solicitation_packet(send) if isinstance(send, SendPrefixSolicitation) else bu_packet(send)


def wrap_signalling(path: Path, packet: bytes) -> bytes:
    if path.encapsulation is Encapsulation.UDP4:  # RFC 5555 §4.1
        return _udp4(path.coa, path.ha, path.mn_port or DSMIPV6_UDP_PORT, path.ha_port or DSMIPV6_UDP_PORT,
                     packet)
    if path.encapsulation is Encapsulation.IPV4:
        raise FrameError("signalling over IPv4 always uses UDP 4191 (RFC 5555 §4.1)")
    return packet


def tunnel_packet(path: Path, inner: bytes) -> bytes:
    if not inner or inner[0] >> 4 not in (4, 6):
        raise FrameError("tunnelled packet is neither IPv4 nor IPv6")
    proto = 41 if inner[0] >> 4 == 6 else 4
    enc = path.encapsulation
    if enc is Encapsulation.IPV6:
        return _ipv6(path.coa, path.ha, proto, inner)
    if enc is Encapsulation.IPV4:
        return _ipv4(path.coa, path.ha, proto, inner)
    if enc is Encapsulation.UDP4:
        return _udp4(path.coa, path.ha, path.mn_port or DSMIPV6_UDP_PORT, path.ha_port or DSMIPV6_UDP_PORT,
                     inner)
    return inner  # at home: no tunnel


# --- parsing -----------------------------------------------------------------------------

_EVENTS = {BindingAck: BaReceived, BindingRefreshRequest: BrrReceived, BindingError: BeReceived}


def _unwrap_udp4(p: bytes) -> tuple[OuterUdp4, bytes]:
    if len(p) < 20:
        raise FrameError("IPv4 header truncated")
    vihl, _, total, _, frag, _, proto, _, src, dst = _IP4.unpack_from(p)
    ihl = (vihl & 0x0F) * 4
    if ihl < 20 or total < ihl or total > len(p):
        raise FrameError(f"IPv4 header length {ihl} / total length {total} / {len(p)} bytes")
    if frag & 0x3FFF:
        raise FrameError("IPv4 fragment: reassemble first")
    if proto != 17 or total < ihl + 8:
        raise FrameError(f"IPv4 protocol {proto}: not UDP 4191")
    sport, dport, ulen, _ = _UDP.unpack_from(p, ihl)
    if DSMIPV6_UDP_PORT not in (sport, dport):
        raise FrameError(f"UDP {sport} -> {dport}: not DSMIPv6 (4191)")
    if ulen < 8 or ihl + ulen > total:
        raise FrameError(f"UDP length {ulen} with {total - ihl} bytes present")
    return OuterUdp4(IPv4Address(src), IPv4Address(dst), sport, dport), p[ihl + 8:ihl + ulen]


def parse_signalling(packet: bytes, home_address: IPv6Address) -> (BaReceived | BrrReceived | BeReceived
                                                                    | PrefixAdvertisementReceived | None):
    p = bytes(packet)
    outer = None
    if p and p[0] >> 4 == 4:
        outer, p = _unwrap_udp4(p)
    if len(p) < 40 or p[0] >> 4 != 6:
        raise FrameError("IPv6 header truncated or wrong version")
    _, plen, nh, _, src_b, dst_b = _IP6.unpack_from(p)
    if 40 + plen > len(p):
        raise FrameError(f"IPv6 Payload Length {plen}, {len(p) - 40} bytes present")
    src, dst = IPv6Address(src_b), IPv6Address(dst_b)
    body, off = p[40:40 + plen], 0
    for _ in range(_MAX_EXT):
        if nh in (IPPROTO_MH, ICMPV6):
            break
        if nh not in (IPPROTO_ROUTING, IPPROTO_DSTOPTS):
            raise FrameError(f"next header {nh}: no Mobility Header in clear (ESP must be removed first)")
        if len(body) < off + 2:
            raise FrameError("extension header truncated")
        hlen = (body[off + 1] + 1) * 8
        if len(body) < off + hlen:
            raise FrameError("extension header runs past the packet")
        try:
            if nh == IPPROTO_ROUTING:
                rh = Type2RoutingHeader.decode(body[off:off + hlen])
                # RFC 6275 §11.3.3: Segments Left 1 and one of our home addresses, else discard
                if rh.segments_left != 1 or rh.address != home_address:
                    raise FrameError("Type 2 Routing Header not for our home address")
                dst = rh.address
            else:
                decode_destination_options_header(body[off:off + hlen])
        except MhDecodeError as exc:
            raise FrameError(str(exc)) from None
        nh, off = body[off], off + hlen
    else:
        raise FrameError("too many extension headers")
    if nh == ICMPV6:  # RFC 6275 §6.8: checksum over (HA, HoA), the final destination
        try:
            adv = decode_mobile_prefix(body[off:], src, dst)
        except MobilePrefixError as exc:
            raise FrameError(str(exc)) from None
        if not isinstance(adv, MobilePrefixAdvertisement):
            raise FrameError("a Mobile Prefix Solicitation sent to the mobile node")
        return PrefixAdvertisementReceived(adv, src, dst, outer)
    msg = decode_mh(body[off:], src, dst)  # checksum over the final addresses (RFC 6275 §6.1.1)
    event = _EVENTS.get(type(msg))
    return None if event is None else event(msg, src, dst, outer)


__all__ = ["FrameError", "bu_packet", "solicitation_packet", "signalling_packet", "wrap_signalling", "tunnel_packet",
           "parse_signalling", "HOP_LIMIT"]
