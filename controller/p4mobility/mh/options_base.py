"""Mobility option base class, padding and unknown options (RFC 6275 §6.2).

Rule: an option class knows its ``type_code`` and its alignment ``(x, y)``
(the Type byte must sit at offset x*n + y from the start of the MH, RFC 6275
§6.2); ``encode_data()`` gives the bytes after Type/Length and
``decode_data(data)`` takes exactly ``Length`` bytes and raises MhOptionError
for a length the type forbids.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from .constants import MobOpt
from .errors import MhOptionError

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


def v6_packed(a) -> bytes:
    """16 bytes of an IPv6Address (or of anything IPv6Address() accepts)."""
    return a.packed if type(a) is IPv6Address else IPv6Address(a).packed


def v4_packed(a) -> bytes:
    """4 bytes of an IPv4Address (or of anything IPv4Address() accepts)."""
    return a.packed if type(a) is IPv4Address else IPv4Address(a).packed


def _need(cls: type, data: bytes, *lengths: int) -> None:
    if len(data) not in lengths:
        raise MhOptionError(
            f"{cls.__name__} (type {cls.type_code}): Length {len(data)}, expected "
            + " or ".join(map(str, lengths))
        )


@dataclass(frozen=True, slots=True)
class MobilityOption:
    """Base class: subclasses set ``type_code`` and ``alignment``."""

    type_code: ClassVar[int]
    alignment: ClassVar[tuple[int, int]] = (1, 0)

    def encode_data(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def decode_data(cls, data: bytes) -> "MobilityOption":  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Pad1(MobilityOption):
    """RFC 6275 §6.2.2: a single zero byte, no Length field."""

    type_code: ClassVar[int] = MobOpt.PAD1


@dataclass(frozen=True, slots=True)
class PadN(MobilityOption):
    """RFC 6275 §6.2.3: ``length`` zero bytes of data."""

    type_code: ClassVar[int] = MobOpt.PADN
    length: int = 0

    def encode_data(self) -> bytes:
        return bytes(self.length)

    @classmethod
    def decode_data(cls, data: bytes) -> "PadN":
        return cls(len(data))


@dataclass(frozen=True, slots=True)
class UnknownOption(MobilityOption):
    """RFC 6275 §6.2.1: an option type we do not know; skipped by the receiver
    but kept here, bytes and all, so re-encoding is faithful."""

    type_code: int
    data: bytes

    def encode_data(self) -> bytes:
        return bytes(self.data)
