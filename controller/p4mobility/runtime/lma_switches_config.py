"""`[[switches]]` of an LMA file: several switches behind one LMA address (docs/cluster.md).

Rule: each switch names its P4Runtime address, device id, the `[policy.pools]` it
serves (a pool at most one switch) and, in `[[switches.steer]]`, how it reaches
every other switch that serves pools; optional `[[switches.routes]]` replace the
top-level `[[routes]]` for that switch. Each mistake is a ConfigError naming the key.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from p4mobility.binding import confread as cr
from p4mobility.p4rt.entries import Route
from p4mobility.p4rt.lma_switches import SteerHop, SwitchPlan
from p4mobility.pmip.config import ConfigError
from p4mobility.pmip.policy import PolicyStore

SWITCH_KEYS = ("name", "switch_address", "device_id", "pools", "steer", "routes")
STEER_KEYS = ("switch", "port", "src_mac", "dst_mac")
MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


@dataclass(frozen=True)
class LmaSwitch:
    name: str
    switch_address: str
    device_id: int
    pools: tuple[str, ...]
    steer: tuple[SteerHop, ...]
    routes: tuple[Route, ...] | None  # None: the top-level [[routes]]


def _mac(key: str, value: Any) -> str:
    if not isinstance(value, str) or not MAC.match(value):
        raise ConfigError(key, f"expected a MAC address aa:bb:cc:dd:ee:ff, got {value!r:.40}")
    return value.lower()


def _steer(key: str, value: Any) -> SteerHop:
    t = cr.table(key, value)
    for k in t:
        if k not in STEER_KEYS:
            raise ConfigError(f"{key}.{k}", "unknown key")
    for k in STEER_KEYS:
        if k not in t:
            raise ConfigError(f"{key}.{k}", "required")
    return SteerHop(cr.string(f"{key}.switch", t["switch"]), cr.integer(f"{key}.port", t["port"], 0, 511),
                    _mac(f"{key}.src_mac", t["src_mac"]), _mac(f"{key}.dst_mac", t["dst_mac"]))


def _switch(key: str, value: Any, policy: PolicyStore,
            parse_routes: Callable[[Mapping[str, Any]], tuple[Route, ...]]) -> LmaSwitch:
    t = cr.table(key, value)
    for k in t:
        if k not in SWITCH_KEYS:
            raise ConfigError(f"{key}.{k}", "unknown key")
    for k in ("name", "switch_address"):
        if k not in t:
            raise ConfigError(f"{key}.{k}", "required")
    pools = tuple(cr.array(f"{key}.pools", t.get("pools", []), cr.string, "pool names"))
    for i, pool in enumerate(pools):
        if pool not in policy.pools:
            raise ConfigError(f"{key}.pools[{i}]", f"no pool {pool!r} in [policy.pools]")
    routes = None
    if "routes" in t:
        try:
            routes = parse_routes({"routes": t["routes"]})
        except ConfigError as e:
            raise ConfigError(f"{key}.{e.key}", e.problem) from None
    return LmaSwitch(cr.string(f"{key}.name", t["name"]), cr.host_port(f"{key}.switch_address", t["switch_address"]),
                     cr.integer(f"{key}.device_id", t.get("device_id", 1), 0, 2**64 - 1), pools,
                     tuple(cr.array(f"{key}.steer", t.get("steer", []), _steer, "[[switches.steer]] tables")),
                     routes)


def switches_from_list(raw: Any, policy: PolicyStore,
                       parse_routes: Callable[[Mapping[str, Any]], tuple[Route, ...]]) -> tuple[LmaSwitch, ...]:
    """The checked `[[switches]]`; every pool served once, every serving switch reachable."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError("switches", "expected an array of tables [[switches]], at least one")
    switches = tuple(_switch(f"switches[{i}]", v, policy, parse_routes) for i, v in enumerate(raw))
    names: dict[str, int] = {}
    served: dict[str, str] = {}
    for i, sw in enumerate(switches):
        if sw.name in names:
            raise ConfigError(f"switches[{i}].name", f"duplicate switch name {sw.name!r}")
        names[sw.name] = i
        for pool in sw.pools:
            if pool in served:
                raise ConfigError(f"switches[{i}].pools", f"pool {pool!r} is served by {served[pool]} already")
            served[pool] = sw.name
    for i, sw in enumerate(switches):
        for j, hop in enumerate(sw.steer):
            if hop.switch not in names or hop.switch == sw.name:
                raise ConfigError(f"switches[{i}].steer[{j}].switch", f"expected another switch, got {hop.switch!r}")
        steered = {h.switch for h in sw.steer}
        for other in switches:
            if other is not sw and other.pools and other.name not in steered:
                raise ConfigError(f"switches[{i}].steer", f"no steer to {other.name}, which serves pools")
    return switches


def switch_plan(switches: tuple[LmaSwitch, ...], policy: PolicyStore) -> SwitchPlan:
    return SwitchPlan([s.name for s in switches],
                      [[policy.pools[p].pool.network for p in s.pools] for s in switches])


__all__ = ["LmaSwitch", "switches_from_list", "switch_plan"]
