"""Shared builders for the home agent core tests: addresses, configs, BUs, and
``sent()``, which puts every message the core sends through the project's
MH codec (encode with the checksum addresses the route implies, decode with
the checksum verified) so no test can pass with a BA that does not encode."""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

from p4mobility.ha import (
    BuReceived,
    HaConfig,
    HomeAgent,
    SendBindingAck,
    SendBindingRefreshRequest,
)
from p4mobility.binding import SendMh
from p4mobility.mh import (
    AlternateCareofAddress,
    BindingIdentifier,
    BindingUpdate,
    Ipv4CareofAddress,
    Ipv4HomeAddress,
    decode_mh,
    encode_mh,
)

HA = IPv6Address("2001:db8:1::1")
HA4 = IPv4Address("203.0.113.1")
HOME = "2001:db8:1::/64"
HOA = IPv6Address("2001:db8:1::100")
HOA2 = IPv6Address("2001:db8:1::200")
HOA_STATIC4 = IPv6Address("2001:db8:1::300")
STATIC4 = IPv4Address("10.9.1.7")
COA = IPv6Address("2001:db8:a::100")
COA2 = IPv6Address("2001:db8:b::100")
COA3 = IPv6Address("2001:db8:c::100")
PRIV4 = IPv4Address("192.168.1.20")  # the MN's address behind a NAT
NAT4 = IPv4Address("198.51.100.7")  # the NAT's public address
PUB4 = IPv4Address("198.51.100.20")  # an MN with a public IPv4 CoA
POOL = "10.9.0.0/24"
ANY4 = IPv4Address(0)


def config(**over) -> HaConfig:
    d = {"ha_address": str(HA), "home_prefixes": [HOME], "ha_address_v4": str(HA4), "ipv4_pool": POOL,
         "mobile_nodes": [{"home_address": str(HOA_STATIC4), "ipv4_home_address": str(STATIC4)},
                          {"home_address": str(HOA2), "dynamic_ipv4": False, "multiple_coa": False,
                           "force_udp": False}]}
    d.update(over)
    return HaConfig.from_dict(d)


def make_ha(**over) -> HomeAgent:
    return HomeAgent(config(**over))


def bu(seq: int = 1, lifetime: int = 100, *options, ack: bool = True, home: bool = True, **flags) -> BindingUpdate:
    """A home registration BU; ``lifetime`` in 4-second units."""
    return BindingUpdate(sequence=seq, lifetime=lifetime, ack=ack, home_registration=home, options=tuple(options),
                         **flags)


def from_coa(msg: BindingUpdate, coa: IPv6Address = COA, hoa: IPv6Address = HOA, *, sa: IPv6Address | None = ...,
             alt: bool = True, dst: IPv6Address = HA) -> BuReceived:
    """RFC 6275 §11.7.1: IPv6{CoA -> HA} HAO{HoA} ESP MH BU{Alternate CoA}."""
    if alt and msg.option(AlternateCareofAddress) is None:
        msg = replace(msg, options=(AlternateCareofAddress(coa),) + msg.options)
    return BuReceived(msg, coa, dst, hoa, hoa if sa is ... else sa)


def over_udp(msg: BindingUpdate, coa4: IPv4Address = PRIV4, outer: tuple = (NAT4, 40000), hoa: IPv6Address = HOA,
             *, sa: IPv6Address | None = ...) -> BuReceived:
    """RFC 5555 / draft-laganier: IPv4{..} UDP{port -> 4191} IPv6{HoA -> HA} ESP MH BU{IPv4 CoA}."""
    if msg.option(Ipv4CareofAddress) is None:
        msg = replace(msg, options=(Ipv4CareofAddress(coa4),) + msg.options)
    return BuReceived(msg, hoa, HA, None, hoa if sa is ... else sa, outer)


def at_home(msg: BindingUpdate, hoa: IPv6Address = HOA) -> BuReceived:
    """RFC 6275 §11.5.4: IPv6{HoA -> HA} ESP MH BU (lifetime 0, Alternate CoA = HoA), no HAO."""
    msg = replace(msg, options=(AlternateCareofAddress(hoa),) + msg.options)
    return BuReceived(msg, hoa, HA, None, hoa)


def v4req(addr: IPv4Address = ANY4, p: bool = False) -> Ipv4HomeAddress:
    return Ipv4HomeAddress(32, p, addr)


def bid(n: int, coa=None, **kw) -> BindingIdentifier:
    return BindingIdentifier(n, coa=coa, **kw)


def sent(actions: list) -> list:
    """Every message action, after an encode/decode round trip through the MH codec
    with the checksum over the addresses RFC 6275 §6.1.1 names; returns the decoded messages."""
    out = []
    for a in actions:
        if isinstance(a, (SendBindingAck, SendBindingRefreshRequest)):
            wire = encode_mh(a.message, a.route.src, a.route.home_address)
            got = decode_mh(wire, a.route.src, a.route.home_address)
        elif isinstance(a, SendMh):
            wire = encode_mh(a.message, a.src, a.dst)
            got = decode_mh(wire, a.src, a.dst)
        else:
            continue
        assert got == a.message, f"{type(a.message).__name__} does not survive the codec"
        out.append(got)
    return out


def only(actions: list, cls: type):
    got = [a for a in actions if isinstance(a, cls)]
    assert len(got) == 1, f"expected one {cls.__name__}, got {actions}"
    return got[0]


def of(actions: list, cls: type) -> list:
    return [a for a in actions if isinstance(a, cls)]


def ba_of(actions: list):
    """The one BA sent (decoded back from its bytes) and its action."""
    acks = of(actions, SendBindingAck)
    assert len(acks) == 1, f"expected one BA, got {actions}"
    (msg,) = sent(acks)
    return msg, acks[0]
