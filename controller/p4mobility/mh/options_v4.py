"""IPv4 / DSMIPv6 / PMIPv6-IPv4 / GRE / MCoA mobility options.

Rule: same contract as options_base (type_code, alignment, encode_data,
decode_data); layouts from RFC 5555 §3, RFC 5844 §3, RFC 5845 §3.1 and
RFC 5648 §6.1 as collected in spec/mobility-header.md §4.3. IPv4 options are
4n aligned; the Binding Identifier 8n+2.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from .constants import MobOpt
from .errors import MhOptionError
from .options_base import _U16, _U32, MobilityOption, _need, v4_packed

_V4 = struct.Struct("!xx4s")  # Reserved(16), IPv4 address
_V4PL = struct.Struct("!BB4s")


def _check_v4_prefix_length(plen: int) -> None:
    """Encode: the 6-bit Prefix-len carries the length of an IPv4 prefix, 0..32 (RFC 5555
    §3.1.1: 32 for a single address; RFC 5844 §3.1, §3.2)."""
    if not 0 <= plen <= 32:
        raise ValueError(f"prefix length {plen}: an IPv4 prefix length is 0..32")


def _decoded_v4_prefix_length(cls: type, plen: int) -> int:
    """Decode: 33..63 fit the field but are no IPv4 prefix length: the option is malformed."""
    if plen > 32:
        raise MhOptionError(f"{cls.__name__} (type {cls.type_code}): Prefix Length {plen} > 32")
    return plen


@dataclass(frozen=True, slots=True)
class Ipv4HomeAddress(MobilityOption):
    """RFC 5555 §3.1.1: Prefix-len(6) | P(1) | Reserved(9) | IPv4 HoA; align 4n.
    0.0.0.0 asks the HA to assign an address; P=1 asks for a prefix."""

    type_code: ClassVar[int] = MobOpt.IPV4_HOME_ADDRESS
    alignment: ClassVar[tuple[int, int]] = (4, 0)
    prefix_length: int = 32
    p: bool = False
    address: IPv4Address = IPv4Address(0)

    def encode_data(self) -> bytes:
        _check_v4_prefix_length(self.prefix_length)
        return _V4PL.pack(self.prefix_length << 2 | self.p << 1, 0, v4_packed(self.address))

    @classmethod
    def decode_data(cls, data: bytes) -> "Ipv4HomeAddress":
        _need(cls, data, 6)
        b0, _, raw = _V4PL.unpack(data)
        return cls(_decoded_v4_prefix_length(cls, b0 >> 2), bool(b0 & 0x02), IPv4Address(raw))


@dataclass(frozen=True, slots=True)
class _StatusPrefixV4(MobilityOption):
    """Status(8) | Pref-len(6) Reserved(2) | IPv4 address; align 4n."""

    alignment: ClassVar[tuple[int, int]] = (4, 0)
    status: int
    prefix_length: int
    address: IPv4Address

    def encode_data(self) -> bytes:
        _check_v4_prefix_length(self.prefix_length)
        return _V4PL.pack(self.status, self.prefix_length << 2, v4_packed(self.address))

    @classmethod
    def decode_data(cls, data: bytes):
        _need(cls, data, 6)
        status, b1, raw = _V4PL.unpack(data)
        return cls(status, _decoded_v4_prefix_length(cls, b1 >> 2), IPv4Address(raw))


@dataclass(frozen=True, slots=True)
class Ipv4AddressAcknowledgement(_StatusPrefixV4):
    """RFC 5555 §3.2.1: status is an Ipv4AckStatus."""

    type_code: ClassVar[int] = MobOpt.IPV4_ADDRESS_ACKNOWLEDGEMENT


@dataclass(frozen=True, slots=True)
class Ipv4HomeAddressReply(_StatusPrefixV4):
    """RFC 5844 §3.2: PMIPv6 IPv4 HoA reply (statuses 0, 128..132)."""

    type_code: ClassVar[int] = MobOpt.IPV4_HOME_ADDRESS_REPLY


@dataclass(frozen=True, slots=True)
class Ipv4HomeAddressRequest(MobilityOption):
    """RFC 5844 §3.1: Pref-len(6) Reserved(10) | IPv4 HoA (0.0.0.0 = allocate); align 4n."""

    type_code: ClassVar[int] = MobOpt.IPV4_HOME_ADDRESS_REQUEST
    alignment: ClassVar[tuple[int, int]] = (4, 0)
    prefix_length: int = 0
    address: IPv4Address = IPv4Address(0)

    def encode_data(self) -> bytes:
        _check_v4_prefix_length(self.prefix_length)
        return _V4PL.pack(self.prefix_length << 2, 0, v4_packed(self.address))

    @classmethod
    def decode_data(cls, data: bytes) -> "Ipv4HomeAddressRequest":
        _need(cls, data, 6)
        b0, _, raw = _V4PL.unpack(data)
        return cls(_decoded_v4_prefix_length(cls, b0 >> 2), IPv4Address(raw))


@dataclass(frozen=True, slots=True)
class NatDetection(MobilityOption):
    """RFC 5555 §3.2.2: F(1) Reserved(15) | Refresh time (s); align 4n.
    Refresh time 0xFFFFFFFF = no NAT, no keepalives."""

    type_code: ClassVar[int] = MobOpt.NAT_DETECTION
    alignment: ClassVar[tuple[int, int]] = (4, 0)
    udp_encapsulation_required: bool
    refresh_time: int

    def encode_data(self) -> bytes:
        return _U16.pack(0x8000 if self.udp_encapsulation_required else 0) + _U32.pack(self.refresh_time)

    @classmethod
    def decode_data(cls, data: bytes) -> "NatDetection":
        _need(cls, data, 6)
        return cls(bool(data[0] & 0x80), _U32.unpack_from(data, 2)[0])


@dataclass(frozen=True, slots=True)
class _V4AddressOption(MobilityOption):
    alignment: ClassVar[tuple[int, int]] = (4, 0)
    address: IPv4Address

    def encode_data(self) -> bytes:
        return _V4.pack(v4_packed(self.address))

    @classmethod
    def decode_data(cls, data: bytes):
        _need(cls, data, 6)
        return cls(IPv4Address(bytes(data[2:])))


@dataclass(frozen=True, slots=True)
class Ipv4CareofAddress(_V4AddressOption):
    """RFC 5555 §3.1.2: Reserved(16) | IPv4 care-of address; align 4n."""

    type_code: ClassVar[int] = MobOpt.IPV4_CARE_OF_ADDRESS


@dataclass(frozen=True, slots=True)
class Ipv4DefaultRouterAddress(_V4AddressOption):
    """RFC 5844 §3.3: Reserved(16) | IPv4 default router; align 4n."""

    type_code: ClassVar[int] = MobOpt.IPV4_DEFAULT_ROUTER_ADDRESS


@dataclass(frozen=True, slots=True)
class GreKey(MobilityOption):
    """RFC 5845 §3.1: Reserved(16) | GRE Key Identifier(32); align 4n.
    ``key=None`` encodes the key-less form (Length 2)."""

    type_code: ClassVar[int] = MobOpt.GRE_KEY
    alignment: ClassVar[tuple[int, int]] = (4, 0)
    key: int | None

    def encode_data(self) -> bytes:
        return b"\x00\x00" if self.key is None else b"\x00\x00" + _U32.pack(self.key)

    @classmethod
    def decode_data(cls, data: bytes) -> "GreKey":
        _need(cls, data, 2, 6)
        return cls(None if len(data) == 2 else _U32.unpack_from(data, 2)[0])


_BID = struct.Struct("!HBB")


@dataclass(frozen=True, slots=True)
class BindingIdentifier(MobilityOption):
    """RFC 5648 §6.1: BID(16) | Status(8) | H(1) ... | [CoA].
    Length 4 (no CoA), 8 (IPv4 CoA) or 20 (IPv6 CoA); align 8n+2.
    ``o`` is bit 0x40 as the project API asks; Wireshark knows only H and
    RFC 6089 reuses the 7 bits after H as BID-PRI, so leave it False unless
    the peer is known to use it. A non-zero ``status`` in a BA overrides the
    BA status for this BID only."""

    type_code: ClassVar[int] = MobOpt.BINDING_IDENTIFIER
    alignment: ClassVar[tuple[int, int]] = (8, 2)
    bid: int
    status: int = 0
    h: bool = False
    o: bool = False
    coa: IPv4Address | IPv6Address | None = None

    def encode_data(self) -> bytes:
        head = _BID.pack(self.bid, self.status, (0x80 if self.h else 0) | (0x40 if self.o else 0))
        return head if self.coa is None else head + self.coa.packed

    @classmethod
    def decode_data(cls, data: bytes) -> "BindingIdentifier":
        _need(cls, data, 4, 8, 20)
        bid, status, flags = _BID.unpack_from(data)
        n = len(data)
        coa = None if n == 4 else IPv4Address(bytes(data[4:])) if n == 8 else IPv6Address(bytes(data[4:]))
        return cls(bid, status, bool(flags & 0x80), bool(flags & 0x40), coa)
