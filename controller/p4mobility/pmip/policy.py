"""MN policy profiles (RFC 5213 §4, §5.2, §6.2) and home network prefix pools.

Rule: the LMA only creates or changes a binding for an MN-ID it has a profile
for, from a MAG that is trusted and allowed for that MN (RFC 5213 §4: "MUST
restrict the creation and manipulation of proxy bindings to specifically
authorized mobile access gateways and prefixes"). Prefixes come from the
profile's static list or its named pool (Per-MN-Prefix model, §5.2); a pool
hands out each prefix to one session at a time, in O(1). The MAG-side profile
(§6.2) names the MN's LMA and optional fixed prefixes/ATT.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Iterable, Mapping

from p4mobility.binding import confread as cr

from .config import ConfigError


@dataclass(frozen=True, slots=True)
class HnpPool:
    """A block from which /prefix_length home network prefixes are allocated."""

    name: str
    network: IPv6Network
    prefix_length: int = 64

    def __post_init__(self) -> None:
        if not self.network.prefixlen <= self.prefix_length <= 128:
            raise ConfigError(f"pools.{self.name}.prefix_length",
                              f"must be between {self.network.prefixlen} and 128")


class PoolAllocator:
    """Hands out sub-prefixes of one pool: a free list first, then a cursor."""

    __slots__ = ("pool", "_next", "_count", "_free", "_used", "_step", "_base")

    def __init__(self, pool: HnpPool) -> None:
        self.pool = pool
        self._base = int(pool.network.network_address)
        self._step = 1 << (128 - pool.prefix_length)
        self._count = 1 << (pool.prefix_length - pool.network.prefixlen)
        self._next = 0
        self._free: list[int] = []
        self._used: set[int] = set()

    def contains(self, net: IPv6Network) -> bool:
        return net.prefixlen == self.pool.prefix_length and net.subnet_of(self.pool.network)

    def allocate(self) -> IPv6Network | None:
        while self._free:
            idx = self._free.pop()
            if idx not in self._used:
                self._used.add(idx)
                return self._net(idx)
        while self._next < self._count:
            idx = self._next
            self._next += 1
            if idx not in self._used:
                self._used.add(idx)
                return self._net(idx)
        return None

    def reserve(self, net: IPv6Network) -> bool:
        """Mark ``net`` used (state restore); False when outside or taken."""
        if not self.contains(net):
            return False
        idx = (int(net.network_address) - self._base) // self._step
        if idx in self._used:
            return False
        self._used.add(idx)
        return True

    def release(self, net: IPv6Network) -> None:
        if not self.contains(net):
            return
        idx = (int(net.network_address) - self._base) // self._step
        if idx in self._used:
            self._used.discard(idx)
            self._free.append(idx)

    @property
    def in_use(self) -> int:
        return len(self._used)

    def _net(self, idx: int) -> IPv6Network:
        return IPv6Network((self._base + idx * self._step, self.pool.prefix_length))


@dataclass(frozen=True, slots=True)
class MnPolicy:
    """LMA-side MN policy profile (RFC 5213 §4, §5.2, §6.2)."""

    mn_id: bytes
    allowed_mags: frozenset[IPv6Address] | None = None  # None: any trusted MAG
    static_hnps: tuple[IPv6Network, ...] = ()  # assigned to the first session
    pool: str | None = None  # pool for further sessions / when no static HNPs
    prefixes_per_session: int = 1
    max_lifetime: float | None = None  # caps the granted lifetime (seconds)
    proxy_registration_enabled: bool = True  # False -> 152 (§5.3.1)


class PolicyStore:
    """Trusted MAGs, HNP pools and MN profiles of one LMA; lookups are dicts."""

    def __init__(self, trusted_mags: Iterable[IPv6Address | str] = (),
                 pools: Iterable[HnpPool] = (), profiles: Iterable[MnPolicy] = ()) -> None:
        self.trusted_mags = frozenset(IPv6Address(a) for a in trusted_mags)
        self.pools: dict[str, PoolAllocator] = {}
        for pool in pools:
            if pool.name in self.pools:
                raise ConfigError(f"pools.{pool.name}", "duplicate pool name")
            self.pools[pool.name] = PoolAllocator(pool)
        self.profiles: dict[bytes, MnPolicy] = {}
        for profile in profiles:
            self.add_profile(profile)

    def add_profile(self, profile: MnPolicy) -> None:
        key = f"profiles.{profile.mn_id.decode('utf-8', 'replace')}"
        if profile.pool is not None and profile.pool not in self.pools:
            raise ConfigError(f"{key}.pool", f"no pool named {profile.pool!r}")
        if profile.prefixes_per_session < 1:
            raise ConfigError(f"{key}.prefixes_per_session", "must be >= 1")
        if not profile.static_hnps and profile.pool is None:
            raise ConfigError(key, "needs static_hnps or a pool")
        self.profiles[profile.mn_id] = profile

    def fresh(self) -> "PolicyStore":
        """The same trusted MAGs, pools and profiles with no prefix handed out: a core's
        own store (its pools allocate), without parsing the configuration again. The
        profiles dict is shared: read-only once loaded (100,000 MNs: ~200 B each once)."""
        new = PolicyStore(self.trusted_mags, [a.pool for a in self.pools.values()])
        new.profiles = self.profiles
        return new

    def profile(self, mn_id: bytes) -> MnPolicy | None:
        return self.profiles.get(mn_id)

    def mag_trusted(self, mag: IPv6Address) -> bool:
        return mag in self.trusted_mags

    def mag_allowed(self, profile: MnPolicy, mag: IPv6Address) -> bool:
        """RFC 5213 §4/§5.3.1: this MAG may send PBUs for this MN."""
        if mag not in self.trusted_mags:
            return False
        return profile.allowed_mags is None or mag in profile.allowed_mags

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PolicyStore":
        """``{"trusted_mags": [...], "pools": {name: {"network":, "prefix_length":}},
        "profiles": {mn_id: {"allowed_mags":, "static_hnps":, "pool":, ...}}}``."""
        known = {"trusted_mags", "pools", "profiles"}
        for key in data:
            if key not in known:
                raise ConfigError(str(key), "unknown key")
        mags = cr.array("trusted_mags", data.get("trusted_mags", []), cr.ipv6_address, "IPv6 addresses")
        pools = []
        for name, p in cr.table("pools", data.get("pools", {}), "a table of pools").items():
            p = cr.table(f"pools.{name}", p, "a pool table (network, prefix_length)")
            for k in p:
                if k not in ("network", "prefix_length"):
                    raise ConfigError(f"pools.{name}.{k}", "unknown key")
            if "network" not in p:
                raise ConfigError(f"pools.{name}.network", "required (an IPv6 prefix)")
            net = cr.ipv6_network(f"pools.{name}.network", p["network"])
            pools.append(HnpPool(name, net, cr.integer(f"pools.{name}.prefix_length", p.get("prefix_length", 64),
                                                       0, 128)))
        profiles = []
        for mn, p in cr.table("profiles", data.get("profiles", {}), "a table of MN profiles").items():
            key = f"profiles.{mn}"
            p = cr.table(key, p, "an MN profile table")
            for k in p:
                if k not in _MN_POLICY_KEYS:
                    raise ConfigError(f"{key}.{k}", "unknown key")
            allowed = p.get("allowed_mags")
            max_lifetime = p.get("max_lifetime")
            profiles.append(MnPolicy(
                mn_id=mn.encode(),
                allowed_mags=None if allowed is None else frozenset(
                    cr.array(f"{key}.allowed_mags", allowed, cr.ipv6_address, "IPv6 addresses")),
                static_hnps=tuple(cr.array(f"{key}.static_hnps", p.get("static_hnps", []), cr.ipv6_network,
                                           "IPv6 prefixes")),
                pool=None if p.get("pool") is None else cr.string(f"{key}.pool", p["pool"]),
                prefixes_per_session=cr.integer(f"{key}.prefixes_per_session", p.get("prefixes_per_session", 1),
                                                1, 255),
                max_lifetime=None if max_lifetime is None else cr.number(f"{key}.max_lifetime", max_lifetime,
                                                                         0, 0xFFFF * 4),
                proxy_registration_enabled=cr.boolean(f"{key}.proxy_registration_enabled",
                                                      p.get("proxy_registration_enabled", True)),
            ))
        return cls(mags, pools, profiles)


@dataclass(frozen=True, slots=True)
class MagMnProfile:
    """MAG-side MN policy profile (RFC 5213 §6.2): which LMA, fixed HNPs, ATT."""

    mn_id: bytes
    lma_address: IPv6Address | None = None  # None: MagConfig.lma_address
    hnps: tuple[IPv6Network, ...] = ()  # empty: ask the LMA to assign (ALL_ZERO)
    att: int | None = None  # overrides the attach event's ATT
    lifetime: float | None = None  # overrides MagConfig.requested_lifetime


def mag_profiles_from_dict(data: Mapping[str, Any], section: str = "profiles") -> list[MagMnProfile]:
    """``{mn_id: {"lma_address":, "hnps": [...], "att":, "lifetime":}}`` -> profiles; errors
    name ``section.<mn_id>.<key>``. ATT 0 is reserved (RFC 5213 §8.5); a lifetime fits
    the 16-bit field of 4 s units (RFC 6275 §6.1.7)."""
    known = {"lma_address", "hnps", "att", "lifetime"}
    out = []
    if not isinstance(data, Mapping):
        raise ConfigError(section, "expected a table")
    for mn, p in data.items():
        key = f"{section}.{mn}"
        if not isinstance(p, Mapping):
            raise ConfigError(key, "expected a table")
        for k in p:
            if k not in known:
                raise ConfigError(f"{key}.{k}", "unknown key")
        raw = p.get("hnps", ())
        try:
            if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
                raise TypeError
            hnps = tuple(IPv6Network(n) for n in raw)
        except (ValueError, TypeError):
            raise ConfigError(f"{key}.hnps", "expected a list of IPv6 prefixes") from None
        att = p.get("att")
        if att is not None and (isinstance(att, bool) or not isinstance(att, int) or not 0 < att < 256):
            raise ConfigError(f"{key}.att", "expected an Access Technology Type 1..255")
        lifetime = p.get("lifetime")
        if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, (int, float))
                                     or not 0 < lifetime <= 0xFFFF * 4):
            raise ConfigError(f"{key}.lifetime", "expected seconds in 1..262140")
        lma = p.get("lma_address")
        out.append(MagMnProfile(mn.encode(), None if lma is None else _addr(f"{key}.lma_address", lma),
                                hnps, att, None if lifetime is None else float(lifetime)))
    return out


def _addr(key: str, value: Any) -> IPv6Address:
    return cr.ipv6_address(key, value)


_MN_POLICY_KEYS = {"allowed_mags", "static_hnps", "pool", "prefixes_per_session", "max_lifetime",
                   "proxy_registration_enabled"}


__all__ = ["HnpPool", "PoolAllocator", "MnPolicy", "PolicyStore", "MagMnProfile", "mag_profiles_from_dict"]
