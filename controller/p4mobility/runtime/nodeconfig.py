"""Node configuration files (`p4mob lma run -c lma.toml`, `p4mob mag run -c mag.toml`).

Rule: the whole file is validated before anything starts; every problem is a
`ConfigError(key, problem)` whose key is the dotted TOML path ("mag.proxy_coa",
"routes[1].port"). Tables: [node] (switch connection, sockets, files),
[lma] or [mag] (RFC 5213 §9 variables, pmip/config.py), [policy] (LMA,
pmip/policy.py), [[access_ports]] and [mobile_nodes.<MN-ID>] (MAG), [[routes]],
[ipsec] (optional: the crypto path's IPsec file, relative to this one), [store]
(optional: SQLite or etcd, runtime/storeconfig.py).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from p4mobility.binding import confread as cr
from p4mobility.binding.confread import FILE_KEY
from p4mobility.p4rt.entries import Route
from p4mobility.pmip.config import ConfigError, LmaConfig, MagConfig
from p4mobility.pmip.policy import MagMnProfile, PolicyStore, mag_profiles_from_dict
from p4mobility.runtime.storeconfig import StoreSettings, read_pem, store_from_dict

REPO = Path(__file__).resolve().parents[3]
DEFAULT_P4INFO = REPO / "p4src" / "build" / "mobility.p4info.txtpb"
DEFAULT_P4BLOB = REPO / "p4src" / "build" / "mobility.json"


@dataclass(frozen=True)
class NodeSettings:
    """[node]: how to reach the switch and where the node keeps its files."""

    name: str
    switch_address: str  # host:port of the P4Runtime server
    device_id: int = 1
    election_id: int = 10
    p4info: Path = DEFAULT_P4INFO
    p4blob: Path = DEFAULT_P4BLOB
    tls_ca: Path | None = None  # optional TLS (finsy GRPCCredentialsTLS)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    control_socket: str = "/run/p4mob/node.sock"
    state_db: str | None = None  # SQLite (WAL) file; None = no persistence
    metrics_port: int | None = None  # Prometheus HTTP port; None = off
    counters_interval: float = 5.0  # switch counters -> metrics, seconds
    log_level: str = "info"  # "debug": also a line per accepted registration (runtime/logs.py)
    store: StoreSettings = StoreSettings()  # the top-level [store] table (runtime/storeconfig.py)
    punt_interface: str | None = None  # punts and packet-outs on this veth, not the stream (runtime/punt_port.py)


@dataclass(frozen=True)
class AccessPort:
    """[[access_ports]]: a MAG switch port facing one MN (RFC 5213 §6.9.1.1)."""

    port: int
    ifname: str | None = None  # the switch-side interface whose carrier means "attached"
    att: int = 4  # Access Technology Type (RFC 5213 §8.5): 4 = IEEE 802.3
    mn_id: bytes | None = None  # the MN this link belongs to (§6.6): its link-up is its attachment


@dataclass(frozen=True)
class IpsecSettings:
    """[ipsec]: the same file the crypto path (`p4mob ipsec run`) loads (RFC 5213 §4).

    The node programs `esp_sas` / `outbound_policies` from it and refuses clear
    signaling its inbound SPD says must be protected."""

    config_path: Path
    config: Any  # p4mobility.ipsec.config.IpsecConfig, validated
    crypto_socket: str | None = None  # the crypto path's control socket (`show sas` counters)


@dataclass(frozen=True)
class LmaNodeConfig:
    node: NodeSettings
    lma: LmaConfig
    policy: PolicyStore  # parsed once; nothing is allocated from it
    routes: tuple[Route, ...]
    ipsec: IpsecSettings | None = None
    switches: tuple[Any, ...] = ()  # [[switches]]: LmaSwitch (runtime/lma_switches_config.py); () = [node]'s one

    def policy_store(self) -> PolicyStore:
        """A fresh store for a core (its pools allocate), sharing the parsed profiles."""
        return self.policy.fresh()


@dataclass(frozen=True)
class MagNodeConfig:
    node: NodeSettings
    mag: MagConfig
    access_ports: tuple[AccessPort, ...]
    profiles: tuple[MagMnProfile, ...]
    mn_macs: Mapping[bytes, bytes]  # MAC -> MN-ID (RFC 5213 §6.6: MN identified at attach)
    routes: tuple[Route, ...]
    router_mac: bytes = field(default=bytes.fromhex("020000000001"))
    detach_timeout: float | None = None  # no RS/traffic for this long -> detach (None: carrier only)
    ipsec: IpsecSettings | None = None


def _table(data: Mapping[str, Any], key: str, required: bool = True) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise ConfigError(key, "required table missing")
        return {}
    return cr.table(key, value)


def _prefixed(prefix: str, err: ConfigError) -> ConfigError:
    return ConfigError(f"{prefix}.{err.key}", err.problem)


def _mac(key: str, value: Any) -> bytes:
    if isinstance(value, str):
        try:
            mac = bytes.fromhex(value.replace(":", "").replace("-", ""))
        except ValueError:
            mac = b""
        if len(mac) == 6:
            return mac
    raise ConfigError(key, f"expected a MAC address like 02:00:00:00:00:01, got {value!r}")


_int = cr.integer


def _node(data: Mapping[str, Any]) -> NodeSettings:
    t = _table(data, "node")
    known = {f for f in NodeSettings.__dataclass_fields__} - {"store"}
    kw: dict[str, Any] = {}
    for k, v in t.items():
        if k not in known:
            raise ConfigError(f"node.{k}", "unknown key")
        kw[k] = v
    for req in ("name", "switch_address"):
        if req not in kw:
            raise ConfigError(f"node.{req}", "required")
    cr.string("node.name", kw["name"])
    cr.host_port("node.switch_address", kw["switch_address"])
    for k, lo, hi in (("device_id", 0, 2**64 - 1), ("election_id", 1, 2**64 - 1), ("metrics_port", 0, 65535)):
        if k in kw and kw[k] is not None:
            kw[k] = _int(f"node.{k}", kw[k], lo, hi)
    for k in ("p4info", "p4blob", "tls_ca", "tls_cert", "tls_key"):
        if k in kw:
            kw[k] = Path(cr.string(f"node.{k}", kw[k]))
    for k in ("p4info", "p4blob"):
        path = kw.get(k, getattr(NodeSettings, k))
        if not Path(path).exists():
            raise ConfigError(f"node.{k}", f"file not found: {path}")
    if ("tls_cert" in kw) != ("tls_key" in kw):
        raise ConfigError("node.tls_cert", "tls_cert and tls_key go together")
    for k in ("tls_ca", "tls_cert", "tls_key"):  # read at connect time: refuse a missing file now
        if k in kw:
            read_pem(f"node.{k}", kw[k])
    if "counters_interval" in kw:
        kw["counters_interval"] = cr.number("node.counters_interval", kw["counters_interval"], 0.001, 86400.0)
    for k in ("control_socket", "state_db", "punt_interface"):
        if k in kw:
            cr.string(f"node.{k}", kw[k])
    if "log_level" in kw and kw["log_level"] not in ("info", "debug"):
        raise ConfigError("node.log_level", f"expected \"info\" or \"debug\", got {kw['log_level']!r:.40}")
    kw["store"] = store_from_dict(data.get("store"), kw.get("state_db"))
    return NodeSettings(**kw)


def _routes(data: Mapping[str, Any], prefix_of=cr.ipv6_network) -> tuple[Route, ...]:
    """``[[routes]]``; ``prefix_of(key, value)`` reads each prefix (the HA's takes IPv4 too)."""
    raw = data.get("routes", [])
    if not isinstance(raw, list):
        raise ConfigError("routes", "expected an array of tables [[routes]]")
    out = []
    for i, r in enumerate(raw):
        key = f"routes[{i}]"
        if not isinstance(r, Mapping):
            raise ConfigError(key, "expected a table")
        for k in r:
            if k not in ("prefix", "port", "src_mac", "dst_mac"):
                raise ConfigError(f"{key}.{k}", "unknown key")
        prefix = prefix_of(f"{key}.prefix", r.get("prefix"))
        port = _int(f"{key}.port", r.get("port"), 0, 511)
        out.append(Route(prefix, port, _fmt_mac(_mac(f"{key}.src_mac", r.get("src_mac"))),
                         _fmt_mac(_mac(f"{key}.dst_mac", r.get("dst_mac")))))
    return tuple(out)


def _ipsec(data: Mapping[str, Any], base: Path) -> IpsecSettings | None:
    t = _table(data, "ipsec", required=False)
    if not t:
        return None
    for k in t:
        if k not in ("config", "crypto_socket"):
            raise ConfigError(f"ipsec.{k}", "unknown key")
    if "config" not in t:
        raise ConfigError("ipsec.config", "required path of the IPsec TOML (the crypto path's file)")
    cr.string("ipsec.config", t["config"])
    sock = t.get("crypto_socket")
    if sock is not None:
        cr.string("ipsec.crypto_socket", sock)
    from p4mobility.ipsec.config import load_config
    from p4mobility.ipsec.errors import IpsecConfigError
    from p4mobility.p4rt.ipsec_entries import ipsec_entries

    path = base / t["config"]
    try:
        cfg = load_config(path)
        ipsec_entries(cfg.build_sad(0.0), cfg.spd)  # the switch can express it
    except IpsecConfigError as e:
        raise ConfigError("ipsec.config", cr.located(path, e)) from None
    return IpsecSettings(path, cfg, sock)


def _fmt_mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def _check_top(data: Mapping[str, Any], allowed: set[str]) -> None:
    for k in data:
        if k not in allowed:
            raise ConfigError(str(k), "unknown table")


def lma_from_dict(data: Mapping[str, Any], base: Path = Path(".")) -> LmaNodeConfig:
    _check_top(data, {"node", "lma", "policy", "routes", "ipsec", "store", "switches"})
    if "switches" in data:  # several switches behind one LMA address (docs/cluster.md)
        data = _first_switch_as_node(data)
    node = _node(data)
    try:
        lma = LmaConfig.from_dict(_table(data, "lma"))
    except ConfigError as e:
        raise _prefixed("lma", e) from None
    try:
        policy = PolicyStore.from_dict(_table(data, "policy"))
    except ConfigError as e:
        raise _prefixed("policy", e) from None
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise ConfigError("policy", f"invalid: {e}") from None
    switches: tuple[Any, ...] = ()
    if "switches" in data:
        from p4mobility.runtime.lma_switches_config import switches_from_list
        switches = switches_from_list(data["switches"], policy, _routes)
    return LmaNodeConfig(node, lma, policy, _routes(data), _ipsec(data, base), switches)


def _first_switch_as_node(data: Mapping[str, Any]) -> dict[str, Any]:
    """[node] without switch_address / device_id: the first of [[switches]] gives them."""
    node = dict(_table(data, "node"))
    for k in ("switch_address", "device_id"):
        if k in node:
            raise ConfigError(f"node.{k}", "not with [[switches]]: each switch names its own")
    raw = data["switches"]
    if not isinstance(raw, list) or not raw:
        raise ConfigError("switches", "expected an array of tables [[switches]], at least one")
    first = cr.table("switches[0]", raw[0])
    if "switch_address" not in first:
        raise ConfigError("switches[0].switch_address", "required")
    node["switch_address"] = cr.host_port("switches[0].switch_address", first["switch_address"])
    if "device_id" in first:
        node["device_id"] = cr.integer("switches[0].device_id", first["device_id"], 0, 2**64 - 1)
    return {**data, "node": node}


def mag_from_dict(data: Mapping[str, Any], base: Path = Path(".")) -> MagNodeConfig:
    _check_top(data, {"node", "mag", "access_ports", "mobile_nodes", "routes", "router_mac", "detach_timeout",
                      "ipsec", "store"})
    node = _node(data)
    try:
        mag = MagConfig.from_dict(_table(data, "mag"))
    except ConfigError as e:
        raise _prefixed("mag", e) from None
    raw_ports = data.get("access_ports", [])
    if not isinstance(raw_ports, list) or not raw_ports:
        raise ConfigError("access_ports", "at least one [[access_ports]] table required")
    ports = []
    for i, p in enumerate(raw_ports):
        key = f"access_ports[{i}]"
        if not isinstance(p, Mapping):
            raise ConfigError(key, "expected a table")
        for k in p:
            if k not in ("port", "ifname", "att", "mn"):
                raise ConfigError(f"{key}.{k}", "unknown key")
        ifname = p.get("ifname")
        if ifname is not None and (not isinstance(ifname, str) or "/" in ifname or not ifname):
            raise ConfigError(f"{key}.ifname", "expected an interface name")
        mn = p.get("mn")
        if mn is not None and (not isinstance(mn, str) or not mn):
            raise ConfigError(f"{key}.mn", "expected the MN-Identifier of a [mobile_nodes] entry")
        ports.append(AccessPort(_int(f"{key}.port", p.get("port"), 0, 511), ifname,
                                _int(f"{key}.att", p.get("att", 4), 0, 255), None if mn is None else mn.encode()))
    if len({p.port for p in ports}) != len(ports):
        raise ConfigError("access_ports", "a port is listed twice")
    profiles, macs = [], {}
    nodes = _table(data, "mobile_nodes", required=False)
    for mn, p in nodes.items():  # the MAC identifies the MN (RFC 5213 §6.6); the rest is its §6.2 profile
        key = f"mobile_nodes.{mn}"
        if not isinstance(p, Mapping):
            raise ConfigError(key, "expected a table")
        if "mac" not in p:
            raise ConfigError(f"{key}.mac", "required")
        mac = _mac(f"{key}.mac", p["mac"])
        if mac in macs:
            raise ConfigError(f"{key}.mac", "MAC already used by another mobile node")
        macs[mac] = mn.encode()
        profiles += mag_profiles_from_dict({mn: {k: v for k, v in p.items() if k != "mac"}}, "mobile_nodes")
    for i, port in enumerate(ports):
        if port.mn_id is not None and port.mn_id not in macs.values():
            raise ConfigError(f"access_ports[{i}].mn", "not a [mobile_nodes] entry")
    router_mac = mag.fixed_mag_link_layer_address_on_all_access_links or _mac(
        "router_mac", data.get("router_mac", "02:00:00:00:00:01"))
    if len(router_mac) != 6:
        raise ConfigError("mag.fixed_mag_link_layer_address_on_all_access_links", "expected 6 bytes (a MAC)")
    timeout = data.get("detach_timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ConfigError("detach_timeout", "expected a positive number of seconds")
    return MagNodeConfig(node, mag, tuple(ports), tuple(profiles), macs, _routes(data), router_mac,
                         None if timeout is None else float(timeout), _ipsec(data, base))


def read_toml(path: str | Path) -> dict[str, Any]:
    """A node file's tables; ConfigError (key ``file``) when it is missing, unreadable or not TOML."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(FILE_KEY, "not found") from None
    except OSError as e:
        raise ConfigError(FILE_KEY, f"cannot read: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(FILE_KEY, f"not valid TOML: {e}") from None


def load(path: str | Path, role: str) -> LmaNodeConfig | MagNodeConfig:
    """Read and validate a node file; ConfigError names the key."""
    data = read_toml(path)
    base = Path(path).parent
    return lma_from_dict(data, base) if role == "lma" else mag_from_dict(data, base)


__all__ = ["NodeSettings", "IpsecSettings", "AccessPort", "LmaNodeConfig", "MagNodeConfig", "lma_from_dict", "mag_from_dict",
           "load", "read_toml", "DEFAULT_P4INFO", "DEFAULT_P4BLOB", "REPO"]
