"""The pmip-handover topology as data: nodes, links, addresses, MACs, configs.

Rule: plain values and pure functions (like finsy's topologies as lists).
MN -- AIR(bridge) -- MAG1/MAG2 access ports; MAG1/MAG2 uplinks -- LMA; LMA -- CN.
The AIR namespace is the radio: the MN's one interface is bridged to the
access port of the MAG it is attached to, so moving re-attaches the same
interface (same MAC) elsewhere. Each of MAG1, MAG2, LMA holds its switch and
its controller; MN and CN are plain Linux hosts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any

LMA_ADDRESS = IPv6Address("2001:db8:ffff::1")
LMA_NET = IPv6Network("2001:db8:ffff::/64")
MAG_COA = {"mag1": IPv6Address("2001:db8:a::1"), "mag2": IPv6Address("2001:db8:b::1")}
MAG_NET = {"mag1": IPv6Network("2001:db8:a::/64"), "mag2": IPv6Network("2001:db8:b::/64")}
CN_ADDRESS = IPv6Address("2001:db8:c::2")
CN_GATEWAY = IPv6Address("2001:db8:c::1")
CN_NET = IPv6Network("2001:db8:c::/64")
HNP_POOL = IPv6Network("2001:db8:100::/48")
MN_ID = "mn1@p4mob.example"
MN_MAC = "02:00:00:00:aa:01"
ROUTER_LL = IPv6Address("fe80::1")  # RFC 5213 §6.8: the same on every MAG
ROUTER_MAC = "02:00:00:00:00:01"
CPU_PORT = 255
CRYPTO_PORT = 254  # the crypto path's veth: switch side "cry0", crypto side "cry1" (dataplane.md)
CRYPTO_IFACES = ("cry0", "cry1")

# switch ports (per node): name in the node namespace -> port number
MAG_PORTS = {"acc": 1, "uplink": 2}
LMA_PORTS = {"mag1": 1, "mag2": 2, "cn": 3}

# interface MACs (the routes table rewrites to these)
MACS = {
    ("mag1", "uplink"): "02:00:00:01:00:02", ("mag2", "uplink"): "02:00:00:02:00:02",
    ("lma", "mag1"): "02:00:00:0f:00:01", ("lma", "mag2"): "02:00:00:0f:00:02",
    ("lma", "cn"): "02:00:00:0f:00:03", ("cn", "eth0"): "02:00:00:0c:00:02",
    ("mn", "mn0"): MN_MAC,
}


@dataclass(frozen=True)
class Link:
    a: tuple[str, str]  # (node, ifname)
    b: tuple[str, str]


LINKS = (
    Link(("mn", "mn0"), ("air", "mnair")),
    Link(("air", "air1"), ("mag1", "acc")),
    Link(("air", "air2"), ("mag2", "acc")),
    Link(("mag1", "uplink"), ("lma", "mag1")),
    Link(("mag2", "uplink"), ("lma", "mag2")),
    Link(("lma", "cn"), ("cn", "eth0")),
)
NODES = ("mn", "air", "mag1", "mag2", "lma", "cn")
SWITCHES = {"mag1": MAG_PORTS, "mag2": MAG_PORTS, "lma": LMA_PORTS}


@dataclass
class LabOptions:
    """What a scenario or test may change."""

    lma: dict[str, Any] = field(default_factory=lambda: {"min_delay_before_bce_delete": 1.0})
    mag: dict[str, Any] = field(default_factory=dict)
    mn_profile_at_lma: bool = True  # False: the LMA does not know the MN (-> status 153)
    mn_lifetime: float | None = None  # lifetime the MAGs request for the MN (None: MagConfig default)
    trusted_mags: tuple[str, ...] = ("mag1", "mag2")
    detach_timeout: float | None = None  # MAG: no uplink traffic for this long -> detach
    ipsec: bool = True  # RFC 5213 §4: PBU/PBA in ESP between MAGs and LMA (`p4mob lab --no-ipsec`: off)
    port_mn: bool = True  # the access ports name the MN (the radio's attach identifies it): PBU at link-up;
    # False: the MAG learns of the MN from its first frame


def lma_config(node: dict[str, Any], opts: LabOptions) -> dict[str, Any]:
    profiles = {MN_ID: {"pool": "home"}} if opts.mn_profile_at_lma else {"other@p4mob.example": {"pool": "home"}}
    return {
        "node": node,
        "lma": {"lma_address": str(LMA_ADDRESS), **opts.lma},
        "policy": {"trusted_mags": [str(MAG_COA[m]) for m in opts.trusted_mags],
                   "pools": {"home": {"network": str(HNP_POOL), "prefix_length": 64}},
                   "profiles": profiles},
        "routes": [
            {"prefix": str(CN_NET), "port": LMA_PORTS["cn"], "src_mac": MACS[("lma", "cn")],
             "dst_mac": MACS[("cn", "eth0")]},
            *({"prefix": str(MAG_NET[m]), "port": LMA_PORTS[m], "src_mac": MACS[("lma", m)],
               "dst_mac": MACS[(m, "uplink")]} for m in ("mag1", "mag2")),
        ],
    }


def mag_config(name: str, node: dict[str, Any], opts: LabOptions) -> dict[str, Any]:
    profile: dict[str, Any] = {"mac": MN_MAC}
    if opts.mn_lifetime is not None:
        profile["lifetime"] = opts.mn_lifetime
    return {
        "detach_timeout": opts.detach_timeout,
        "node": node,
        "mag": {"proxy_coa": str(MAG_COA[name]), "lma_address": str(LMA_ADDRESS),
                "fixed_mag_link_local_address_on_all_access_links": str(ROUTER_LL),
                "fixed_mag_link_layer_address_on_all_access_links": ROUTER_MAC, **opts.mag},
        "access_ports": [{"port": MAG_PORTS["acc"], "ifname": "acc", "att": 4,
                          **({"mn": MN_ID} if opts.port_mn else {})}],
        "mobile_nodes": {MN_ID: profile},
        "routes": [{"prefix": str(LMA_NET), "port": MAG_PORTS["uplink"], "src_mac": MACS[(name, "uplink")],
                    "dst_mac": MACS[("lma", name)]}],
    }


def to_toml(data: dict[str, Any]) -> str:
    """Minimal TOML writer for the config shapes above (tables, arrays of tables, scalars)."""
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def emit(prefix: str, table: dict[str, Any]) -> None:
        subs = []
        for k, v in table.items():
            if v is None:
                continue
            if isinstance(v, dict):
                subs.append((k, v))
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                subs.append((k, v))
            else:
                lines.append(f"{_key(k)} = {scalar(v)}")
        for k, v in subs:
            name = f"{prefix}.{_key(k)}" if prefix else _key(k)
            if isinstance(v, dict):
                lines.append(f"\n[{name}]")
                emit(name, v)
            else:
                for item in v:
                    lines.append(f"\n[[{name}]]")
                    emit(name, item)

    emit("", data)
    return "\n".join(lines).lstrip() + "\n"


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else f'"{k}"'


def slaac_address(prefix: IPv6Network, mac: str) -> IPv6Address:
    """RFC 4862 §5.5.3 + RFC 4291 App. A (modified EUI-64): what a stock host configures."""
    b = bytes.fromhex(mac.replace(":", ""))
    iid = bytes([b[0] ^ 0x02]) + b[1:3] + b"\xff\xfe" + b[3:6]
    return IPv6Address(prefix.network_address.packed[:8] + iid)


__all__ = ["LabOptions", "LINKS", "NODES", "SWITCHES", "MACS", "lma_config", "mag_config", "to_toml",
           "slaac_address", "LMA_ADDRESS", "MAG_COA", "CN_ADDRESS", "CN_GATEWAY", "HNP_POOL", "MN_ID",
           "MN_MAC", "ROUTER_LL", "ROUTER_MAC", "CPU_PORT", "CRYPTO_PORT", "CRYPTO_IFACES"]
