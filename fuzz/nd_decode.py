"""Target nd_decode: Neighbor Discovery frames (nd/messages.py) and Mobile Prefix
messages (nd/mobile_prefix.py).

Oracle: ``decode_frame`` raises only NdDecodeError and accepts only what RFC 4861
§6.1.1 / §7.1.1 lets through (ICMP length >= 8 for an RS and >= 24 for an NS; an
RS or NS from the unspecified address carries no source link-layer option and an
NS from it goes to a solicited-node address); ``decode_mobile_prefix`` raises
only MobilePrefixError and what it accepts re-encodes to the same message.
The harness sets the ICMPv6 checksum right on most inputs (first byte not 0xFF)
so the checks behind it are reached.
"""
from __future__ import annotations

import struct
from ipaddress import IPv6Address

MAX_LEN = 2048
INSTRUMENT = ("p4mobility.nd",)

SOLICITED_NODE_PREFIX = bytes.fromhex("ff02" + "00" * 9 + "01ff")  # ff02::1:ff00:0/104
SRC, DST = IPv6Address("2001:db8:1::100"), IPv6Address("2001:db8:1::1")


class RfcViolation(AssertionError):
    """A message the RFC says to discard was accepted, or a round trip changed it."""


def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def icmp6_checksum(src: bytes, dst: bytes, icmp: bytes) -> int:
    """RFC 4443 §2.3 over a message whose checksum field is zero."""
    return ~_sum16(src + dst + struct.pack("!I3xB", len(icmp), 58) + icmp) & 0xFFFF


def fix_frame_checksum(frame: bytes) -> bytes:
    """Put the right ICMPv6 checksum into an Ethernet + IPv6 + ICMPv6 frame."""
    if len(frame) < 14 + 40 + 4:
        return frame
    ip = frame[14:]
    plen = struct.unpack_from("!H", ip, 4)[0]
    icmp = bytearray(ip[40:40 + plen])
    if len(icmp) < 4:
        return frame
    icmp[2:4] = b"\0\0"
    icmp[2:4] = struct.pack("!H", icmp6_checksum(ip[8:24], ip[24:40], bytes(icmp)))
    return frame[:54] + bytes(icmp) + frame[54 + len(icmp):]


def fix_icmp_checksum(icmp: bytes, src: IPv6Address, dst: IPv6Address) -> bytes:
    if len(icmp) < 4:
        return icmp
    b = bytearray(icmp)
    b[2:4] = b"\0\0"
    b[2:4] = struct.pack("!H", icmp6_checksum(src.packed, dst.packed, bytes(b)))
    return bytes(b)


def setup():
    from p4mobility.nd import NdDecodeError, NeighborSolicitation, RouterSolicitation, decode_frame
    from p4mobility.nd.mobile_prefix import MobilePrefixError, decode_mobile_prefix, encode_mobile_prefix

    def nd(frame: bytes) -> None:
        try:
            msg = decode_frame(frame)
        except NdDecodeError:
            return
        plen = struct.unpack_from("!H", frame, 18)[0]
        src_ll = getattr(msg, "source_ll", None)
        if isinstance(msg, RouterSolicitation):
            if plen < 8:
                raise RfcViolation(f"RS with ICMP length {plen} accepted (RFC 4861 §6.1.1: >= 8)")
            if msg.src.is_unspecified and src_ll is not None:
                raise RfcViolation("RS from :: with a source link-layer option accepted")
        elif isinstance(msg, NeighborSolicitation):
            if plen < 24:
                raise RfcViolation(f"NS with ICMP length {plen} accepted (RFC 4861 §7.1.1: >= 24)")
            if msg.src.is_unspecified and (src_ll is not None or not (
                    msg.dst.packed[:13] == SOLICITED_NODE_PREFIX)):
                raise RfcViolation("NS from :: accepted with a source link-layer option or to a "
                                   "non-solicited-node destination (RFC 4861 §7.1.1)")

    def mobile_prefix(icmp: bytes) -> None:
        try:
            msg = decode_mobile_prefix(icmp, SRC, DST)
        except MobilePrefixError:
            return
        again = decode_mobile_prefix(encode_mobile_prefix(msg, SRC, DST), SRC, DST)
        if again != msg:
            raise RfcViolation(f"Mobile Prefix round trip changed {msg!r} -> {again!r}")

    def check(data: bytes) -> None:
        if not data:
            return
        sel, body = data[0], data[1:]
        fix = sel != 0xFF
        if sel & 1:
            mobile_prefix(fix_icmp_checksum(body, SRC, DST) if fix else body)
        else:
            nd(fix_frame_checksum(body) if fix else body)

    return check
