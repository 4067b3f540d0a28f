"""Packets caught in the handover window, held and then sent on: uplink at
the new MAG before the MN's binding exists, downlink at the LMA while the
binding is de-registering (SD-Fabric DBUF style).

Rule (like SD-Fabric's DBUF, on the uplink side): while a registration is in
flight on an access port, the attach punt hands the controller every frame
from the MN; `AttachBuffer` keeps the unicast IPv6 ones (at most
``max_frames`` per port, none older than ``max_age`` seconds). Once
forwarding is installed, `release` returns those whose source is in the MN's
HNPs, and `encapsulate` wraps each in the RFC 2473 tunnel header towards the
LMA (hop limit decremented once, as the switch would), ready to go out of the
uplink port. Pure: no sockets, the caller passes ``now``.
"""
from __future__ import annotations

import struct
from collections import deque
from ipaddress import IPv6Address, IPv6Network

ETH_P_IPV6 = 0x86DD
TUNNEL_HOP_LIMIT = 64
IPPROTO_IPV6 = 41


class AttachBuffer:
    def __init__(self, max_frames: int = 512, max_age: float = 2.0) -> None:
        self.max_frames = max_frames
        self.max_age = max_age
        self._frames: dict[int, deque[tuple[float, bytes]]] = {}
        self.dropped = 0

    def hold(self, port: int, frame: bytes, now: float) -> bool:
        """Keep ``frame`` if it is unicast, global IPv6 with a sane header."""
        if len(frame) < 54 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IPV6 or frame[14] >> 4 != 6:
            return False
        plen = struct.unpack_from("!H", frame, 18)[0]
        if 54 + plen > len(frame) or frame[21] <= 1:  # truncated, or hop limit would expire
            return False
        dst = IPv6Address(frame[38:54])
        if dst.is_multicast or dst.is_link_local or IPv6Address(frame[22:38]).is_link_local:
            return False
        q = self._frames.setdefault(port, deque())
        while q and (len(q) >= self.max_frames or now - q[0][0] > self.max_age):
            q.popleft()
            self.dropped += 1
        q.append((now, frame[: 54 + plen]))
        return True

    def release(self, port: int, hnps: tuple[IPv6Network, ...], now: float, by: str = "src") -> list[bytes]:
        """Frames held under ``port`` whose source (uplink) or destination
        (``by="dst"``, downlink) is in ``hnps``, oldest first; forgets the key."""
        q = self._frames.pop(port, deque())
        off = 22 if by == "src" else 38
        return [f for t, f in q if now - t <= self.max_age and any(IPv6Address(f[off:off + 16]) in n for n in hnps)]

    def forget(self, port: int) -> None:
        self._frames.pop(port, None)

    def __len__(self) -> int:
        return sum(len(q) for q in self._frames.values())


def encapsulate(frame: bytes, src: IPv6Address, dst: IPv6Address, src_mac: bytes, dst_mac: bytes) -> bytes:
    """Ethernet + outer IPv6 (RFC 2473 §3: next header 41, DSCP/ECN copied) + the inner packet."""
    inner = bytearray(frame[14:])
    inner[7] -= 1  # forwarded once by this MAG
    tc = ((inner[0] & 0x0F) << 4) | (inner[1] >> 4)
    outer = struct.pack("!IHBB", (6 << 28) | (tc << 20), len(inner), IPPROTO_IPV6, TUNNEL_HOP_LIMIT)
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + outer + src.packed + dst.packed + bytes(inner)


__all__ = ["AttachBuffer", "encapsulate"]
