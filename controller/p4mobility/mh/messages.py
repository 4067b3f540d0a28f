"""Mobility Header messages (RFC 6275 §6.1, RFC 5213 §8.1-8.2): one frozen
dataclass per MH Type.

Rule: a message holds the fields after the 6-byte common header, exactly as on
the wire (lifetimes in 4-second units, flags as booleans, unassigned flag bits
in ``other_flags`` so re-encoding is faithful) plus ``options``, a tuple of
mobility options without padding. ``encode_fixed()`` gives the fixed part that
follows the Checksum; ``decode_fixed(data, options)`` reads it from offset 6 of
a buffer whose length the caller has checked against ``fixed_len``. The common
header, checksum and option list are done by codec.py / optlist.py.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, TypeVar

from .constants import MhType
from .options_base import MobilityOption, v6_packed

_O = TypeVar("_O", bound=MobilityOption)

_RESERVED2 = b"\x00\x00"
_COOKIE = struct.Struct("!2x8s")
_TEST = struct.Struct("!H8s8s")
_BU = struct.Struct("!HHH")  # Sequence, Flags, Lifetime
_BA = struct.Struct("!BBHH")  # Status, Flags, Sequence, Lifetime
_BE = struct.Struct("!Bx16s")  # Status, Reserved, Home Address


def seconds_to_lifetime(seconds: float) -> int:
    """Seconds -> 4-second lifetime units (RFC 6275 §6.1.7), rounded down, capped at 0xFFFF."""
    return max(0, min(0xFFFF, int(seconds) // 4))


class _OptionsMixin:
    """``option(cls)`` / ``options_of(cls)`` over ``self.options``."""

    __slots__ = ()
    options: tuple[MobilityOption, ...]

    def option(self, cls: type[_O]) -> _O | None:
        for opt in self.options:
            if isinstance(opt, cls):
                return opt
        return None

    def options_of(self, cls: type[_O]) -> tuple[_O, ...]:
        return tuple(opt for opt in self.options if isinstance(opt, cls))


@dataclass(frozen=True, slots=True)
class BindingRefreshRequest(_OptionsMixin):
    """RFC 6275 §6.1.2 (type 0): Reserved(16), options."""

    mh_type: ClassVar[MhType] = MhType.BRR
    fixed_len: ClassVar[int] = 2
    options: tuple[MobilityOption, ...] = ()

    def encode_fixed(self) -> bytes:
        return _RESERVED2

    @classmethod
    def decode_fixed(cls, data: bytes, options: tuple) -> "BindingRefreshRequest":
        return cls(options)


@dataclass(frozen=True, slots=True)
class _TestInit(_OptionsMixin):
    """Reserved(16), Init Cookie(64)."""

    fixed_len: ClassVar[int] = 10
    init_cookie: bytes = bytes(8)
    options: tuple[MobilityOption, ...] = ()

    def encode_fixed(self) -> bytes:
        if len(self.init_cookie) != 8:
            raise ValueError("init_cookie must be 8 bytes")
        return _COOKIE.pack(self.init_cookie)

    @classmethod
    def decode_fixed(cls, data: bytes, options: tuple):
        return cls(_COOKIE.unpack_from(data, 6)[0], options)


@dataclass(frozen=True, slots=True)
class HomeTestInit(_TestInit):
    """RFC 6275 §6.1.3 (type 1): Reserved(16), Home Init Cookie(64)."""

    mh_type: ClassVar[MhType] = MhType.HOTI


@dataclass(frozen=True, slots=True)
class CareofTestInit(_TestInit):
    """RFC 6275 §6.1.4 (type 2): Reserved(16), Care-of Init Cookie(64)."""

    mh_type: ClassVar[MhType] = MhType.COTI


@dataclass(frozen=True, slots=True)
class _Test(_OptionsMixin):
    """Nonce Index(16), Init Cookie(64), Keygen Token(64)."""

    fixed_len: ClassVar[int] = 18
    nonce_index: int
    init_cookie: bytes = bytes(8)
    keygen_token: bytes = bytes(8)
    options: tuple[MobilityOption, ...] = ()

    def encode_fixed(self) -> bytes:
        if len(self.init_cookie) != 8 or len(self.keygen_token) != 8:
            raise ValueError("init_cookie and keygen_token must be 8 bytes")
        return _TEST.pack(self.nonce_index, self.init_cookie, self.keygen_token)

    @classmethod
    def decode_fixed(cls, data: bytes, options: tuple):
        return cls(*_TEST.unpack_from(data, 6), options)


@dataclass(frozen=True, slots=True)
class HomeTest(_Test):
    """RFC 6275 §6.1.5 (type 3): Home Nonce Index(16), Home Init Cookie(64), Home Keygen Token(64)."""

    mh_type: ClassVar[MhType] = MhType.HOT


@dataclass(frozen=True, slots=True)
class CareofTest(_Test):
    """RFC 6275 §6.1.6 (type 4): Care-of Nonce Index(16), Init Cookie(64), Keygen Token(64)."""

    mh_type: ClassVar[MhType] = MhType.COT


# Binding Update flag masks on the 16-bit flags word (spec §3.2).
BU_A, BU_H, BU_L, BU_K = 0x8000, 0x4000, 0x2000, 0x1000  # RFC 6275 §6.1.7
BU_M, BU_R, BU_P, BU_F = 0x0800, 0x0400, 0x0200, 0x0100  # RFC 4140, 3963, 5213, 5555
BU_T, BU_B = 0x0080, 0x0040  # RFC 5845, 6602
BU_OTHER = 0x003F  # not decoded: kept as other_flags


@dataclass(frozen=True, slots=True)
class BindingUpdate(_OptionsMixin):
    """RFC 6275 §6.1.7 (type 5); a Proxy BU when ``proxy`` (RFC 5213 §8.1).
    ``lifetime`` is in 4-second units as on the wire; 0 = de-registration."""

    mh_type: ClassVar[MhType] = MhType.BU
    fixed_len: ClassVar[int] = 6
    sequence: int
    lifetime: int
    ack: bool = False  # A
    home_registration: bool = False  # H
    link_local_compat: bool = False  # L
    key_mgmt_compat: bool = False  # K
    mobile_router: bool = False  # R (RFC 3963)
    proxy: bool = False  # P (RFC 5213)
    force_udp: bool = False  # F (RFC 5555)
    tlv_header: bool = False  # T (RFC 5845)
    options: tuple[MobilityOption, ...] = ()
    map_registration: bool = False  # M (RFC 5380)
    bulk: bool = False  # B (RFC 6602)
    other_flags: int = 0  # bits 0x003F, unassigned here

    @property
    def lifetime_seconds(self) -> int:
        return self.lifetime * 4

    def encode_fixed(self) -> bytes:
        flags = (
            (BU_A if self.ack else 0) | (BU_H if self.home_registration else 0)
            | (BU_L if self.link_local_compat else 0) | (BU_K if self.key_mgmt_compat else 0)
            | (BU_M if self.map_registration else 0) | (BU_R if self.mobile_router else 0)
            | (BU_P if self.proxy else 0) | (BU_F if self.force_udp else 0)
            | (BU_T if self.tlv_header else 0) | (BU_B if self.bulk else 0)
            | (self.other_flags & BU_OTHER)
        )
        return _BU.pack(self.sequence, flags, self.lifetime)

    @classmethod
    def decode_fixed(cls, data: bytes, options: tuple) -> "BindingUpdate":
        seq, f, life = _BU.unpack_from(data, 6)
        return cls(
            seq, life, bool(f & BU_A), bool(f & BU_H), bool(f & BU_L), bool(f & BU_K),
            bool(f & BU_R), bool(f & BU_P), bool(f & BU_F), bool(f & BU_T), options,
            bool(f & BU_M), bool(f & BU_B), f & BU_OTHER,
        )


# Binding Acknowledgement flag masks on the 8-bit flags byte (spec §3.3).
BA_K, BA_R, BA_P, BA_T, BA_B = 0x80, 0x40, 0x20, 0x10, 0x08
BA_OTHER = 0x07


@dataclass(frozen=True, slots=True)
class BindingAck(_OptionsMixin):
    """RFC 6275 §6.1.8 (type 6); a Proxy BA when ``proxy`` (RFC 5213 §8.2).
    ``status`` is a BaStatus value; ``lifetime`` in 4-second units."""

    mh_type: ClassVar[MhType] = MhType.BA
    fixed_len: ClassVar[int] = 6
    status: int
    sequence: int
    lifetime: int
    key_mgmt_compat: bool = False  # K
    mobile_router: bool = False  # R (RFC 3963)
    proxy: bool = False  # P (RFC 5213)
    options: tuple[MobilityOption, ...] = ()
    tlv_header: bool = False  # T (RFC 5845)
    bulk: bool = False  # B (RFC 6602)
    other_flags: int = 0  # bits 0x07

    @property
    def lifetime_seconds(self) -> int:
        return self.lifetime * 4

    @property
    def accepted(self) -> bool:
        """RFC 6275 §6.1.8: status < 128 means accepted."""
        return self.status < 128

    def encode_fixed(self) -> bytes:
        flags = (
            (BA_K if self.key_mgmt_compat else 0) | (BA_R if self.mobile_router else 0)
            | (BA_P if self.proxy else 0) | (BA_T if self.tlv_header else 0)
            | (BA_B if self.bulk else 0) | (self.other_flags & BA_OTHER)
        )
        return _BA.pack(self.status, flags, self.sequence, self.lifetime)

    @classmethod
    def decode_fixed(cls, data: bytes, options: tuple) -> "BindingAck":
        status, f, seq, life = _BA.unpack_from(data, 6)
        return cls(
            status, seq, life, bool(f & BA_K), bool(f & BA_R), bool(f & BA_P), options,
            bool(f & BA_T), bool(f & BA_B), f & BA_OTHER,
        )


@dataclass(frozen=True, slots=True)
class BindingError(_OptionsMixin):
    """RFC 6275 §6.1.9 (type 7): Status(8) (a BeStatus), Reserved(8), Home Address(128)."""

    mh_type: ClassVar[MhType] = MhType.BE
    fixed_len: ClassVar[int] = 18
    status: int
    home_address: IPv6Address
    options: tuple[MobilityOption, ...] = ()

    def encode_fixed(self) -> bytes:
        return _BE.pack(self.status, v6_packed(self.home_address))

    @classmethod
    def decode_fixed(cls, data: bytes, options: tuple) -> "BindingError":
        status, hoa = _BE.unpack_from(data, 6)
        return cls(status, IPv6Address(hoa), options)


Message = (
    BindingRefreshRequest | HomeTestInit | CareofTestInit | HomeTest | CareofTest
    | BindingUpdate | BindingAck | BindingError
)

MESSAGE_CLASSES: dict[int, type] = {
    cls.mh_type: cls
    for cls in (
        BindingRefreshRequest, HomeTestInit, CareofTestInit, HomeTest, CareofTest,
        BindingUpdate, BindingAck, BindingError,
    )
}
"""MH Type -> message class; any other type is unrecognised (RFC 6275 §9.2)."""
