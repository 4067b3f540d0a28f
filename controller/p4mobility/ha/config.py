"""Home agent configuration (RFC 6275 §10, §13; RFC 5555; RFC 5648) as frozen dataclasses.

Rule: field names follow the RFCs' words in snake_case, times are in seconds
and defaults are the RFC defaults where one exists (NATKATIMEOUT 110 s,
RFC 5555). ``HaConfig.from_dict`` validates a plain dict (as read from TOML)
and raises ``ConfigError(key, problem)`` naming the offending key (profile
keys as ``mobile_nodes[2].home_address``); nothing is half-built on error.
An MN without a profile is served with ``DEFAULT_PROFILE``: the ESP SA bound
to its home address is its authorization (RFC 3776 §4.1), the profile only
narrows what it may ask for.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, Mapping

from p4mobility.binding import confread

LIFETIME_UNIT = 4  # RFC 6275 §6.1.7: BU/BA lifetime in units of 4 s
MAX_LIFETIME_SECONDS = 0xFFFF * LIFETIME_UNIT
NAT_KEEPALIVE_DEFAULT = 110  # RFC 5555: NATKATIMEOUT, the recommended NAT Detection refresh time
INFINITE_LIFETIME = 0xFFFFFFFF  # RFC 4861 §4.6.2: prefix lifetime "infinity"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class MnProfile:
    """What one mobile node (named by its home address) may register."""

    home_address: IPv6Address
    ipv4_home_address: IPv4Address | None = None  # static IPv4 HoA (RFC 5555 §3.1.1)
    dynamic_ipv4: bool = True  # may be given an IPv4 HoA from ``ipv4_pool`` (0.0.0.0 request)
    multiple_coa: bool = True  # may register several CoAs with BIDs (RFC 5648); else 166
    force_udp: bool = True  # its F flag is honoured (RFC 5555 §3.1.3); else NAT detection alone decides


DEFAULT_PROFILE_FIELDS = {"ipv4_home_address": None, "dynamic_ipv4": True, "multiple_coa": True, "force_udp": True}


@dataclass(frozen=True, slots=True)
class HaConfig:
    """Home agent variables."""

    ha_address: IPv6Address  # BA source, tunnel endpoint (RFC 6275 §10.4.1)
    home_prefixes: tuple[IPv6Network, ...]  # prefixes this HA serves: HoA outside -> 132 (§10.3.1)
    ha_address_v4: IPv4Address | None = None  # DSMIPv6: IPv4 tunnel / UDP 4191 endpoint (RFC 5555 §4.1)
    ipv4_pool: IPv4Network | None = None  # IPv4 HoAs assigned on a 0.0.0.0 request (RFC 5555 §3.1.1)
    max_binding_lifetime: float = 3600.0  # RFC 6275 §10.3.1: granted <= local policy maximum
    mcoa_enabled: bool = True  # RFC 5648 support; off -> BID options answered 166
    mcoa_bulk_registration: bool = True  # RFC 5648 §4.3; off -> several BID options answered 168
    max_care_of_addresses: int = 8  # BIDs one home address may hold (local policy; more -> 130)
    nat_keepalive_refresh: int = NAT_KEEPALIVE_DEFAULT  # Refresh time in the NAT Detection option (s)
    force_udp_encapsulation: bool = False  # RFC 5555 §3.2.2: HA policy, UDP even without a NAT
    binding_refresh_advice: float = 0.0  # RFC 6275 §6.2.4: interval in BAs (s); 0 = no option
    refresh_request_lead: float = 0.0  # RFC 6275 §9.5.5: BRR this long before expiry (s); 0 = never
    max_binding_errors_per_second: float = 10.0  # RFC 6275 §9.3.3: rate-limited like ICMPv6 errors
    max_bus_per_second_per_source: int = 10000  # a flood from one source is dropped past this; 0: no limit
    home_prefix_valid_lifetime: int = INFINITE_LIFETIME  # RFC 6275 §10.6.1: lifetimes in an MPA
    home_prefix_preferred_lifetime: int = INFINITE_LIFETIME
    max_bindings: int = 4096  # binding ids are 1..max_bindings-1 (P4 index width)
    max_tunnel_peers: int = 1024  # tunnel peer ids are 1..max_tunnel_peers-1
    mobile_nodes: tuple[MnProfile, ...] = ()

    def profile(self, home_address: IPv6Address) -> MnProfile:
        """The MN's profile, or the defaults for a home address without one."""
        for p in self.mobile_nodes:
            if p.home_address == home_address:
                return p
        return MnProfile(home_address, **DEFAULT_PROFILE_FIELDS)

    def serves(self, address: IPv6Address) -> bool:
        """RFC 6275 §10.3.1: ``address`` is in one of our home prefixes."""
        return any(address in net for net in self.home_prefixes)

    @property
    def dual_stack(self) -> bool:
        """IPv4 home addresses can exist (pool or a static one): tunnels carry IPv4 too."""
        return self.ipv4_pool is not None or any(p.ipv4_home_address for p in self.mobile_nodes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HaConfig":
        return _from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out["mobile_nodes"] = [{f.name: _plain(getattr(p, f.name)) for f in dataclasses.fields(p)}
                               for p in self.mobile_nodes]
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, (IPv4Address, IPv6Address, IPv4Network, IPv6Network)):
        return str(v)
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


# --- validation ---------------------------------------------------------------

def _addr(key: str, v: Any, cls: type) -> Any:
    try:
        if isinstance(v, str):
            return cls(v)
    except ValueError:
        pass
    raise confread.fail(key, f"an {cls.__name__[:4]} address", v, ConfigError)


def _net(key: str, v: Any, cls: type) -> Any:
    try:
        if isinstance(v, str):
            return cls(v)
    except ValueError:
        pass
    raise confread.fail(key, f"an {cls.__name__[:4]} prefix (host bits clear)", v, ConfigError)


def _bool(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(key, f"expected true/false, got {v!r:.60}")
    return v


def _number(key: str, v: Any, lo: float, hi: float, integer: bool = False) -> Any:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or not lo <= v <= hi:
        kind = "an integer" if integer else "a number"
        raise ConfigError(key, f"expected {kind} in {lo}..{hi}, got {v!r:.60}")
    return v if integer else float(v)


_NUMBERS: dict[str, tuple[float, float, bool]] = {
    "max_binding_lifetime": (LIFETIME_UNIT, MAX_LIFETIME_SECONDS, False),
    "nat_keepalive_refresh": (1, INFINITE_LIFETIME - 1, True),
    "binding_refresh_advice": (0, MAX_LIFETIME_SECONDS, False),
    "refresh_request_lead": (0, MAX_LIFETIME_SECONDS, False),
    "max_binding_errors_per_second": (0.001, 1e6, False),
    "max_bus_per_second_per_source": (0, 10**9, True),
    "home_prefix_valid_lifetime": (0, INFINITE_LIFETIME, True),
    "home_prefix_preferred_lifetime": (0, INFINITE_LIFETIME, True),
    "max_care_of_addresses": (1, 64, True),  # binding/statejson.py keeps at most 64 paths
    "max_bindings": (2, 2**32, True),
    "max_tunnel_peers": (2, 2**32, True),
}
_BOOLS = {"mcoa_enabled", "mcoa_bulk_registration", "force_udp_encapsulation"}


def _profile(where: str, d: Any) -> MnProfile:
    if not isinstance(d, Mapping):
        raise ConfigError(where, "expected a table")
    fields = {f.name for f in dataclasses.fields(MnProfile)}
    for k in d:
        if k not in fields:
            raise ConfigError(f"{where}.{k}", "unknown key")
    if "home_address" not in d:
        raise ConfigError(f"{where}.home_address", "required")
    kw: dict[str, Any] = {"home_address": _addr(f"{where}.home_address", d["home_address"], IPv6Address)}
    if d.get("ipv4_home_address") is not None:
        v4 = _addr(f"{where}.ipv4_home_address", d["ipv4_home_address"], IPv4Address)
        if v4.is_unspecified or v4.is_multicast or v4.is_loopback or v4 == IPv4Address("255.255.255.255"):
            raise ConfigError(f"{where}.ipv4_home_address", f"{v4} is not a unicast address")
        kw["ipv4_home_address"] = v4
    for k in ("dynamic_ipv4", "multiple_coa", "force_udp"):
        if k in d:
            kw[k] = _bool(f"{where}.{k}", d[k])
    return MnProfile(**kw)


def _from_dict(data: Mapping[str, Any]) -> HaConfig:
    if not isinstance(data, Mapping):
        raise ConfigError("<root>", f"expected a table, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(HaConfig)}
    for key in data:
        if key not in known:
            raise ConfigError(str(key), "unknown key")
    for key in ("ha_address", "home_prefixes"):
        if key not in data:
            raise ConfigError(key, "required")
    kw: dict[str, Any] = {"ha_address": _addr("ha_address", data["ha_address"], IPv6Address)}
    prefixes = data["home_prefixes"]
    if not isinstance(prefixes, list) or not prefixes:
        raise ConfigError("home_prefixes", "expected a non-empty list of IPv6 prefixes")
    kw["home_prefixes"] = tuple(_net(f"home_prefixes[{i}]", p, IPv6Network) for i, p in enumerate(prefixes))
    if data.get("ha_address_v4") is not None:
        kw["ha_address_v4"] = _addr("ha_address_v4", data["ha_address_v4"], IPv4Address)
    if data.get("ipv4_pool") is not None:
        kw["ipv4_pool"] = _net("ipv4_pool", data["ipv4_pool"], IPv4Network)
    for key, (lo, hi, integer) in _NUMBERS.items():
        if key in data:
            kw[key] = _number(key, data[key], lo, hi, integer)
    for key in _BOOLS:
        if key in data:
            kw[key] = _bool(key, data[key])
    nodes = data.get("mobile_nodes", [])
    if not isinstance(nodes, list):
        raise ConfigError("mobile_nodes", "expected a list of tables")
    kw["mobile_nodes"] = tuple(_profile(f"mobile_nodes[{i}]", d) for i, d in enumerate(nodes))
    _check(kw)
    return HaConfig(**kw)


def _check(kw: dict[str, Any]) -> None:
    serves = [n for n in kw["home_prefixes"]]
    seen_hoa: set = set()
    seen_v4: set = set()
    for i, p in enumerate(kw["mobile_nodes"]):
        where = f"mobile_nodes[{i}]"
        if not any(p.home_address in n for n in serves):
            raise ConfigError(f"{where}.home_address", f"{p.home_address} is in no home prefix")
        if p.home_address == kw["ha_address"]:
            raise ConfigError(f"{where}.home_address", "is the home agent's own address")
        if p.home_address in seen_hoa:
            raise ConfigError(f"{where}.home_address", f"{p.home_address} has two profiles")
        seen_hoa.add(p.home_address)
        if p.ipv4_home_address is not None:
            if p.ipv4_home_address in seen_v4:
                raise ConfigError(f"{where}.ipv4_home_address", f"{p.ipv4_home_address} is given to two MNs")
            if p.ipv4_home_address == kw.get("ha_address_v4"):
                raise ConfigError(f"{where}.ipv4_home_address", "is the home agent's own IPv4 address")
            seen_v4.add(p.ipv4_home_address)
    pool = kw.get("ipv4_pool")
    if pool is not None and kw.get("ha_address_v4") is not None and kw["ha_address_v4"] in pool:
        raise ConfigError("ipv4_pool", "holds the home agent's own IPv4 address")
    if kw.get("binding_refresh_advice", 0) >= kw.get("max_binding_lifetime", 3600.0):
        raise ConfigError("binding_refresh_advice", "must be shorter than max_binding_lifetime (RFC 6275 §6.2.4)")


__all__ = ["ConfigError", "HaConfig", "MnProfile", "LIFETIME_UNIT", "MAX_LIFETIME_SECONDS", "NAT_KEEPALIVE_DEFAULT",
           "INFINITE_LIFETIME"]
