"""IPv6 address and prefix text, fast.

Rule: `addr_text(a)` equals `str(a)` for every IPv6Address/IPv6Network (and
passes anything else to `str`). The RFC 5952 §4 text comes from the C library's
inet_ntop, which compresses the same way ipaddress does (longest run of two or
more zero groups, the first on a tie, lower case). Addresses whose first 80
bits are zero (IPv4-compatible/-mapped forms, where inet_ntop writes dotted
quads and ipaddress may not) and scoped addresses go through `str`.
ipaddress's formatter costs ~6-8 us an address (inet_ntop ~1 us), paid
several times per registration (entries, keys, logs).
"""
from __future__ import annotations

import socket
from ipaddress import IPv6Address, IPv6Network
from typing import Any

_AF6 = socket.AF_INET6
_ZERO80 = bytes(10)


def _v6(a: IPv6Address) -> str:
    packed = a.packed
    if packed[:10] == _ZERO80 or a.scope_id:
        return str(a)
    return socket.inet_ntop(_AF6, packed)


def addr_text(v: Any) -> str:
    """``str(v)``, computed without ipaddress's formatter for IPv6 values."""
    t = type(v)
    if t is IPv6Address:
        return _v6(v)
    if t is IPv6Network:
        return f"{_v6(v.network_address)}/{v.prefixlen}"
    return str(v)


__all__ = ["addr_text"]
