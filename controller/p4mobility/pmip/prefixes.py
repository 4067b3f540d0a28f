"""Home network prefixes of a new mobility session (RFC 5213 §5.2, §5.3.2).

Rule: prefixes the PBU names must be the MN's own (static in its profile,
else 155); with none named, the profile's static prefixes are used while no
binding holds them, else ``prefixes_per_session`` prefixes come from the
profile's pool (130 when it is exhausted, rolling back what was taken, so a
rejection leaves no state). Deleting a binding gives pool prefixes back;
restoring one takes them again.
"""
from __future__ import annotations

from ipaddress import IPv6Network
from typing import Iterable

from p4mobility.binding import BindingCache

from . import errors as E
from .lma_validate import PbuContext
from .policy import PolicyStore, PoolAllocator


def _pool(policy: PolicyStore, mn_id: bytes) -> PoolAllocator | None:
    profile = policy.profile(mn_id)
    return policy.pools.get(profile.pool) if profile and profile.pool else None


def assign_prefixes(policy: PolicyStore, cache: BindingCache, pbu: PbuContext) -> tuple[IPv6Network, ...]:
    profile = policy.profile(pbu.mn_id) or pbu.profile
    if pbu.hnps:  # §5.3.2: a named prefix must be authorized for this MN
        for net in pbu.hnps:
            if net not in profile.static_hnps:
                raise E.NotAuthorizedForHnp(f"{net} not in the MN's profile")
        return pbu.hnps
    static = profile.static_hnps
    if static and all(cache.for_prefix(n) is None for n in static):
        return static
    pool = policy.pools.get(profile.pool) if profile.pool else None
    if pool is None:
        raise E.InsufficientResources("no free prefix for this MN")
    got = []
    for _ in range(profile.prefixes_per_session):
        net = pool.allocate()
        if net is None:
            for n in got:  # roll back: a rejection leaves no state
                pool.release(n)
            raise E.InsufficientResources(f"pool {profile.pool} exhausted")
        got.append(net)
    return tuple(got)


def release_prefixes(policy: PolicyStore, mn_id: bytes, nets: Iterable) -> None:
    pool = _pool(policy, mn_id)
    if pool is not None:
        for net in nets:
            pool.release(net)


def reserve_prefixes(policy: PolicyStore, mn_id: bytes, nets: Iterable) -> None:
    pool = _pool(policy, mn_id)
    if pool is not None:
        for net in nets:
            pool.reserve(net)


__all__ = ["assign_prefixes", "release_prefixes", "reserve_prefixes"]
