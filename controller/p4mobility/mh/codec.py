"""Mobility Header common header, checksum, and message encode/decode.

Rule: ``decode_mh`` is total: any byte string either gives a message or raises
an MhDecodeError subclass whose class attributes say what RFC 6275 §9.2 wants
done. Checks run in the RFC's order: checksum (only when both addresses are
known), Payload Proto, Header Len against the bytes present, MH Type, Header
Len against the type's fixed part, then the options.

Checksum addresses (RFC 6275 §6.1.1): the pseudo-header uses the packet's
final addresses as the upper layer sees them: if the packet carries a Home
Address destination option, pass the home address (from the option) as
``src``; if it carries a Type 2 Routing Header, pass the home address from it
as ``dst``.
"""
from __future__ import annotations

import struct
import sys
from ipaddress import IPv6Address

from .constants import IPPROTO_MH, IPPROTO_NONE, MH_MAX_LEN
from .errors import (
    MhChecksumError,
    MhDecodeError,
    MhEncodeError,
    MhHeaderLenError,
    MhPayloadProtoError,
    MhTruncatedError,
    MhUnknownTypeError,
)
from .messages import MESSAGE_CLASSES, Message
from .options_base import v6_packed
from .optlist import decode_options, encode_options

_HDR = struct.Struct("!BBBBH")
_U16 = struct.Struct("!H")
_PSEUDO_TAIL = struct.Struct("!I3xB")
_LITTLE = sys.byteorder == "little"
_ANY = IPv6Address("::")


def _ones_sum(data: bytes) -> int:
    """RFC 1071 one's-complement sum in native word order, folded to 16 bits."""
    if len(data) & 1:
        data = data + b"\x00"
    s = sum(memoryview(data).cast("H"))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def checksum(src: IPv6Address | str, dst: IPv6Address | str, mh: bytes) -> int:
    """The 16-bit one's complement of the one's-complement sum of the IPv6
    pseudo-header (RFC 8200 §8.1, next header 135) and ``mh`` as given.

    With the Checksum field zeroed this is the value to send; over a received
    message (field included) it is 0 when the checksum verifies."""
    pseudo = v6_packed(src) + v6_packed(dst) + _PSEUDO_TAIL.pack(len(mh), IPPROTO_MH)
    s = _ones_sum(pseudo + bytes(mh))
    if _LITTLE:  # RFC 1071 §2(B): byte-order independence, swap at the end
        s = ((s & 0xFF) << 8) | (s >> 8)
    return (~s) & 0xFFFF


def encode_mh(msg: Message, src: IPv6Address | str = _ANY, dst: IPv6Address | str = _ANY) -> bytes:
    """Encode ``msg`` as a complete Mobility Header with its checksum computed
    over the pseudo-header for ``src``/``dst`` (see the module docstring for
    which addresses to pass when HAO/RH2 are present)."""
    try:
        fixed = msg.encode_fixed()
        opts = encode_options(msg.options, 6 + len(fixed))
        total = 6 + len(fixed) + len(opts)
        if total > MH_MAX_LEN:
            raise ValueError(f"message is {total} bytes; the Mobility Header holds at most {MH_MAX_LEN}")
        buf = bytearray(_HDR.pack(IPPROTO_NONE, total // 8 - 1, msg.mh_type, 0, 0))
        buf += fixed
        buf += opts
        buf[4:6] = _U16.pack(checksum(src, dst, buf))
    except MhEncodeError:
        raise
    except (struct.error, ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise MhEncodeError(f"cannot encode {type(msg).__name__}: {exc}") from exc
    return bytes(buf)


def decode_mh(
    data: bytes,
    src: IPv6Address | str | None = None,
    dst: IPv6Address | str | None = None,
    *,
    verify_checksum: bool = True,
) -> Message:
    """Decode one Mobility Header message (RFC 6275 §9.2 checks).

    The checksum is verified only when ``verify_checksum`` and both ``src``
    and ``dst`` are given. Raises an MhDecodeError subclass, nothing else."""
    try:
        data = bytes(data)
    except (TypeError, ValueError) as exc:
        raise MhTruncatedError(f"not a byte string: {exc}") from None
    n = len(data)
    if n < 8:
        raise MhTruncatedError(f"{n} bytes: shorter than the smallest Mobility Header (8)")
    if verify_checksum and src is not None and dst is not None:
        try:
            bad = checksum(src, dst, data)
        except ValueError as exc:
            raise MhChecksumError(f"cannot verify the checksum: {exc}") from None
        if bad:
            raise MhChecksumError(f"checksum 0x{_U16.unpack_from(data, 4)[0]:04x} does not verify")
    proto, hlen, mh_type, _, _ = _HDR.unpack_from(data)
    if proto != IPPROTO_NONE:
        raise MhPayloadProtoError(f"Payload Proto {proto}, must be {IPPROTO_NONE} (IPPROTO_NONE)")
    total = (hlen + 1) * 8
    if n < total:
        raise MhTruncatedError(f"Header Len {hlen} announces {total} bytes, only {n} present")
    if n > total:
        raise MhHeaderLenError(f"Header Len {hlen} announces {total} bytes, {n} present")
    cls = MESSAGE_CLASSES.get(mh_type)
    if cls is None:
        raise MhUnknownTypeError(f"unrecognised MH Type {mh_type}", mh_type)
    opt_start = 6 + cls.fixed_len
    if total < opt_start:
        raise MhHeaderLenError(
            f"Header Len {hlen} ({total} bytes) is shorter than the {cls.__name__} fixed part ({opt_start})"
        )
    try:
        return cls.decode_fixed(data, decode_options(data, opt_start, total))
    except MhDecodeError:
        raise
    except (struct.error, ValueError, IndexError) as exc:  # defensive: must stay total
        raise MhDecodeError(f"malformed {cls.__name__}: {exc}") from None
