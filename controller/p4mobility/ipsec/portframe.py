"""Frames on the switch's crypto port: Ethernet + 10-byte crypto header + IP packet.

Rule: byte-level codec only, sans-I/O (docs/dataplane.md, "Crypto path
header"). After Ethernet (EtherType 0x88B5) come sa_index u32, direction u8,
flow u8 (the switch's hash of the packet's flow on ENCRYPT, else 0: opaque
here, echoed in the answer so the switch can still tell the flows of one
tunnel-mode SA apart, RFC 5648 placement), 7 pad bits (0) + 9-bit port,
ether_type u16 of what follows (0x86DD / 0x0800), then the packet. ``decode``
checks every length and field before use and raises ``PortFrameError`` for
anything else; ``encode_reply`` answers a request on the same port: MACs
swapped, same sa_index, flow and port echoed, direction DECRYPTED / ENCRYPTED,
ether_type from the result's IP version.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

ETHERTYPE_CRYPTO_META = 0x88B5  # IEEE 802 local experimental
ETH_LEN = 14
META_LEN = 10
HEADER_LEN = ETH_LEN + META_LEN
PORT_MASK = 0x1FF

_META = struct.Struct("!IBBHH")
_ETYPE = struct.Struct("!H")
_ETHERTYPE_BYTES = _ETYPE.pack(ETHERTYPE_CRYPTO_META)


class CryptoDirection(IntEnum):
    """``crypto_meta.direction`` (p4src/include/define.p4)."""

    DECRYPT = 1
    ENCRYPT = 2
    DECRYPTED = 3
    ENCRYPTED = 4


class EtherType(IntEnum):
    IPV4 = 0x0800
    IPV6 = 0x86DD


_IP_VERSION = {EtherType.IPV4: 4, EtherType.IPV6: 6}
_ETHERTYPE_OF_VERSION = {4: EtherType.IPV4, 6: EtherType.IPV6}
_REQUESTS = frozenset((CryptoDirection.DECRYPT, CryptoDirection.ENCRYPT))
_REPLY_OF = {CryptoDirection.DECRYPT: CryptoDirection.DECRYPTED,
             CryptoDirection.ENCRYPT: CryptoDirection.ENCRYPTED}


class PortFrameError(ValueError):
    """A frame on the crypto port that is not a valid crypto-header frame: dropped, counted."""

    action = "drop"


@dataclass(frozen=True, slots=True)
class CryptoFrame:
    """One decoded frame; ``packet`` is the IP packet after the crypto header."""

    dst_mac: bytes
    src_mac: bytes
    sa_index: int
    direction: CryptoDirection
    port: int
    ether_type: EtherType
    packet: bytes

    @property
    def is_request(self) -> bool:
        return self.direction in _REQUESTS


def is_crypto_frame(frame: bytes) -> bool:
    """EtherType 0x88B5: the frame is meant for this codec (others are ignored)."""
    return len(frame) >= ETH_LEN and frame[12:14] == _ETHERTYPE_BYTES


_VERSION_OF_ETHERTYPE = {int(k): v for k, v in _IP_VERSION.items()}


def split(frame: bytes) -> tuple[int, int, int, bytes]:
    """Fast path: (sa_index, direction, port, packet); ``PortFrameError`` if malformed."""
    if len(frame) > HEADER_LEN and frame[12:14] == _ETHERTYPE_BYTES:
        sa_index, direction, _flow, port, ether_type = _META.unpack_from(frame, ETH_LEN)
        if (0 < direction <= 4 and port <= PORT_MASK
                and _VERSION_OF_ETHERTYPE.get(ether_type) == frame[HEADER_LEN] >> 4):
            return sa_index, direction, port, frame[HEADER_LEN:]
    _explain(frame)
    raise PortFrameError("malformed crypto frame")  # not reached: _explain raises


def _explain(frame: bytes) -> None:
    """Raise the precise ``PortFrameError`` for a frame ``split`` refused."""
    if len(frame) < HEADER_LEN:
        raise PortFrameError(f"frame of {len(frame)} bytes is shorter than Ethernet + crypto header")
    if frame[12:14] != _ETHERTYPE_BYTES:
        raise PortFrameError(f"EtherType 0x{_ETYPE.unpack_from(frame, 12)[0]:04x} is not 0x88b5")
    _, direction, _flow, port_word, ether_type = _META.unpack_from(frame, ETH_LEN)
    if direction not in CryptoDirection._value2member_map_:
        raise PortFrameError(f"unknown crypto direction {direction}")
    if port_word & ~PORT_MASK:
        raise PortFrameError("pad bits are not zero")
    if ether_type not in _VERSION_OF_ETHERTYPE:
        raise PortFrameError(f"inner EtherType 0x{ether_type:04x} is neither IPv4 nor IPv6")
    if len(frame) == HEADER_LEN:
        raise PortFrameError("no packet after the crypto header (frame shorter than one IP byte)")
    raise PortFrameError("packet does not start with an IP header of the stated EtherType")


def decode(frame: bytes) -> CryptoFrame:
    """Decode and validate one frame; ``PortFrameError`` on anything malformed."""
    sa_index, direction, port, packet = split(frame)
    return CryptoFrame(frame[0:6], frame[6:12], sa_index, CryptoDirection(direction), port,
                       _ETHERTYPE_OF_VERSION[packet[0] >> 4], packet)


def encode(dst_mac: bytes, src_mac: bytes, sa_index: int, direction: CryptoDirection, port: int,
           packet: bytes) -> bytes:
    """A frame with the crypto header; ether_type from the packet's IP version."""
    if len(dst_mac) != 6 or len(src_mac) != 6:
        raise PortFrameError("MAC addresses are 6 bytes")
    if not 0 <= sa_index <= 0xFFFFFFFF or not 0 <= port <= PORT_MASK:
        raise PortFrameError("sa_index is 32 bits and port 9 bits")
    version = packet[0] >> 4 if packet else 0
    if version not in _ETHERTYPE_OF_VERSION:
        raise PortFrameError("packet is neither IPv4 nor IPv6")
    return (dst_mac + src_mac + _ETHERTYPE_BYTES
            + _META.pack(sa_index, direction, 0, port, _ETHERTYPE_OF_VERSION[version]) + packet)


def encode_reply(request: bytes, sa_index: int, port: int, reply_to: int, packet: bytes) -> bytes:
    """The answer to ``request`` (a frame ``split`` accepted): MACs swapped, flow and port
    echoed, DECRYPT -> DECRYPTED and ENCRYPT -> ENCRYPTED; ``packet`` must be IPv4 or IPv6."""
    ether_type = _ETHERTYPE_OF_VERSION.get(packet[0] >> 4) if packet else None
    if ether_type is None or reply_to not in _REPLY_OF:
        raise PortFrameError("reply must carry an IPv4/IPv6 packet and answer DECRYPT/ENCRYPT")
    return b"".join((request[6:12], request[0:6], _ETHERTYPE_BYTES,
                     _META.pack(sa_index, _REPLY_OF[reply_to], request[ETH_LEN + 5], port, ether_type), packet))


__all__ = ["CryptoDirection", "CryptoFrame", "ETHERTYPE_CRYPTO_META", "EtherType", "HEADER_LEN",
           "PortFrameError", "decode", "encode", "encode_reply", "is_crypto_frame", "split"]
