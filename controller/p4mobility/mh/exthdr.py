"""IPv6 extension headers that carry mobility addresses (RFC 6275 §6.3, §6.4).

Rule: the Home Address option (type 201) lives in a Destination Options header
at alignment 8n+6 counted from the start of that header; the encoder pads with
Pad1/PadN (RFC 8200 §4.2) and the header to 8n octets. The Type 2 Routing
Header is fixed: Hdr Ext Len 2, Routing Type 2, Segments Left 1, one home
address. Decoders check every length before reading and raise
ExtHeaderDecodeError (an MhDecodeError), nothing else.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, Iterable

from .constants import HOME_ADDRESS_OPTION_TYPE, TYPE2_ROUTING_TYPE
from .errors import ExtHeaderDecodeError, MhEncodeError
from .options_base import v6_packed
from .optlist import padding

_RH2 = struct.Struct("!BBBB4x16s")


@dataclass(frozen=True, slots=True)
class HomeAddressOption:
    """RFC 6275 §6.3: Option Type 201, Opt Data Len 16, the MN's home address."""

    option_type: ClassVar[int] = HOME_ADDRESS_OPTION_TYPE
    alignment: ClassVar[tuple[int, int]] = (8, 6)
    address: IPv6Address

    def encode_data(self) -> bytes:
        return v6_packed(self.address)


@dataclass(frozen=True, slots=True)
class UnknownDestinationOption:
    """Any other Destination Option, kept as bytes (RFC 8200 §4.2)."""

    option_type: int
    data: bytes
    alignment: ClassVar[tuple[int, int]] = (1, 0)

    def encode_data(self) -> bytes:
        return bytes(self.data)


@dataclass(frozen=True, slots=True)
class DestinationOptionsHeader:
    """A decoded Destination Options header (padding dropped)."""

    next_header: int
    options: tuple[HomeAddressOption | UnknownDestinationOption, ...] = ()

    @property
    def home_address(self) -> IPv6Address | None:
        for opt in self.options:
            if isinstance(opt, HomeAddressOption):
                return opt.address
        return None

    def encode(self) -> bytes:
        return encode_destination_options_header(self.next_header, self.options)


def encode_destination_options_header(
    next_header: int, options: Iterable[HomeAddressOption | UnknownDestinationOption]
) -> bytes:
    """Destination Options header with ``options`` aligned as RFC 6275 §6.3 /
    RFC 8200 §4.2 require; e.g. one HAO -> 24 bytes (PadN(2) before it)."""
    out = bytearray(2)
    for opt in options:
        x, y = opt.alignment
        out += padding((y - len(out)) % x)
        data = opt.encode_data()
        if len(data) > 255:
            raise MhEncodeError("destination option data longer than 255 bytes")
        out += bytes((opt.option_type, len(data))) + data
    out += padding((-len(out)) % 8)
    if len(out) > 2048:
        raise MhEncodeError("Destination Options header longer than 2048 bytes")
    out[0] = next_header
    out[1] = len(out) // 8 - 1
    return bytes(out)


def decode_destination_options_header(data: bytes) -> tuple[DestinationOptionsHeader, int]:
    """Decode a Destination Options header at the start of ``data``; returns it
    and its length in bytes."""
    if len(data) < 2:
        raise ExtHeaderDecodeError("Destination Options header: fewer than 2 bytes")
    total = (data[1] + 1) * 8
    if len(data) < total:
        raise ExtHeaderDecodeError(f"Destination Options header: {total} bytes announced, {len(data)} present")
    opts: list = []
    i = 2
    while i < total:
        t = data[i]
        if t == 0:  # Pad1
            i += 1
            continue
        if i + 2 > total or i + 2 + data[i + 1] > total:
            raise ExtHeaderDecodeError(f"destination option type {t} at offset {i} runs past the header")
        j = i + 2 + data[i + 1]
        body = bytes(data[i + 2 : j])
        if t == HOME_ADDRESS_OPTION_TYPE:
            if len(body) != 16:  # RFC 6275 §6.3: Opt Data Len 16
                raise ExtHeaderDecodeError(f"Home Address option: Opt Data Len {len(body)}, must be 16")
            opts.append(HomeAddressOption(IPv6Address(body)))
        elif t != 1:  # PadN dropped
            opts.append(UnknownDestinationOption(t, body))
        i = j
    return DestinationOptionsHeader(data[0], tuple(opts)), total


@dataclass(frozen=True, slots=True)
class Type2RoutingHeader:
    """RFC 6275 §6.4: Next Header, Hdr Ext Len 2, Routing Type 2, Segments Left 1,
    Reserved(32), Home Address. 24 bytes."""

    LENGTH: ClassVar[int] = 24
    next_header: int
    address: IPv6Address
    segments_left: int = 1

    def encode(self) -> bytes:
        try:
            return _RH2.pack(self.next_header, 2, TYPE2_ROUTING_TYPE, self.segments_left,
                             v6_packed(self.address))
        except (struct.error, ValueError) as exc:
            raise MhEncodeError(f"Type 2 Routing Header: {exc}") from None

    @classmethod
    def decode(cls, data: bytes) -> "Type2RoutingHeader":
        if len(data) < 4:
            raise ExtHeaderDecodeError("Routing header: fewer than 4 bytes")
        if data[2] != TYPE2_ROUTING_TYPE:
            raise ExtHeaderDecodeError(f"Routing Type {data[2]}, not 2")
        if data[1] != 2:  # RFC 6275 §6.4.1: Hdr Ext Len is 2
            raise ExtHeaderDecodeError(f"Type 2 Routing Header: Hdr Ext Len {data[1]}, must be 2")
        if len(data) < cls.LENGTH:
            raise ExtHeaderDecodeError(f"Type 2 Routing Header: {len(data)} bytes, need 24")
        nh, _, _, segs, addr = _RH2.unpack_from(data)
        return cls(nh, IPv6Address(addr), segs)


def encode_type2_routing_header(next_header: int, address: IPv6Address | str) -> bytes:
    return Type2RoutingHeader(next_header, IPv6Address(address)).encode()


def decode_type2_routing_header(data: bytes) -> Type2RoutingHeader:
    return Type2RoutingHeader.decode(data)
