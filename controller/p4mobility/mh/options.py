"""Mobility options (RFC 6275 §6.2 and extensions): one frozen dataclass each.

Rule: an option class knows its ``type_code`` and its alignment ``(x, y)``
(the Type byte must sit at offset x*n + y from the start of the MH, RFC 6275
§6.2); ``encode_data()`` gives the bytes after Type/Length and
``decode_data(data)`` takes exactly ``Length`` bytes and raises MhOptionError
for a length the type forbids. Reserved bits are sent as 0 and ignored on
receipt. Unknown types become UnknownOption so re-encoding keeps them.
Padding (Pad1/PadN) is inserted by the encoder and dropped by the decoder
(see optlist.py); it never appears in a decoded message's ``options``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from .constants import MnIdSubtype, MobOpt
from .errors import MhOptionError
from .options_base import MobilityOption, Pad1, PadN, UnknownOption, _need, v6_packed
from .options_v4 import (
    BindingIdentifier,
    GreKey,
    Ipv4AddressAcknowledgement,
    Ipv4CareofAddress,
    Ipv4DefaultRouterAddress,
    Ipv4HomeAddress,
    Ipv4HomeAddressReply,
    Ipv4HomeAddressRequest,
    NatDetection,
)

_U16 = struct.Struct("!H")
_U16U16 = struct.Struct("!HH")
_U64 = struct.Struct("!Q")
_HNP = struct.Struct("!xB16s")  # Reserved, Prefix Length, Prefix
_B_B = struct.Struct("!xB")  # Reserved, value


@dataclass(frozen=True, slots=True)
class BindingRefreshAdvice(MobilityOption):
    """RFC 6275 §6.2.4: refresh interval in units of 4 s; align 2n."""

    type_code: ClassVar[int] = MobOpt.BINDING_REFRESH_ADVICE
    alignment: ClassVar[tuple[int, int]] = (2, 0)
    refresh_interval: int

    def encode_data(self) -> bytes:
        return _U16.pack(self.refresh_interval)

    @classmethod
    def decode_data(cls, data: bytes) -> "BindingRefreshAdvice":
        _need(cls, data, 2)
        return cls(_U16.unpack(data)[0])


@dataclass(frozen=True, slots=True)
class AlternateCareofAddress(MobilityOption):
    """RFC 6275 §6.2.5: IPv6 care-of address; align 8n+6."""

    type_code: ClassVar[int] = MobOpt.ALTERNATE_COA
    alignment: ClassVar[tuple[int, int]] = (8, 6)
    address: IPv6Address

    def encode_data(self) -> bytes:
        return v6_packed(self.address)

    @classmethod
    def decode_data(cls, data: bytes) -> "AlternateCareofAddress":
        _need(cls, data, 16)
        return cls(IPv6Address(bytes(data)))


@dataclass(frozen=True, slots=True)
class NonceIndices(MobilityOption):
    """RFC 6275 §6.2.6: home and care-of nonce indices; align 2n."""

    type_code: ClassVar[int] = MobOpt.NONCE_INDICES
    alignment: ClassVar[tuple[int, int]] = (2, 0)
    home_nonce_index: int
    careof_nonce_index: int

    def encode_data(self) -> bytes:
        return _U16U16.pack(self.home_nonce_index, self.careof_nonce_index)

    @classmethod
    def decode_data(cls, data: bytes) -> "NonceIndices":
        _need(cls, data, 4)
        return cls(*_U16U16.unpack(data))


@dataclass(frozen=True, slots=True)
class BindingAuthorizationData(MobilityOption):
    """RFC 6275 §6.2.7: authenticator (96 bits for return routability); align 8n+2."""

    type_code: ClassVar[int] = MobOpt.BINDING_AUTHORIZATION_DATA
    alignment: ClassVar[tuple[int, int]] = (8, 2)
    authenticator: bytes

    def encode_data(self) -> bytes:
        return bytes(self.authenticator)

    @classmethod
    def decode_data(cls, data: bytes) -> "BindingAuthorizationData":
        return cls(bytes(data))


@dataclass(frozen=True, slots=True)
class _PrefixOption(MobilityOption):
    """Reserved(8), Prefix Length(8), Prefix(128); align 8n+4. The length of an
    IPv6 prefix is 0..128: an option with more is malformed (decode: MhOptionError,
    the message is discarded; encode: refused)."""

    alignment: ClassVar[tuple[int, int]] = (8, 4)
    prefix_length: int
    prefix: IPv6Address

    def encode_data(self) -> bytes:
        if not 0 <= self.prefix_length <= 128:
            raise ValueError(f"prefix length {self.prefix_length}: an IPv6 prefix length is 0..128")
        return _HNP.pack(self.prefix_length, v6_packed(self.prefix))

    @classmethod
    def decode_data(cls, data: bytes):
        _need(cls, data, 18)
        plen, raw = _HNP.unpack(data)
        if plen > 128:  # RFC 5213 §8.3 / RFC 3963 §4.3: the length of an IPv6 prefix
            raise MhOptionError(f"{cls.__name__} (type {cls.type_code}): Prefix Length {plen} > 128")
        return cls(plen, IPv6Address(raw))


@dataclass(frozen=True, slots=True)
class MobileNetworkPrefix(_PrefixOption):
    """RFC 3963 §4.3: a mobile network prefix (NEMO)."""

    type_code: ClassVar[int] = MobOpt.MOBILE_NETWORK_PREFIX


@dataclass(frozen=True, slots=True)
class HomeNetworkPrefix(_PrefixOption):
    """RFC 5213 §8.3: ``::/0`` in a PBU asks the LMA to assign a prefix."""

    type_code: ClassVar[int] = MobOpt.HOME_NETWORK_PREFIX


@dataclass(frozen=True, slots=True)
class MnIdentifier(MobilityOption):
    """RFC 4283 §3: Subtype(8) + identifier (subtype 1 = NAI); no alignment.
    An empty identifier (Length 1) is valid on the wire: RFC 5213 §5.3.1 has the
    LMA send it in a PBA with status 160; the LMA treats it in a PBU as no MN-ID."""

    type_code: ClassVar[int] = MobOpt.MN_IDENTIFIER
    identifier: bytes
    subtype: int = MnIdSubtype.NAI

    def encode_data(self) -> bytes:
        return bytes((self.subtype,)) + bytes(self.identifier)

    @classmethod
    def decode_data(cls, data: bytes) -> "MnIdentifier":
        if not data:
            raise MhOptionError("MnIdentifier (type 8): Length 0, no Subtype")
        return cls(bytes(data[1:]), data[0])


@dataclass(frozen=True, slots=True)
class _ByteValueOption(MobilityOption):
    """Reserved(8), value(8); no alignment."""

    value: int

    def encode_data(self) -> bytes:
        return _B_B.pack(self.value)

    @classmethod
    def decode_data(cls, data: bytes):
        _need(cls, data, 2)
        return cls(data[1])


@dataclass(frozen=True, slots=True)
class HandoffIndicatorOption(_ByteValueOption):
    """RFC 5213 §8.4: value is a HandoffIndicator."""

    type_code: ClassVar[int] = MobOpt.HANDOFF_INDICATOR


@dataclass(frozen=True, slots=True)
class AccessTechnologyTypeOption(_ByteValueOption):
    """RFC 5213 §8.5: value is an AccessTechnologyType."""

    type_code: ClassVar[int] = MobOpt.ACCESS_TECHNOLOGY_TYPE


@dataclass(frozen=True, slots=True)
class MnLinkLayerIdentifier(MobilityOption):
    """RFC 5213 §8.6: Reserved(16) + link-layer identifier. The RFC asks for an
    alignment suited to the identifier; we put the Type byte at 8n (as OAI does)
    so the identifier starts at 8n+4."""

    type_code: ClassVar[int] = MobOpt.MN_LINK_LAYER_IDENTIFIER
    alignment: ClassVar[tuple[int, int]] = (8, 0)
    identifier: bytes

    def encode_data(self) -> bytes:
        return b"\x00\x00" + bytes(self.identifier)

    @classmethod
    def decode_data(cls, data: bytes) -> "MnLinkLayerIdentifier":
        if len(data) < 2:
            raise MhOptionError(f"MnLinkLayerIdentifier (type 25): Length {len(data)} < 2")
        return cls(bytes(data[2:]))


@dataclass(frozen=True, slots=True)
class LinkLocalAddress(MobilityOption):
    """RFC 5213 §8.7: the MAG's link-local address; align 8n+6."""

    type_code: ClassVar[int] = MobOpt.LINK_LOCAL_ADDRESS
    alignment: ClassVar[tuple[int, int]] = (8, 6)
    address: IPv6Address

    def encode_data(self) -> bytes:
        return v6_packed(self.address)

    @classmethod
    def decode_data(cls, data: bytes) -> "LinkLocalAddress":
        _need(cls, data, 16)
        return cls(IPv6Address(bytes(data)))


@dataclass(frozen=True, slots=True)
class Timestamp(MobilityOption):
    """RFC 5213 §8.8: 64 bits = 48-bit seconds since 1970-01-01 UTC + 16-bit
    1/65536 s fraction (not NTP); align 8n+2. ``value`` is the raw integer."""

    type_code: ClassVar[int] = MobOpt.TIMESTAMP
    alignment: ClassVar[tuple[int, int]] = (8, 2)
    value: int

    @classmethod
    def from_seconds(cls, seconds: float) -> "Timestamp":
        return cls(int(seconds * 65536) & 0xFFFFFFFFFFFFFFFF)

    @property
    def seconds(self) -> float:
        return self.value / 65536

    def encode_data(self) -> bytes:
        return _U64.pack(self.value)

    @classmethod
    def decode_data(cls, data: bytes) -> "Timestamp":
        _need(cls, data, 8)
        return cls(_U64.unpack(data)[0])


OPTION_CLASSES: dict[int, type[MobilityOption]] = {
    cls.type_code: cls
    for cls in (
        BindingRefreshAdvice, AlternateCareofAddress, NonceIndices, BindingAuthorizationData,
        MobileNetworkPrefix, MnIdentifier, HomeNetworkPrefix, HandoffIndicatorOption,
        AccessTechnologyTypeOption, MnLinkLayerIdentifier, LinkLocalAddress, Timestamp,
        Ipv4HomeAddress, Ipv4AddressAcknowledgement, NatDetection, Ipv4CareofAddress, GreKey,
        BindingIdentifier, Ipv4HomeAddressRequest, Ipv4HomeAddressReply,
        Ipv4DefaultRouterAddress,
    )
}
"""Known option type -> class (Pad1/PadN are handled by the option-list codec)."""

__all__ = [
    "MobilityOption", "Pad1", "PadN", "UnknownOption", "OPTION_CLASSES",
    *(cls.__name__ for cls in OPTION_CLASSES.values()),
]
