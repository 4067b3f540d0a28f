"""Typed errors of the embedded target.

Rule: every failure the target reports is one of these classes; each carries the
P4Runtime canonical code (google.rpc.Code) it maps to as a class attribute, so
the gRPC layer never matches on strings.
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """google.rpc.Code values used by P4Runtime (P4Runtime spec §11)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14


class TargetError(Exception):
    """Base class; `code` is the P4Runtime status this error is reported as."""

    code = Code.UNKNOWN


class PipelineLoadError(TargetError):
    """Malformed or unsupported bmv2 JSON / P4Info; message is "where: what"."""

    code = Code.INVALID_ARGUMENT


class InvalidArgument(TargetError):
    code = Code.INVALID_ARGUMENT


class NotFound(TargetError):
    code = Code.NOT_FOUND


class AlreadyExists(TargetError):
    code = Code.ALREADY_EXISTS


class PermissionDenied(TargetError):
    code = Code.PERMISSION_DENIED


class FailedPrecondition(TargetError):
    code = Code.FAILED_PRECONDITION


class ResourceExhausted(TargetError):
    code = Code.RESOURCE_EXHAUSTED


class OutOfRange(TargetError):
    """An index past the end of a counter, meter or register array (spec §9.3, §9.6)."""

    code = Code.OUT_OF_RANGE


class Unimplemented(TargetError):
    code = Code.UNIMPLEMENTED


class ParserError(Exception):
    """Raised inside a generated parser; `error` is the P4 error value."""

    __slots__ = ("error",)

    def __init__(self, error: int) -> None:
        self.error = error
