"""Binding lifetimes on the wire (RFC 6275 §6.1.7: 16 bits of 4-second units).

Rule: a lifetime a node asks for is rounded up to whole units, so a positive
request never becomes 0 (which means de-registration, RFC 6275 §11.7.2),
and capped at 0xFFFF units; a granted lifetime is never more than asked.
"""
from __future__ import annotations

import math

LIFETIME_UNIT = 4  # seconds
MAX_LIFETIME_UNITS = 0xFFFF
MAX_LIFETIME_SECONDS = MAX_LIFETIME_UNITS * LIFETIME_UNIT


def request_units(seconds: float) -> int:
    """Units to put in a BU asking for ``seconds`` (> 0 -> at least 1; 0 -> 0)."""
    if seconds <= 0:
        return 0
    return min(MAX_LIFETIME_UNITS, math.ceil(seconds / LIFETIME_UNIT))


__all__ = ["LIFETIME_UNIT", "MAX_LIFETIME_UNITS", "MAX_LIFETIME_SECONDS", "request_units"]
