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

import tomllib
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Mapping

from p4mobility.binding.confread import FILE_KEY, fail
from p4mobility.ha import ConfigError as HaConfigError
from p4mobility.ha import HaConfig
from p4mobility.p4rt.entries import Route
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.nodeconfig import IpsecSettings, NodeSettings, _check_top, _fmt_mac, _int, _ipsec, _mac, \
    _node, _table

ROUTE_KEYS = ("prefix", "port", "src_mac", "dst_mac")


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


def _routes(data: Mapping[str, Any]) -> tuple[Route, ...]:
    raw = data.get("routes", [])
    if not isinstance(raw, list):
        raise ConfigError("routes", "expected an array of tables [[routes]]")
    out = []
    for i, r in enumerate(raw):
        key = f"routes[{i}]"
        if not isinstance(r, Mapping):
            raise ConfigError(key, "expected a table")
        for k in r:
            if k not in ROUTE_KEYS:
                raise ConfigError(f"{key}.{k}", "unknown key")
        try:
            if not isinstance(r.get("prefix"), str):  # ip_network(5) would be 0.0.0.5/32
                raise TypeError
            prefix = ip_network(r["prefix"])
        except (ValueError, TypeError):
            raise fail(f"{key}.prefix", "an IPv6 or IPv4 prefix (host bits clear)", r.get("prefix")) from None
        port = _int(f"{key}.port", r.get("port"), 0, 511)
        out.append(Route(mapped(prefix), port, _fmt_mac(_mac(f"{key}.src_mac", r.get("src_mac"))),
                         _fmt_mac(_mac(f"{key}.dst_mac", r.get("dst_mac")))))
    return tuple(out)


def ha_from_dict(data: Mapping[str, Any], base: Path = Path(".")) -> HaNodeConfig:
    _check_top(data, {"node", "home_agent", "routes", "ipsec", "store"})
    node = _node(data)
    try:
        ha = HaConfig.from_dict(_table(data, "home_agent"))
    except HaConfigError as e:
        raise ConfigError(f"home_agent.{e.key}", e.problem) from None
    return HaNodeConfig(node, ha, _routes(data), _ipsec(data, base))


def load_ha(path: str | Path) -> HaNodeConfig:
    """Read and validate a home agent node file; ConfigError names the key."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(FILE_KEY, "not found") from None
    except OSError as e:
        raise ConfigError(FILE_KEY, f"cannot read: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(FILE_KEY, f"not valid TOML: {e}") from None
    return ha_from_dict(data, Path(path).parent)


__all__ = ["HaNodeConfig", "ha_from_dict", "load_ha", "mapped"]
