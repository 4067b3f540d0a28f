"""PMIPv6 configuration: RFC 5213 §9 variables as frozen dataclasses.

Rule: every field carries the RFC 5213 §9 (or RFC 6275 §13) variable name in
snake_case, times are in seconds (the RFC states milliseconds for the LMA
timers: 10000 ms -> 10.0), and defaults are the RFC defaults. ``from_dict``
validates a plain dict (as read from TOML) and raises ``ConfigError(key,
problem)`` naming the offending key; nothing is half-built on error.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any, Mapping

from p4mobility.binding import confread
from p4mobility.binding.errors import ConfigError
from p4mobility.binding.lifetime import LIFETIME_UNIT, MAX_LIFETIME_SECONDS


ALL_ZERO = IPv6Address("::")


@dataclass(frozen=True, slots=True)
class LmaConfig:
    """Local mobility anchor variables (RFC 5213 §9.1, §9.3)."""

    lma_address: IPv6Address  # LMAA: PBA source, tunnel endpoint (RFC 5213 §2.2)
    min_delay_before_bce_delete: float = 10.0  # §9.1: 10000 ms
    max_delay_before_new_bce_assign: float = 1.5  # §9.1: 1500 ms
    timestamp_validity_window: float = 0.3  # §9.1: 300 ms
    timestamp_based_approach_in_use: bool = True  # §9.3: default 1
    mobile_node_generated_timestamp_in_use: bool = False  # §9.3 (only False supported)
    # §5.4.1.2/§5.4.1.3: MAY create a new session at once instead of waiting
    # MaxDelayBeforeNewBCEAssign when the handoff state is unknown (HI=4).
    create_new_bce_on_unknown_handoff: bool = False
    max_binding_lifetime: float = 3600.0  # RFC 6275 §10.3.1: granted <= this
    max_bindings: int = 4096  # binding ids are 1..max_bindings-1 (P4 index width)
    max_tunnel_peers: int = 1024  # tunnel peer ids are 1..max_tunnel_peers-1
    max_binding_errors_per_second: float = 10.0  # RFC 6275 §9.3.3: limited like ICMPv6 errors
    max_pbus_per_second_per_mag: int = 10000  # a flood from one source is dropped past this; 0: no limit

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LmaConfig":
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass(frozen=True, slots=True)
class MagConfig:
    """Mobile access gateway variables (RFC 5213 §9.2, §9.3; RFC 6275 §13)."""

    proxy_coa: IPv6Address  # MAG egress global address (RFC 5213 §2.2)
    lma_address: IPv6Address  # default LMAA when a profile names none
    initial_bindack_timeout_first_reg: float = 1.5  # RFC 6275 §13 (RFC 5213 §6.9.4)
    initial_bindack_timeout: float = 1.0  # RFC 6275 §12: INITIAL_BINDACK_TIMEOUT
    max_bindack_timeout: float = 32.0  # RFC 6275 §12: MAX_BINDACK_TIMEOUT
    max_pbu_retransmissions: int = 5  # retry limit before giving up
    max_update_rate: int = 3  # RFC 6275 §12: MAX_UPDATE_RATE PBUs/s per MN
    requested_lifetime: float = 3600.0  # lifetime asked for in PBUs (seconds)
    refresh_fraction: float = 0.8  # re-register at this fraction of the granted lifetime
    timestamp_based_approach_in_use: bool = True  # §9.3
    mobile_node_generated_timestamp_in_use: bool = False  # §9.3 (only False supported)
    fixed_mag_link_local_address_on_all_access_links: IPv6Address = ALL_ZERO  # §9.3
    fixed_mag_link_layer_address_on_all_access_links: bytes = b""  # §9.3 (empty = ALL_ZERO)
    enable_mag_local_routing: bool = False  # §9.2
    access_link_local_address: IPv6Address | None = None  # own LL when no fixed one
    router_lifetime: int = 1800  # RFC 4861 §6.2.1 AdvDefaultLifetime cap (s)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MagConfig":
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @property
    def own_link_local(self) -> IPv6Address:
        """The MAG's link-local address on access links (RFC 5213 §6.8)."""
        if self.fixed_mag_link_local_address_on_all_access_links != ALL_ZERO:
            return self.fixed_mag_link_local_address_on_all_access_links
        if self.access_link_local_address is not None:
            return self.access_link_local_address
        iid = int(self.proxy_coa) & ((1 << 64) - 1)
        return IPv6Address((0xFE80 << 112) | iid)


# --- validation ---------------------------------------------------------------

_POSITIVE = {
    "min_delay_before_bce_delete", "max_delay_before_new_bce_assign", "timestamp_validity_window",
    "max_binding_lifetime", "initial_bindack_timeout_first_reg", "initial_bindack_timeout",
    "max_bindack_timeout", "requested_lifetime", "max_binding_errors_per_second",
}
_COUNTS = {"max_bindings": 2, "max_tunnel_peers": 2, "max_pbu_retransmissions": 0,
           "max_update_rate": 1, "router_lifetime": 0,
           "max_pbus_per_second_per_mag": 0}


def _convert(key: str, ftype: Any, value: Any) -> Any:
    t = str(ftype)
    if "IPv6Address" in t:
        if value is None and "None" in t:
            return None
        return confread.ipv6_address(key, value)
    if t == "bool":
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true/false, got {value!r}")
        return value
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        return value
    if t == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number of seconds, got {value!r}")
        return float(value)
    if t == "bytes":
        if isinstance(value, str):
            try:
                return bytes.fromhex(value.replace(":", ""))
            except ValueError as exc:
                raise ConfigError(key, f"expected hex bytes, got {value!r}") from exc
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise ConfigError(key, f"expected hex bytes, got {value!r}")
    raise ConfigError(key, f"unsupported type {t}")  # pragma: no cover


def _from_dict(cls: type, data: Mapping[str, Any]):
    if not isinstance(data, Mapping):
        raise ConfigError("<root>", f"expected a table, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(str(key), "unknown key")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(name, "required")
            continue
        value = _convert(name, f.type, data[name])
        if name in _POSITIVE and not value > 0:
            raise ConfigError(name, f"must be > 0, got {value}")
        if name in _COUNTS and value < _COUNTS[name]:
            raise ConfigError(name, f"must be >= {_COUNTS[name]}, got {value}")
        kwargs[name] = value
    _check(cls, kwargs)
    return cls(**kwargs)


def _check(cls: type, kw: dict[str, Any]) -> None:
    if kw.get("mobile_node_generated_timestamp_in_use"):
        raise ConfigError("mobile_node_generated_timestamp_in_use", "not supported (must be false)")
    if "requested_lifetime" in kw and kw["requested_lifetime"] > MAX_LIFETIME_SECONDS:
        raise ConfigError("requested_lifetime", f"must be <= {MAX_LIFETIME_SECONDS} (16-bit, 4 s units)")
    if "max_binding_lifetime" in kw and kw["max_binding_lifetime"] > MAX_LIFETIME_SECONDS:
        raise ConfigError("max_binding_lifetime", f"must be <= {MAX_LIFETIME_SECONDS}")
    if "refresh_fraction" in kw and not 0.0 < kw["refresh_fraction"] < 1.0:
        raise ConfigError("refresh_fraction", "must be between 0 and 1")
    first = kw.get("initial_bindack_timeout_first_reg", 1.5)
    if kw.get("max_bindack_timeout", 32.0) < max(first, kw.get("initial_bindack_timeout", 1.0)):
        raise ConfigError("max_bindack_timeout", "must be >= the initial timeouts")


def _to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, IPv6Address):
            v = str(v)
        elif isinstance(v, bytes):
            v = v.hex()
        out[f.name] = v
    return out


__all__ = ["ConfigError", "LmaConfig", "MagConfig", "ALL_ZERO", "LIFETIME_UNIT", "MAX_LIFETIME_SECONDS"]
