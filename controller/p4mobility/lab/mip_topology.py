"""The host-mobility lab topologies (`mip-nat`, `mcoa`) as data: nodes, links,
addresses, MACs, and the files of the home agent, its crypto path and the MN.

Rule: plain values and pure functions, like topology.py for PMIPv6.

    MN --wlan0-- ACCA (IPv6 access A, router) --\
    MN --wlan1-- ACCB (IPv6 access B, router) ---+-- HA (P4 switch + HA node + crypto path) -- CN
    MN --lan0--- NAT  (IPv4-only access: a private LAN behind an nftables masquerade, and
                       a public LAN routed as is) --/

The MN is a Linux host running `p4mob mn run` (TUN tunnel interface carrying
its home addresses); its care-of addresses are what the access networks hand
out (the lab adds them to the MN's interfaces when it "attaches", as SLAAC or
DHCP would). ACCA and ACCB are plain IPv6 routers, NAT is an IPv4 router that
masquerades the MN's private network behind its public address ("nat") and
routes a public network without translation ("pub", the same link and MN
interface: an IPv4 care-of address without a NAT, RFC 5555 §4.1). The HA node
switch has one port per access network and one to the CN; its home network
is virtual (no home link). The CN has IPv6 and IPv4 addresses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, Iterable

from p4mobility.mh.constants import MhType
from p4mobility.nd.mobile_prefix import MOBILE_PREFIX_ADVERTISEMENT, MOBILE_PREFIX_SOLICITATION

# --- the home agent -------------------------------------------------------------------------
HA_ADDRESS = IPv6Address("2001:db8:ffff::1")
HA_ADDRESS_V4 = IPv4Address("192.0.2.1")
HOME_PREFIX = IPv6Network("2001:db8:100::/64")
HOME_ADDRESS = IPv6Address("2001:db8:100::5")
MN2_HOME_ADDRESS = IPv6Address("2001:db8:100::6")  # a second MN the HA serves; tests play it with its SAs
HOME_ADDRESSES = {"mn": HOME_ADDRESS, "mn2": MN2_HOME_ADDRESS}
IPV4_POOL = IPv4Network("10.200.0.0/24")
MN_NAME = "mn1"

# --- access networks (the MN's care-of addresses) -------------------------------------------
ACC_NET = {"acca": IPv6Network("2001:db8:a::/64"), "accb": IPv6Network("2001:db8:b::/64")}
ACC_GW = {"acca": IPv6Address("2001:db8:a::1"), "accb": IPv6Address("2001:db8:b::1")}
MN_COA = {"acca": IPv6Address("2001:db8:a::100"), "accb": IPv6Address("2001:db8:b::100")}
# transit links between each access router and the HA switch
TRANSIT = {"acca": IPv6Network("2001:db8:fa::/64"), "accb": IPv6Network("2001:db8:fb::/64")}
TRANSIT_ROUTER = {"acca": IPv6Address("2001:db8:fa::2"), "accb": IPv6Address("2001:db8:fb::2")}
NAT_LAN = IPv4Network("192.168.1.0/24")
NAT_LAN_GW = IPv4Address("192.168.1.1")
MN_V4_COA = IPv4Address("192.168.1.100")  # private: behind the NAT
NAT_WAN = IPv4Network("198.51.100.0/25")
NAT_PUBLIC = IPv4Address("198.51.100.2")  # what the HA sees as the outer source
NAT_WAN_GW = IPv4Address("198.51.100.1")  # the HA switch's side (routed by the switch)
PUBLIC_LAN = IPv4Network("198.51.100.128/25")  # behind the same router, not translated
PUBLIC_LAN_GW = IPv4Address("198.51.100.129")
MN_V4_PUBLIC = IPv4Address("198.51.100.200")  # a public IPv4 care-of address (no NAT)

# --- the correspondent --------------------------------------------------------------------
CN_ADDRESS = IPv6Address("2001:db8:c::2")
CN_GATEWAY = IPv6Address("2001:db8:c::1")
CN_NET = IPv6Network("2001:db8:c::/64")
CN_ADDRESS_V4 = IPv4Address("203.0.113.2")
CN_GATEWAY_V4 = IPv4Address("203.0.113.1")
CN_NET_V4 = IPv4Network("203.0.113.0/24")

CPU_PORT = 255
CRYPTO_PORT = 254
CRYPTO_IFACES = ("cry0", "cry1")
HA_PORTS = {"acca": 1, "accb": 2, "nat": 3, "cn": 4}  # ifname in the HA namespace -> switch port
MN_IFACES = {"acca": "wlan0", "accb": "wlan1", "nat": "lan0", "pub": "lan0"}  # MN interface per access network
TUNNEL_IFACE = "mip6tun0"

MACS = {
    ("ha", "acca"): "02:00:00:0a:00:01", ("ha", "accb"): "02:00:00:0a:00:02",
    ("ha", "nat"): "02:00:00:0a:00:03", ("ha", "cn"): "02:00:00:0a:00:04",
    ("acca", "ha"): "02:00:00:1a:00:01", ("accb", "ha"): "02:00:00:1b:00:01",
    ("nat", "wan"): "02:00:00:1c:00:01", ("cn", "eth0"): "02:00:00:0c:00:02",
    ("mn", "wlan0"): "02:00:00:00:bb:01", ("mn", "wlan1"): "02:00:00:00:bb:02",
    ("mn", "lan0"): "02:00:00:00:bb:03",
}


@dataclass(frozen=True)
class Link:
    a: tuple[str, str]  # (node, ifname)
    b: tuple[str, str]


LINKS = (
    Link(("mn", "wlan0"), ("acca", "mn")),
    Link(("mn", "wlan1"), ("accb", "mn")),
    Link(("mn", "lan0"), ("nat", "lan")),
    Link(("acca", "ha"), ("ha", "acca")),
    Link(("accb", "ha"), ("ha", "accb")),
    Link(("nat", "wan"), ("ha", "nat")),
    Link(("ha", "cn"), ("cn", "eth0")),
)
NODES = ("mn", "acca", "accb", "nat", "ha", "cn")
SWITCHES = {"ha": HA_PORTS}


@dataclass
class MipLabOptions:
    """What a scenario or test may change."""

    home_agent: dict[str, Any] = field(default_factory=dict)  # HaConfig keys over the defaults
    mn: dict[str, Any] = field(default_factory=dict)  # MnConfig keys over the defaults
    interfaces: tuple[str, ...] = ("wlan0", "wlan1", "lan0")  # the MN's access interfaces, preference order
    multiple_coa: bool = False  # RFC 5648 on the MN (one binding per interface)
    requested_lifetime: float = 120.0


# --- SAs: manual keys, RFC 3776 §5.2 (BU/BA and prefix discovery transport mode, HoTI/HoT and
# payload tunnel mode) -------------------------------------------------------------------------

AEAD = "rfc4106(gcm(aes))"
KEY_BYTES = 20  # AES-128 + 4-byte salt (RFC 4106 §8.1)


@dataclass(frozen=True)
class MipSa:
    name: str  # also the key file's stem
    src: str
    dst: str
    spi: int
    reqid: int
    mode: str  # "transport" | "tunnel"
    from_mn: bool


@dataclass(frozen=True)
class MnKeys:
    """Whose SAs: one MN's home address, the base of its SPIs and reqids, its key files' prefix."""

    home_address: IPv6Address
    spi: int
    reqid: int
    prefix: str = ""


LAB_MNS = {"mn": MnKeys(HOME_ADDRESS, 0x6000, 60), "mn2": MnKeys(MN2_HOME_ADDRESS, 0x6100, 70, "mn2-")}


def _keys(mn: str | MnKeys) -> MnKeys:
    return LAB_MNS[mn] if isinstance(mn, str) else mn


def mip_sas(mn: str | MnKeys = "mn") -> list[MipSa]:
    """The six SAs of one MN with the HA (RFC 3776 §5.2): BU and BA transport mode (also
    prefix discovery, §5.2.3), payload tunnel mode both ways, HoTI out and HoT in tunnel
    mode (return routability, §5.2.2); key files named after ``name``. ``mn`` is one of
    the lab's MNs by name, or any other (a benchmark's) by its MnKeys."""
    k = _keys(mn)
    hoa, ha, spi, reqid, pre = str(k.home_address), str(HA_ADDRESS), k.spi, k.reqid, k.prefix
    return [MipSa(f"{pre}bu", hoa, ha, spi + 1, reqid + 1, "transport", True),
            MipSa(f"{pre}ba", ha, hoa, spi + 2, reqid + 2, "transport", False),
            MipSa(f"{pre}data-out", hoa, ha, spi + 3, reqid + 3, "tunnel", True),
            MipSa(f"{pre}data-in", ha, hoa, spi + 4, reqid + 4, "tunnel", False),
            MipSa(f"{pre}hoti", hoa, ha, spi + 5, reqid + 5, "tunnel", True),
            MipSa(f"{pre}hot", ha, hoa, spi + 6, reqid + 6, "tunnel", False)]


def _state(sa: MipSa, direction: str, keydir: str) -> dict[str, Any]:
    return {"src": sa.src, "dst": sa.dst, "proto": "esp", "spi": sa.spi, "reqid": sa.reqid, "mode": sa.mode,
            "dir": direction, "replay-window": 64,
            "aead": {"name": AEAD, "key-file": f"{keydir}/{sa.name}.key", "icv-len": 128}}


def _signalling(mn: str | MnKeys, mine: bool) -> list[dict[str, Any]]:
    """BUs selected by MH type 5 on HoA -> HA; everything the HA's MH sends the home
    address (BA, BRR, BE) on the BA SA, so no MH type there (RFC 3776 §5.2.1). Prefix
    discovery on the same pair, selected by ICMPv6 type: the solicitation (146) on the
    BU SA, the advertisement (147) on the BA SA (§5.2.3). Return routability in tunnel
    mode between the home address and the HA (the CoA outside, §5.2.2): HoTI (MH type 1)
    from the home address to any correspondent, HoT (MH type 3) back to it."""
    bu, ba, _, _, hoti, hot = mip_sas(mn)
    hoa, ha = f"{_keys(mn).home_address}/128", f"{HA_ADDRESS}/128"
    local, remote = (hoa, ha) if mine else (ha, hoa)
    out, into = ("out", "in") if mine else ("in", "out")
    sent, received = ("local-mh-type", "remote-mh-type") if mine else ("remote-mh-type", "local-mh-type")
    rr = {"local": hoa} if mine else {"remote": hoa}  # the correspondent's address: any
    return [
        {"name": f"{bu.name}", "dir": out, "local": local, "remote": remote, "proto": "mh",
         sent: int(MhType.BU), "action": "protect", "tmpl": {"reqid": bu.reqid, "mode": "transport"}},
        {"name": f"{ba.name}", "dir": into, "local": local, "remote": remote, "proto": "mh",
         "action": "protect", "tmpl": {"reqid": ba.reqid, "mode": "transport"}},
        {"name": f"{bu.name}-mps", "dir": out, "local": local, "remote": remote, "proto": "icmpv6",
         "icmp-type": MOBILE_PREFIX_SOLICITATION, "action": "protect",
         "tmpl": {"reqid": bu.reqid, "mode": "transport"}},
        {"name": f"{ba.name}-mpa", "dir": into, "local": local, "remote": remote, "proto": "icmpv6",
         "icmp-type": MOBILE_PREFIX_ADVERTISEMENT, "action": "protect",
         "tmpl": {"reqid": ba.reqid, "mode": "transport"}},
        {"name": f"{hoti.name}", "dir": out, **rr, "proto": "mh", sent: int(MhType.HOTI), "action": "protect",
         "tmpl": {"reqid": hoti.reqid, "mode": "tunnel"}},
        {"name": f"{hot.name}", "dir": into, **rr, "proto": "mh", received: int(MhType.HOT), "action": "protect",
         "tmpl": {"reqid": hot.reqid, "mode": "tunnel"}},
    ]


def _payload(mn: str | MnKeys, mine: bool) -> list[dict[str, Any]]:
    """Host-wide on the home address, last (draft-laganier requirement 2: no tunnel-interface selector)."""
    _, _, out, into, _, _ = mip_sas(mn)
    hoa = f"{_keys(mn).home_address}/128"
    if mine:
        return [{"name": "payload-out", "dir": "out", "local": hoa, "action": "protect",
                 "tmpl": {"reqid": out.reqid, "mode": "tunnel"}},
                {"name": "payload-in", "dir": "in", "local": hoa, "action": "protect",
                 "tmpl": {"reqid": into.reqid, "mode": "tunnel"}},
                # the IPv4 home address's data bypasses: it rides inside the tunnel as is
                {"name": "ipv4-out", "dir": "out", "local": "0.0.0.0/0", "action": "bypass"},
                {"name": "ipv4-in", "dir": "in", "local": "0.0.0.0/0", "action": "bypass"}]
    return [{"name": f"{into.name}", "dir": "out", "remote": hoa, "action": "protect",
             "tmpl": {"reqid": into.reqid, "mode": "tunnel"}},
            {"name": f"{out.name}", "dir": "in", "remote": hoa, "action": "protect",
             "tmpl": {"reqid": out.reqid, "mode": "tunnel"}}]


def ipsec_config(side: str | MnKeys, keydir: str = "keys", mns: Iterable[str | MnKeys] | None = None,
                 payload: bool = True) -> dict[str, Any]:
    """The ip-xfrm style IPsec document (as a dict) of ``side``: an MN ("mn", "mn2" or
    its MnKeys: that MN's SAs) or "ha" (those of every MN of ``mns``, by default the
    lab's, directions mirrored); signalling entries first, the host-wide payload
    entries last. ``payload=False``: the BU/BA pair alone (RFC 3776 §5.2.1, §5.2.3)."""
    mine = side != "ha"
    group = [side] if mine else list(LAB_MNS if mns is None else mns)
    states = [_state(sa, "out" if sa.from_mn == mine else "in", keydir) for mn in group
              for sa in mip_sas(mn)[:None if payload else 2]]  # BU, BA first
    policies = [p for mn in group for p in _signalling(mn, mine)
                if payload or p["tmpl"]["mode"] == "transport"]  # HoTI/HoT SAs go with the payload ones
    if payload:
        policies += [p for mn in group for p in _payload(mn, mine)]
    return {"state": states, "policy": policies}


# --- node files -----------------------------------------------------------------------------

def _route(prefix: Any, port_if: str, next_hop: tuple[str, str]) -> dict[str, Any]:
    return {"prefix": str(prefix), "port": HA_PORTS[port_if], "src_mac": MACS[("ha", port_if)],
            "dst_mac": MACS[next_hop]}


def ha_config(node: dict[str, Any], opts: MipLabOptions) -> dict[str, Any]:
    """`p4mob ha run -c ha.toml`: [node] like the PMIPv6 nodes, [home_agent] the HaConfig
    keys (docs/home-agent.md), [[routes]] with IPv6 and IPv4 prefixes."""
    return {
        "node": node,
        "home_agent": {"ha_address": str(HA_ADDRESS), "ha_address_v4": str(HA_ADDRESS_V4),
                       "home_prefixes": [str(HOME_PREFIX)], "ipv4_pool": str(IPV4_POOL),
                       "mobile_nodes": [{"home_address": str(a), "dynamic_ipv4": True}
                                        for a in HOME_ADDRESSES.values()],
                       **opts.home_agent},
        "routes": [
            _route(CN_NET, "cn", ("cn", "eth0")), _route(CN_NET_V4, "cn", ("cn", "eth0")),
            _route(ACC_NET["acca"], "acca", ("acca", "ha")), _route(TRANSIT["acca"], "acca", ("acca", "ha")),
            _route(ACC_NET["accb"], "accb", ("accb", "ha")), _route(TRANSIT["accb"], "accb", ("accb", "ha")),
            _route(NAT_WAN, "nat", ("nat", "wan")), _route(PUBLIC_LAN, "nat", ("nat", "wan")),
        ],
    }


def mn_config(out: str, opts: MipLabOptions) -> dict[str, Any]:
    """`p4mob mn run -c mn.toml` (runtime/mn_config.py)."""
    mn = {"home_address": str(HOME_ADDRESS), "home_agent": str(HA_ADDRESS),
          "home_agent_ipv4": str(HA_ADDRESS_V4), "ipv4_home_address": "0.0.0.0",
          "requested_lifetime": opts.requested_lifetime, **opts.mn}
    if opts.multiple_coa:
        mn.setdefault("multiple_coa", True)
    return {
        "node": {"name": MN_NAME, "control_socket": f"{out}/mn.sock", "log_file": f"{out}/mn.log",
                 "state_file": f"{out}/mn.state"},
        "mn": mn,
        "tunnel": {"name": TUNNEL_IFACE, "mtu": 1280},
        "access": {"interfaces": list(opts.interfaces)},
        "ipsec": {"config": "ipsec-mn.toml"},
    }


__all__ = [
    "HA_ADDRESS", "HA_ADDRESS_V4", "HOME_PREFIX", "HOME_ADDRESS", "MN2_HOME_ADDRESS", "HOME_ADDRESSES",
    "IPV4_POOL", "MN_NAME", "ACC_NET", "ACC_GW",
    "MN_COA", "TRANSIT", "TRANSIT_ROUTER", "NAT_LAN", "NAT_LAN_GW", "MN_V4_COA", "NAT_WAN", "NAT_PUBLIC",
    "NAT_WAN_GW", "PUBLIC_LAN", "PUBLIC_LAN_GW", "MN_V4_PUBLIC", "CN_ADDRESS", "CN_GATEWAY", "CN_NET",
    "CN_ADDRESS_V4", "CN_GATEWAY_V4", "CN_NET_V4",
    "CPU_PORT", "CRYPTO_PORT", "CRYPTO_IFACES", "HA_PORTS", "MN_IFACES", "TUNNEL_IFACE", "MACS", "Link",
    "LINKS", "NODES", "SWITCHES", "MipLabOptions", "MipSa", "MnKeys", "LAB_MNS", "mip_sas", "ipsec_config", "ha_config",
    "mn_config", "AEAD", "KEY_BYTES",
]
