"""Checked JSON for saved core state (persistence of bindings and update lists).

Rule: saved state is read back as hostile input: every field is checked
for type, range and size, and a problem raises ``StateError`` naming the
field (``bul[3].lma_address``) before any core is built. Paths (a care-of
address and its tunnel peer) have one JSON form shared by every role.
"""
from __future__ import annotations

import math
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any, Mapping

from .tunnels import IPAddress, Path, Transport, TunnelEndpoints

MAX_ID_BYTES = 255  # MN-ID / MN-LL-ID option payloads fit one option length byte
MAX_PREFIXES = 16
MAX_PATHS = 64
MAX_SECONDS = 1e12  # absolute times and durations beyond this are corrupt


class StateError(ValueError):
    """A saved state document is unusable; ``where`` names the field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


def get_int(d: Mapping, k: str, where: str, lo: int, hi: int, none: bool = False) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise StateError(f"{where}.{k}", f"expected an integer in {lo}..{hi}, got {v!r:.60}")
    return v


def get_num(d: Mapping, k: str, where: str, none: bool = False, lo: float = -MAX_SECONDS) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not lo <= v <= MAX_SECONDS:
        raise StateError(f"{where}.{k}", f"expected a finite number, got {v!r:.60}")
    return float(v)


def get_hex(d: Mapping, k: str, where: str, none: bool = False) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    try:
        if not isinstance(v, str) or len(v) > 2 * MAX_ID_BYTES:
            raise ValueError
        b = bytes.fromhex(v)
    except ValueError:
        raise StateError(f"{where}.{k}", f"expected hex of at most {MAX_ID_BYTES} bytes") from None
    if not b and not none:
        raise StateError(f"{where}.{k}", "empty")
    return b


def get_addr(d: Mapping, k: str, where: str, none: bool = False, version: int | None = 6) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    try:
        a = ip_address(v if isinstance(v, str) else "")
    except ValueError:
        a = None
    if a is None or (version is not None and a.version != version):
        raise StateError(f"{where}.{k}", f"expected an IPv{version or ''} address, got {v!r:.60}")
    return a


def get_nets(d: Mapping, k: str, where: str, version: int | None = 6) -> tuple:
    v = d.get(k)
    if not isinstance(v, list) or len(v) > MAX_PREFIXES:
        raise StateError(f"{where}.{k}", f"expected a list of at most {MAX_PREFIXES} prefixes")
    try:
        nets = tuple(ip_network(n if isinstance(n, str) else "") for n in v)
    except ValueError:
        raise StateError(f"{where}.{k}", "not a prefix") from None
    if version is not None and any(n.version != version for n in nets):
        raise StateError(f"{where}.{k}", f"expected IPv{version} prefixes")
    return nets


def get_bool(d: Mapping, k: str, where: str) -> bool:
    v = d.get(k)
    if not isinstance(v, bool):
        raise StateError(f"{where}.{k}", "expected true or false")
    return v


def path_to_json(p: Path) -> dict[str, Any]:
    e = p.endpoints
    out: dict[str, Any] = {"bid": p.bid, "local": str(e.local), "remote": str(e.remote),
                           "transport": e.transport.value, "tunnel_peer_id": p.tunnel_peer_id}
    if e.transport is Transport.UDP_IPV4:
        out.update(local_port=e.local_port, remote_port=e.remote_port)
    return out


def path_from_json(d: Any, where: str) -> Path:
    if not isinstance(d, Mapping):
        raise StateError(where, "expected an object")
    try:
        transport = Transport(d.get("transport"))
    except ValueError:
        raise StateError(f"{where}.transport", f"unknown transport {d.get('transport')!r:.40}") from None
    local: IPAddress = get_addr(d, "local", where, version=None)
    remote: IPAddress = get_addr(d, "remote", where, version=None)
    udp = transport is Transport.UDP_IPV4
    lport = get_int(d, "local_port", where, 1, 0xFFFF) if udp else 0
    rport = get_int(d, "remote_port", where, 1, 0xFFFF) if udp else 0
    try:
        ends = TunnelEndpoints(local, remote, transport, lport, rport)
    except ValueError as exc:
        raise StateError(where, str(exc)) from None
    return Path(get_int(d, "bid", where, 0, 0xFFFF), ends, get_int(d, "tunnel_peer_id", where, 1, 2**32 - 1))


def paths_from_json(d: Mapping, k: str, where: str) -> tuple[Path, ...]:
    v = d.get(k)
    if not isinstance(v, list) or not 0 < len(v) <= MAX_PATHS:
        raise StateError(f"{where}.{k}", f"expected a list of 1..{MAX_PATHS} paths")
    paths = tuple(path_from_json(p, f"{where}.{k}[{i}]") for i, p in enumerate(v))
    if len({p.bid for p in paths}) != len(paths):
        raise StateError(f"{where}.{k}", "a BID appears twice")
    return paths


__all__ = ["StateError", "get_int", "get_num", "get_hex", "get_addr", "get_nets", "get_bool", "path_to_json",
           "path_from_json", "paths_from_json", "MAX_ID_BYTES", "MAX_SECONDS", "IPv4Address", "IPv6Address"]
