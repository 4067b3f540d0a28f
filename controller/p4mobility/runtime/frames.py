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
HOP_LIMIT = 64


class FrameError(Exception):
    """A punted frame carries no decodable MH: RFC 6275 §9.2 silent discard."""

    action = "silent_discard"


class MhUndecodableFrame(FrameError):
    """The frame holds a Mobility Header that ``decode_mh`` refused: ``error`` (its class
    attributes say the RFC 6275 §9.2 action), from ``src`` to ``dst``."""

    def __init__(self, error: MhDecodeError, src: IPv6Address, dst: IPv6Address) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error, self.src, self.dst = error, src, dst


def mh_frame(message: Any, src: IPv6Address, dst: IPv6Address) -> bytes:
    mh = encode_mh(message, src, dst)
    ip = struct.pack("!IHBB", 0x60000000, len(mh), IPPROTO_MH, HOP_LIMIT) + src.packed + dst.packed
    return bytes(12) + struct.pack("!H", ETH_P_IPV6) + ip + mh


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
        raise MhUndecodableFrame(e, found.ip_src, found.ip_dst) from None
    return msg, found.ip_src, found.ip_dst


__all__ = ["FrameError", "MhUndecodableFrame", "mh_frame", "parse_mh_frame"]
