"""The home agent node file (`p4mob ha run -c ha.toml`).

Rule: the whole file is validated before anything starts, like the LMA's and
MAG's (nodeconfig.py); every problem is a `ConfigError(key, problem)` whose
key is the dotted TOML path ("home_agent.ipv4_pool", "routes[2].prefix").
Tables: [node] (switch connection, sockets, files: nodeconfig's), [home_agent]
(`HaConfig.from_dict`, docs/home-agent.md), [[routes]] (IPv6 or IPv4
prefixes: the switch keys IPv4 as IPv4-mapped /(96+n), docs/dataplane.md),
[ipsec] (the crypto path's IPsec file, relative to this one; RFC 3776 §4.1:
the inbound SAs it names are what binds a sender to its home address).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Mapping

from p4mobility.binding.confread import fail
from p4mobility.ha import ConfigError as HaConfigError
from p4mobility.ha import HaConfig
from p4mobility.p4rt.entries import Route
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.nodeconfig import IpsecSettings, NodeSettings, _check_top, _ipsec, _node, _routes, _table, \
    read_toml


@dataclass(frozen=True)
class HaNodeConfig:
    node: NodeSettings
    home_agent: HaConfig
    routes: tuple[Route, ...]
    ipsec: IpsecSettings | None = None


def mapped(net: IPv4Network | IPv6Network) -> IPv6Network:
    """The table form of a prefix: IPv6 as is, IPv4 a.b.c.0/n as ::ffff:a.b.c.0/(96+n) (RFC 4291 §2.5.5.2)."""
    if isinstance(net, IPv6Network):
        return net
    return IPv6Network((int(net.network_address) | 0xFFFF << 32, 96 + net.prefixlen))


def _route_prefix(key: str, value: Any) -> IPv6Network:
    try:
        if not isinstance(value, str):  # ip_network(5) would be 0.0.0.5/32
            raise TypeError
        return mapped(ip_network(value))
    except (ValueError, TypeError):
        raise fail(key, "an IPv6 or IPv4 prefix (host bits clear)", value) from None


def ha_from_dict(data: Mapping[str, Any], base: Path = Path(".")) -> HaNodeConfig:
    _check_top(data, {"node", "home_agent", "routes", "ipsec", "store"})
    node = _node(data)
    try:
        ha = HaConfig.from_dict(_table(data, "home_agent"))
    except HaConfigError as e:
        raise ConfigError(f"home_agent.{e.key}", e.problem) from None
    return HaNodeConfig(node, ha, _routes(data, _route_prefix), _ipsec(data, base))


def load_ha(path: str | Path) -> HaNodeConfig:
    """Read and validate a home agent node file; ConfigError names the key."""
    data = read_toml(path)
    return ha_from_dict(data, Path(path).parent)


__all__ = ["HaNodeConfig", "ha_from_dict", "load_ha", "mapped"]
