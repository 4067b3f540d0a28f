"""ICMPv6 Mobile Prefix Solicitation and Advertisement (RFC 6275 §6.7, §6.8, §7.2).

Rule: bytes of the ICMPv6 message alone (type, code, checksum, body); the IPv6
header, its Home Address option or Type 2 Routing Header and ESP are the
caller's. The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3) with the
addresses the caller passes, which are the packet's final ones (RFC 8200
§8.1): the home address as source when a Home Address option carries it
(RFC 6275 §6.3, a solicitation from a care-of address), the home address as
destination when a Type 2 Routing Header does (an advertisement to a
care-of address, §6.4). ``decode_mobile_prefix`` checks every length before
it reads and raises ``MobilePrefixError`` (class attribute ``action``:
silently discard, RFC 4443 §2.4, RFC 6275 §11.4.3) for a short message, a
code other than 0, a bad checksum, or an option of length 0 or running past
the message (RFC 4861 §4.6); a Prefix Information option whose length is
not 4 or whose prefix length exceeds 128 is discarded with the message.
Other options are skipped (RFC 4861 §4.6.2: receivers ignore unknown
options). Prefix Information carries the R flag of RFC 6275 §7.2.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import ClassVar

ICMPV6 = 58
MOBILE_PREFIX_SOLICITATION = 146  # RFC 6275 §6.7
MOBILE_PREFIX_ADVERTISEMENT = 147  # RFC 6275 §6.8
OPT_PREFIX_INFORMATION = 3  # RFC 4861 §4.6.2
SILENT_DISCARD = "silent_discard"
_HEAD = struct.Struct("!BBHHH")  # type, code, checksum, identifier, flags / reserved
_PIO = struct.Struct("!BBBBIII16s")


class MobilePrefixError(ValueError):
    """Not a valid Mobile Prefix message: RFC 4443 §2.4 / RFC 6275 §11.4.3 say discard it."""

    action: ClassVar[str] = SILENT_DISCARD


@dataclass(frozen=True, slots=True)
class PrefixOption:
    """A Prefix Information option (RFC 4861 §4.6.2) with the R flag (RFC 6275 §7.2)."""

    prefix: IPv6Network
    valid_lifetime: int
    preferred_lifetime: int
    on_link: bool = True
    autonomous: bool = True
    router_address: bool = False  # the prefix field holds a router's full address


@dataclass(frozen=True, slots=True)
class MobilePrefixSolicitation:
    """ICMPv6 type 146: ``identifier`` matches the advertisement that answers it."""

    identifier: int


@dataclass(frozen=True, slots=True)
class MobilePrefixAdvertisement:
    """ICMPv6 type 147: ``identifier`` of the solicitation it answers, M and O flags."""

    identifier: int
    prefixes: tuple[PrefixOption, ...] = ()
    managed: bool = False
    other: bool = False


def _checksum(src: IPv6Address, dst: IPv6Address, icmp: bytes) -> int:
    data = src.packed + dst.packed + struct.pack("!I3xB", len(icmp), ICMPV6) + icmp
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _prefix_option(p: PrefixOption) -> bytes:
    flags = (0x80 if p.on_link else 0) | (0x40 if p.autonomous else 0) | (0x20 if p.router_address else 0)
    # RFC 6275 §7.2: with R set the prefix field is a full address; otherwise the prefix itself
    return _PIO.pack(OPT_PREFIX_INFORMATION, 4, p.prefix.prefixlen, flags, p.valid_lifetime & 0xFFFFFFFF,
                     p.preferred_lifetime & 0xFFFFFFFF, 0, p.prefix.network_address.packed)


def encode_mobile_prefix(msg: MobilePrefixSolicitation | MobilePrefixAdvertisement, src: IPv6Address,
                         dst: IPv6Address) -> bytes:
    """The ICMPv6 message with its checksum over (``src``, ``dst``)."""
    if isinstance(msg, MobilePrefixSolicitation):
        body = bytearray(_HEAD.pack(MOBILE_PREFIX_SOLICITATION, 0, 0, msg.identifier & 0xFFFF, 0))
    elif isinstance(msg, MobilePrefixAdvertisement):
        flags = (0x8000 if msg.managed else 0) | (0x4000 if msg.other else 0)
        body = bytearray(_HEAD.pack(MOBILE_PREFIX_ADVERTISEMENT, 0, 0, msg.identifier & 0xFFFF, flags))
        for p in msg.prefixes:
            body += _prefix_option(p)
    else:
        raise TypeError(f"cannot encode {type(msg).__name__}")
    struct.pack_into("!H", body, 2, _checksum(src, dst, bytes(body)))
    return bytes(body)


def _prefixes(data: bytes) -> tuple[PrefixOption, ...]:
    out: list[PrefixOption] = []
    off = 0
    while off < len(data):
        if off + 2 > len(data):
            raise MobilePrefixError("truncated option")
        kind, length = data[off], data[off + 1] * 8
        if length == 0 or off + length > len(data):  # RFC 4861 §4.6
            raise MobilePrefixError(f"option {kind} of length {length} at offset {off}")
        if kind == OPT_PREFIX_INFORMATION:
            if length != _PIO.size:
                raise MobilePrefixError(f"Prefix Information option of {length} bytes")
            _, _, plen, flags, valid, preferred, _, prefix = _PIO.unpack_from(data, off)
            if plen > 128:
                raise MobilePrefixError(f"prefix length {plen}")
            addr = int.from_bytes(prefix, "big")
            net = IPv6Network((addr & ~((1 << (128 - plen)) - 1) if plen < 128 else addr, plen))
            out.append(PrefixOption(net, valid, preferred, bool(flags & 0x80), bool(flags & 0x40),
                                    bool(flags & 0x20)))
        off += length
    return tuple(out)


def decode_mobile_prefix(data: bytes, src: IPv6Address,
                         dst: IPv6Address) -> MobilePrefixSolicitation | MobilePrefixAdvertisement:
    """A solicitation or an advertisement, its checksum checked over (``src``, ``dst``)."""
    if len(data) < _HEAD.size:
        raise MobilePrefixError(f"{len(data)} bytes: shorter than the 8-byte ICMPv6 header")
    kind, code, _, identifier, flags = _HEAD.unpack_from(data)
    if kind not in (MOBILE_PREFIX_SOLICITATION, MOBILE_PREFIX_ADVERTISEMENT):
        raise MobilePrefixError(f"ICMPv6 type {kind} is not a Mobile Prefix message")
    if code != 0:
        raise MobilePrefixError(f"code {code} (RFC 6275 §6.7, §6.8: 0)")
    if _checksum(src, dst, bytes(data)) != 0:
        raise MobilePrefixError(f"bad ICMPv6 checksum over ({src}, {dst})")
    if kind == MOBILE_PREFIX_SOLICITATION:
        return MobilePrefixSolicitation(identifier)
    return MobilePrefixAdvertisement(identifier, _prefixes(bytes(data[_HEAD.size:])), bool(flags & 0x8000),
                                     bool(flags & 0x4000))


__all__ = ["ICMPV6", "MOBILE_PREFIX_SOLICITATION", "MOBILE_PREFIX_ADVERTISEMENT", "MobilePrefixError",
           "PrefixOption", "MobilePrefixSolicitation", "MobilePrefixAdvertisement", "encode_mobile_prefix",
           "decode_mobile_prefix"]
