"""The mobile-node daemon's file (`p4mob mn run -c mn.toml`).

Rule: the whole file is validated before anything starts; every problem is a
``ConfigError(key, problem)`` with the dotted key. Tables: [node] (name,
control socket, log file, state file), [mn] (MnConfig, mip/config.py),
[tunnel] (the tunnel interface: name, MTU, route metric), [access]
(interfaces, in preference order: RFC 5648 BID = position + 1), [ipsec]
(the IPsec TOML, relative to this file). The IPsec file must hold, for this
home address and home agent (RFC 3776 §4.1, §5.2): an outbound SPD entry
protecting BUs (MH type 5) with a transport-mode SA HoA -> HA, an inbound
one for BAs (MH type 6) with a transport SA HA -> HoA; and for data, host
wide on the home address (draft-laganier requirement 2: no entry names the
tunnel interface; the SPD has no interface selector at all), either a
tunnel-mode payload SA HoA <-> HA (its outer endpoints are the home address
and the HA: the tunnel interface puts the CoA in, requirement 1 mirrored)
or an explicit BYPASS.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any, Mapping

from p4mobility.binding import confread as cr
from p4mobility.binding.confread import located
from p4mobility.binding.errors import ConfigError
from p4mobility.ipsec.spd import Action, Dir, Mode, PacketSelector
from p4mobility.mip import MnConfig
from p4mobility.runtime.nodeconfig import read_toml

IFNAMSIZ = 16
MH_BU, MH_BA = 5, 6
_ANY_CN = IPv6Address("2001:db8:ffff:ffff::1")  # a correspondent the payload policy must cover


@dataclass(frozen=True)
class NodeSection:
    name: str = "mn"
    control_socket: str = "/run/p4mob/mn.sock"
    log_file: str | None = None  # None = stdout
    state_file: str = ""  # MH Sequence Number; ESP counters in <state_file>.esp

    @property
    def esp_state_file(self) -> str:
        return self.state_file + ".esp"


@dataclass(frozen=True)
class TunnelSection:
    name: str = "mip6tun0"
    mtu: int = 1280  # IPv6 minimum: always fits under IPv4+UDP+IPv6+ESP on a 1500-byte link
    route_metric: int = 16  # default routes via the tunnel, below the access interfaces' routes


@dataclass(frozen=True)
class MnNodeConfig:
    node: NodeSection
    mn: MnConfig
    tunnel: TunnelSection
    interfaces: tuple[str, ...]
    ipsec_path: Path
    ipsec: Any  # p4mobility.ipsec.config.IpsecConfig, validated


def _table(data: Mapping[str, Any], key: str, allowed: set[str]) -> Mapping[str, Any]:
    t = cr.table(key, data.get(key, {}))
    for k in t:
        if k not in allowed:
            raise ConfigError(f"{key}.{k}", "unknown key")
    return t


_str, _int = cr.string, cr.integer


def _ifname(key: str, value: Any) -> str:
    name = _str(key, value)
    if len(name) >= IFNAMSIZ or "/" in name or any(c.isspace() for c in name) or name in (".", ".."):
        raise ConfigError(key, f"not an interface name: {name!r}")
    return name


def _node(data: Mapping[str, Any], base: Path) -> NodeSection:
    t = _table(data, "node", {"name", "control_socket", "log_file", "state_file"})
    kw = {k: _str(f"node.{k}", v) for k, v in t.items()}
    if "state_file" not in kw:
        raise ConfigError("node.state_file", "required: the Sequence Numbers (MH and ESP, manual keys) "
                                             "must survive a restart (RFC 6275 §9.5.1, RFC 4303 §3.3.3)")
    for k in ("control_socket", "log_file", "state_file"):
        if k in kw:
            kw[k] = str(base / kw[k])
    return NodeSection(**kw)


def _tunnel(data: Mapping[str, Any]) -> TunnelSection:
    t = _table(data, "tunnel", {"name", "mtu", "route_metric"})
    kw: dict[str, Any] = {}
    if "name" in t:
        kw["name"] = _ifname("tunnel.name", t["name"])
    if "mtu" in t:
        kw["mtu"] = _int("tunnel.mtu", t["mtu"], 1280, 65535)  # RFC 8200 §5: IPv6 needs 1280
    if "route_metric" in t:
        kw["route_metric"] = _int("tunnel.route_metric", t["route_metric"], 0, 0xFFFFFFFF)
    return TunnelSection(**kw)


def _interfaces(data: Mapping[str, Any], tunnel: str) -> tuple[str, ...]:
    t = _table(data, "access", {"interfaces"})
    if "interfaces" not in t:
        raise ConfigError("access.interfaces", "required: a non-empty array of interface names")
    names = tuple(cr.array("access.interfaces", t["interfaces"], _ifname, "interface names"))
    if not names:
        raise ConfigError("access.interfaces", "required: a non-empty array of interface names")
    if len(set(names)) != len(names):
        raise ConfigError("access.interfaces", "an interface is listed twice")
    if tunnel in names:
        raise ConfigError("access.interfaces", f"{tunnel} is the tunnel interface (tunnel.name)")
    return names


def _mn(data: Mapping[str, Any], interfaces: tuple[str, ...]) -> MnConfig:
    t = dict(_table(data, "mn", set(MnConfig.__dataclass_fields__)))
    if "interfaces" in t and cr.array("mn.interfaces", t["interfaces"], cr.string, "interface names") \
            != list(interfaces):
        raise ConfigError("mn.interfaces", "leave it out or list exactly access.interfaces")
    t["interfaces"] = list(interfaces)
    try:
        return MnConfig.from_dict(t)
    except ConfigError as e:
        raise ConfigError(f"mn.{e.key}", e.problem) from None


def _ipsec(data: Mapping[str, Any], base: Path, mn: MnConfig) -> tuple[Path, Any]:
    t = _table(data, "ipsec", {"config"})
    path = base / _str("ipsec.config", t.get("config"))
    from p4mobility.ipsec.config import load_config
    from p4mobility.ipsec.errors import IpsecConfigError

    try:
        cfg = load_config(path)
        sad = cfg.build_sad(0.0)
    except IpsecConfigError as e:
        raise ConfigError("ipsec.config", located(path, e)) from None
    hoa, ha = mn.home_address, mn.home_agent

    def need(what: str, ok: bool) -> None:
        if not ok:
            raise ConfigError("ipsec.config", f"{path}: {what}")

    def sa_for(direction: Dir, ps: PacketSelector, mode: Mode, src, dst, what: str) -> bool:
        """True: PROTECT by an SA of ``mode`` from ``src`` to ``dst``; False: BYPASS."""
        entry = cfg.spd.lookup(direction, ps)
        need(f"{what}: no SPD entry (RFC 4301 §4.4.1: no match = DISCARD)", entry is not None)
        if entry.action is Action.BYPASS:
            return False
        need(f"{what}: the SPD discards it", entry.action is Action.PROTECT)
        need(f"{what}: needs a {mode} template, the SPD has {entry.tmpl.mode}", entry.tmpl.mode is mode)
        sas = [sa for sa in sad if sa.dir is direction and sa.reqid == entry.tmpl.reqid and sa.mode is mode]
        need(f"{what}: no {direction} {mode} SA with reqid {entry.tmpl.reqid}", bool(sas))
        need(f"{what}: the SA must go from {src} to {dst} (the home address and the HA, never a CoA)",
             all((sa.src, sa.dst) == (str(src), str(dst)) for sa in sas))
        return True

    # RFC 3776 §4.1: BU/BA MUST be protected (transport mode, selected by MH type)
    need("BUs must be protected (RFC 3776 §4.1)", sa_for(
        Dir.OUT, PacketSelector(hoa, ha, 135, mh_type=MH_BU), Mode.TRANSPORT, hoa, ha, "BU (MH type 5)"))
    need("BAs must be protected (RFC 3776 §4.1)", sa_for(
        Dir.IN, PacketSelector(ha, hoa, 135, mh_type=MH_BA), Mode.TRANSPORT, ha, hoa, "BA (MH type 6)"))
    sa_for(Dir.OUT, PacketSelector(hoa, _ANY_CN, 17), Mode.TUNNEL, hoa, ha, "data from the home address")
    sa_for(Dir.IN, PacketSelector(_ANY_CN, hoa, 17), Mode.TUNNEL, ha, hoa, "data to the home address")
    return path, cfg


def config_from_dict(data: Mapping[str, Any], base: Path = Path(".")) -> MnNodeConfig:
    for k in data:
        if k not in ("node", "mn", "tunnel", "access", "ipsec"):
            raise ConfigError(str(k), "unknown table")
    node = _node(data, base)
    tunnel = _tunnel(data)
    interfaces = _interfaces(data, tunnel.name)
    if "mn" not in data:
        raise ConfigError("mn", "required table missing")
    mn = _mn(data, interfaces)
    if "ipsec" not in data:
        raise ConfigError("ipsec", "required table missing: BUs must be ESP-protected (RFC 3776 §4.1)")
    ipsec_path, ipsec = _ipsec(data, base, mn)
    return MnNodeConfig(node, mn, tunnel, interfaces, ipsec_path, ipsec)


def load(path: str | Path) -> MnNodeConfig:
    data = read_toml(path)
    return config_from_dict(data, Path(path).parent)


__all__ = ["MnNodeConfig", "NodeSection", "TunnelSection", "config_from_dict", "load"]
