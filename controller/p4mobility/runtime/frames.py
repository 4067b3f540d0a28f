"""Frames the node adapters send and receive through the switch's CPU port.

Rule: byte-level packing only, no protocol decisions. A Mobility Header goes
out as Ethernet + IPv6 (Next Header 135, RFC 6275 §6.1) for the pipeline to
route (the routes table rewrites the MACs); a punted frame is walked with
mh.extract (every length checked) and decoded with the checksum verified over
the real addresses. Bad input raises `FrameError` with the RFC action.
"""
from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Any

from p4mobility.mh import IPPROTO_MH, MhDecodeError, decode_mh, encode_mh
from p4mobility.mh.extract import PacketError, find_in_frame
from p4mobility.mh.pcap import LINKTYPE_ETHERNET

ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
HOP_LIMIT = 64


class FrameError(Exception):
    """A punted frame carries no decodable MH: RFC 6275 §9.2 silent discard."""

    action = "silent_discard"


class MhUndecodableFrame(FrameError):
    """The frame holds a Mobility Header that ``decode_mh`` refused: ``error`` (its class
    attributes say the RFC 6275 §9.2 action), from ``src`` to ``dst``; ``packet`` the IPv6
    packet (empty when it was tunnelled) with the MH at ``mh_offset``."""

    def __init__(self, error: MhDecodeError, src: IPv6Address, dst: IPv6Address, packet: bytes = b"",
                 mh_offset: int = 0) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error, self.src, self.dst, self.packet, self.mh_offset = error, src, dst, packet, mh_offset


def mh_frame(message: Any, src: IPv6Address, dst: IPv6Address) -> bytes:
    mh = encode_mh(message, src, dst)
    ip = struct.pack("!IHBB", 0x60000000, len(mh), IPPROTO_MH, HOP_LIMIT) + src.packed + dst.packed
    return bytes(12) + struct.pack("!H", ETH_P_IPV6) + ip + mh


def icmp_parameter_problem_frame(code: int, pointer: int, invoking: bytes, src: IPv6Address,
                                 dst: IPv6Address) -> bytes:
    """Ethernet + IPv6 + ICMPv6 Parameter Problem (RFC 4443 §3.4: type 4, the pointer, the
    invoking packet), checksummed over the pseudo-header (RFC 4443 §2.3)."""
    body = struct.pack("!BBHI", 4, code, 0, pointer) + invoking
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(body), IPPROTO_ICMPV6)
    data = pseudo + body + (b"\0" if len(body) % 2 else b"")
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    body = body[:2] + struct.pack("!H", ~total & 0xFFFF) + body[4:]
    ip = struct.pack("!IHBB", 0x60000000, len(body), IPPROTO_ICMPV6, 255) + src.packed + dst.packed
    return bytes(12) + struct.pack("!H", ETH_P_IPV6) + ip + body


def _ipv6_packet(frame: bytes, mh_len: int) -> tuple[bytes, int]:
    """(the IPv6 packet of a plain Ethernet/IPv6 frame, the offset of its last ``mh_len``
    bytes, the MH); (b"", 0) for anything else (VLAN tags, IPv4, tunnels)."""
    if len(frame) < 54 or frame[12:14] != b"\x86\xdd":
        return b"", 0
    packet = frame[14:54 + struct.unpack_from("!H", frame, 18)[0]]
    return packet, len(packet) - mh_len


def parse_mh_frame(frame: bytes) -> tuple[Any, IPv6Address, IPv6Address]:
    """(message, IPv6 source, IPv6 destination) of the MH in an Ethernet frame."""
    try:
        found = find_in_frame(frame, LINKTYPE_ETHERNET)
    except PacketError as e:
        raise FrameError(str(e)) from None
    if found is None:
        raise FrameError("no Mobility Header in the frame")
    try:
        msg = decode_mh(found.mh, found.checksum_src, found.checksum_dst)
    except MhDecodeError as e:
        packet, offset = _ipv6_packet(frame, len(found.mh)) if found.encapsulation == "ipv6" else (b"", 0)
        raise MhUndecodableFrame(e, found.ip_src, found.ip_dst, packet, offset) from None
    return msg, found.ip_src, found.ip_dst


__all__ = ["FrameError", "MhUndecodableFrame", "icmp_parameter_problem_frame", "mh_frame", "parse_mh_frame"]
