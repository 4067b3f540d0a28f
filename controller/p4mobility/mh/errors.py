"""Typed Mobility Header errors.

Rule: a decode error says what the receiver must do, as class attributes taken
from RFC 6275 §9.2 (``action``, ``be_status``, ``icmp_type``/``icmp_code``/
``icmp_pointer``). Callers branch on the class or on these attributes, never on
the message text. ``icmp_pointer`` is counted from the first byte of the
Mobility Header; the adapter adds the offset of the MH inside the packet.
"""
from __future__ import annotations

from typing import ClassVar

SILENT_DISCARD = "silent_discard"
BINDING_ERROR = "binding_error"
ICMP_PARAMETER_PROBLEM = "icmp_parameter_problem"


class MhDecodeError(Exception):
    """Bytes that are not a valid Mobility Header message."""

    action: ClassVar[str] = SILENT_DISCARD
    be_status: ClassVar[int | None] = None
    icmp_type: ClassVar[int | None] = None
    icmp_code: ClassVar[int | None] = None
    icmp_pointer: ClassVar[int | None] = None


class MhTruncatedError(MhDecodeError):
    """Fewer bytes than the header or Header Len announces: drop (nothing to answer)."""


class MhChecksumError(MhDecodeError):
    """RFC 6275 §9.2: checksum does not verify -> silently discard."""


class MhPayloadProtoError(MhDecodeError):
    """RFC 6275 §9.2: Payload Proto != IPPROTO_NONE -> ICMP Parameter Problem at Payload Proto."""

    action = ICMP_PARAMETER_PROBLEM
    icmp_type = 4
    icmp_code = 0
    icmp_pointer = 0


class MhHeaderLenError(MhDecodeError):
    """RFC 6275 §9.2: Header Len too short for the type (or disagrees with the
    bytes present) -> ICMP Parameter Problem code 0 pointing at Header Len."""

    action = ICMP_PARAMETER_PROBLEM
    icmp_type = 4
    icmp_code = 0
    icmp_pointer = 1


class MhUnknownTypeError(MhDecodeError):
    """RFC 6275 §9.2: unrecognised MH Type -> Binding Error, status 2."""

    action = BINDING_ERROR
    be_status = 2

    def __init__(self, message: str, mh_type: int | None = None) -> None:
        super().__init__(message)
        self.mh_type = mh_type


class MhOptionError(MhDecodeError):
    """A mobility option runs past the message or has a length its type forbids:
    the message is malformed and is silently discarded (RFC 6275 §6.2, §9.2)."""


class ExtHeaderDecodeError(MhDecodeError):
    """Malformed Destination Options / Type 2 Routing header around an MH: drop."""


class MhEncodeError(ValueError):
    """A message or option holds a value that cannot be put on the wire."""
