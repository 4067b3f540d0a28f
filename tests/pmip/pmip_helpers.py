"""Shared builders for the PMIPv6 core tests: addresses, policies, PBUs."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MnIdentifier,
    MnLinkLayerIdentifier,
    Timestamp,
)
from p4mobility.pmip import (
    HnpPool,
    LmaConfig,
    LocalMobilityAnchor,
    MagConfig,
    MagMnProfile,
    MnPolicy,
    MobileAccessGateway,
    PbuReceived,
    PolicyStore,
)
from p4mobility.pmip.sim import Simulation

LMAA = IPv6Address("2001:db8::1")
MAG1 = IPv6Address("2001:db8:1::1")
MAG2 = IPv6Address("2001:db8:2::1")
ROGUE = IPv6Address("2001:db8:66::1")
POOL = IPv6Network("2001:db8:100::/48")
STATIC = IPv6Network("2001:db8:200:1::/64")
ALL = IPv6Network("::/0")
T0 = 1_700_000_000.0  # a realistic POSIX time: Timestamp options use it


def pool_prefix(i: int) -> IPv6Network:
    """The i-th /64 of POOL, computed here independently of the allocator."""
    return IPv6Network((int(POOL.network_address) + (i << 64), 64))


def make_policy(**over) -> PolicyStore:
    profiles = over.pop("profiles", None) or [
        MnPolicy(b"mn1", pool="home"),
        MnPolicy(b"mn2", pool="home"),
        MnPolicy(b"static", static_hnps=(STATIC,)),
        MnPolicy(b"only-mag1", pool="home", allowed_mags=frozenset({MAG1})),
        MnPolicy(b"disabled", pool="home", proxy_registration_enabled=False),
        MnPolicy(b"two", pool="home", prefixes_per_session=2),
    ]
    return PolicyStore(over.pop("trusted", [MAG1, MAG2]), [HnpPool("home", POOL, 64)], profiles)


def make_lma(**cfg) -> LocalMobilityAnchor:
    policy = cfg.pop("policy", None) or make_policy()
    return LocalMobilityAnchor(LmaConfig(LMAA, **cfg), policy)


def pbu(mn: bytes | None = b"mn1", *, seq: int = 1, lifetime: int = 100, hnps=(ALL,), hi: int | None = 1,
        att: int | None = 4, ll: bytes | None = None, lla: IPv6Address | None = None,
        ts: float | None = T0, proxy: bool = True, hnp_opts=None) -> BindingUpdate:
    opts: list = []
    if mn is not None:
        opts.append(MnIdentifier(mn))
    if hnp_opts is not None:
        opts += hnp_opts
    else:
        opts += [HomeNetworkPrefix(n.prefixlen, n.network_address) for n in hnps]
    if hi is not None:
        opts.append(HandoffIndicatorOption(hi))
    if att is not None:
        opts.append(AccessTechnologyTypeOption(att))
    if ll is not None:
        opts.append(MnLinkLayerIdentifier(ll))
    if lla is not None:
        opts.append(LinkLocalAddress(lla))
    if ts is not None:
        opts.append(Timestamp.from_seconds(ts))
    return BindingUpdate(seq, lifetime, ack=True, proxy=proxy, options=tuple(opts))


def rx(msg: BindingUpdate, src: IPv6Address = MAG1) -> PbuReceived:
    return PbuReceived(msg, src, LMAA)


def of(actions, cls):
    return [a for a in actions if isinstance(a, cls)]


def the(actions, cls):
    found = of(actions, cls)
    assert len(found) == 1, f"expected one {cls.__name__} in {actions}"
    return found[0]


def make_sim(*, lma_cfg=None, mag_cfg=None, profiles=None, policy=None) -> Simulation:
    lma = LocalMobilityAnchor(LmaConfig(LMAA, **(lma_cfg or {})), policy or make_policy())
    profs = profiles or [MagMnProfile(m) for m in (b"mn1", b"mn2", b"static", b"only-mag1", b"disabled",
                                                    b"two", b"stranger")]
    mags = {name: MobileAccessGateway(MagConfig(addr, LMAA, **(mag_cfg or {})), profs)
            for name, addr in (("MAG1", MAG1), ("MAG2", MAG2), ("ROGUE", ROGUE))}
    return Simulation(lma, mags, start=T0)




def peer_map(core):
    """{remote address: (tunnel peer id, bindings using it)} of a core's tunnel peers."""
    return {v.remote: (v.tunnel_peer_id, v.bindings) for v in core.tunnel_peers()}
