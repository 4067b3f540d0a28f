"""Home agent Binding Update checks, in the order of the spec's decision table
(spec/mipv6-dsmipv6.md §1, RFC 6275 §9.5.1, §10.3.1), before any state changes.

Rule: ``check_bu`` raises a BuDiscarded (answer nothing) or a BuRejected
(answer a BA with its status) at the first failing row, else returns a
BuContext the core applies. Rows: (1) the MH codec's checks happened before
the event existed; (2) not carried by ESP, or by an SA bound to another home
address -> discard (RFC 3776 §4.1: an MN registers only its own home
address); a BU in UDP 4191 while we have no IPv4 address -> discard;
(3) a care-of address is another binding's home address -> discard;
(4) Nonce Indices in a home registration -> discard; (5) H=1 sent to an
address where we are no HA -> 131; (6) an entry exists and the Sequence
Number is not newer mod 2^16 -> 135 with the entry's number; (7) H differs
from the entry's -> 139; H=0 without an entry -> discard (no correspondent
registration here); (8) home address outside our home prefixes -> 132 (our
own address -> 129); P -> 152; R -> 140; then care-of addresses (174,
RFC 5555 transport rules) and Binding Identifier options (RFC 5648 §5.2:
166, 168, 164, 169; per BID 167/174 in a bulk registration); (9) only
de-registrations and no entry -> 133; 165 for BIDs on a binding without
them. Resources (row 11, 130: binding and tunnel peer ids, at most
``max_care_of_addresses`` BIDs per home address) and the IPv4 home address
are decided here too; the core only applies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from p4mobility.binding import BindingCache, TunnelEndpoints, seq_newer
from p4mobility.mh import (
    AlternateCareofAddress,
    BindingIdentifier,
    Ipv4CareofAddress,
    Ipv4HomeAddress,
    NatDetection,
    NonceIndices,
)

from . import errors as E
from .actions import Ipv6Route, Route, UdpIpv4Route
from .bce import HomeBinding
from .config import LIFETIME_UNIT, HaConfig, MnProfile
from .dsmip import Ipv4Decision, Ipv4Pool, decide_ipv4_home_address, ipv4_path, ipv4_unicast
from .events import BuReceived, MobilePrefixSolicitationReceived

IPAddress = IPv4Address | IPv6Address


@dataclass(slots=True)
class BidRequest:
    """One binding the BU names: register ``endpoints`` for ``bid``, or de-register it."""

    bid: int
    coa: IPAddress | None  # None: de-register this BID
    endpoints: TunnelEndpoints | None = None
    nat_detected: bool = False
    signal_port: int | None = None
    status: int = 0  # a per-BID rejection (bulk registration), 0 = fine

    @property
    def deregister(self) -> bool:
        return self.coa is None


@dataclass(slots=True)
class BuContext:
    event: BuReceived
    home_address: IPv6Address
    route: Route
    binding: HomeBinding | None
    profile: MnProfile
    requests: list[BidRequest] = field(default_factory=list)
    whole: bool = True  # no BID option: the BU speaks for every BID of the binding (RFC 5648 §5.2)
    granted: int = 0  # lifetime units
    ipv4: Ipv4Decision | None = None
    nat_option: NatDetection | None = None

    @property
    def ok(self) -> list[BidRequest]:
        return [r for r in self.requests if not r.status]


def route_for(ev: BuReceived | MobilePrefixSolicitationReceived, hoa: IPv6Address, config: HaConfig) -> Route:
    """Where the answer goes: back the way the message came (RFC 6275 §9.5.4; RFC 5555 §4.1)."""
    if ev.outer_v4 is not None and config.ha_address_v4 is not None:
        return UdpIpv4Route(config.ha_address_v4, ev.outer_v4[0], ev.outer_v4[1], ev.dst, hoa)
    return Ipv6Route(ev.dst, ev.src, hoa)


def _unicast_v6(a: IPv6Address) -> bool:
    return not (a.is_multicast or a.is_unspecified or a.is_loopback or a.is_link_local)


def check_bu(ev: BuReceived, config: HaConfig, cache: BindingCache, profile_of, pool: Ipv4Pool | None
             ) -> BuContext:
    bu, hoa = ev.message, ev.home_address
    # row 2: RFC 3776 §4.1 ESP is mandatory; the SA names the only HoA this sender may register
    if ev.protected_by is None:
        raise E.UnprotectedBindingUpdate(f"BU for {hoa} without ESP")
    if ev.protected_by != hoa:
        raise E.SaHomeAddressMismatch(f"BU for {hoa} on the SA of {ev.protected_by}")
    if ev.outer_v4 is not None and config.ha_address_v4 is None:
        raise E.NoIpv4Endpoint("BU in UDP 4191 but no ha_address_v4")
    bid_opts = bu.options_of(BindingIdentifier)
    primary = _primary_coa(ev)
    # row 3: a CoA that is the HoA of another binding would loop packets through us
    for coa in {primary, *(o.coa for o in bid_opts if o.coa is not None)} - {None, hoa}:
        other = cache.for_address(coa)
        if other is not None and other.mn_id != hoa.packed:
            raise E.CircularRegistration(f"care-of address {coa} is a home address of binding {other.binding_id}")
    if bu.home_registration and bu.option(NonceIndices) is not None:  # row 4
        raise E.NonceIndicesInHomeRegistration(f"BU for {hoa}")
    if bu.home_registration and ev.dst != config.ha_address:  # row 5
        raise E.HomeRegistrationNotSupported(f"sent to {ev.dst}, we are the home agent at {config.ha_address}")
    b: HomeBinding | None = cache.for_address(hoa)  # type: ignore[assignment]
    if b is not None and not seq_newer(bu.sequence, b.sequence):  # row 6, RFC 6275 §9.5.1
        raise E.SequenceNumberOutOfWindow(f"sequence {bu.sequence} not after {b.sequence}", sequence=b.sequence)
    if b is not None and not bu.home_registration:  # row 7: our entries are all home registrations
        raise E.RegistrationTypeChangeDisallowed("H flag clear for a home registration")
    if not bu.home_registration:
        raise E.CorrespondentRegistration(f"H flag clear from {ev.src}")
    if not config.serves(hoa):  # row 8
        raise E.NotHomeSubnet(f"{hoa} is in no home prefix")
    if hoa == config.ha_address:
        raise E.AdministrativelyProhibited("the home agent's own address")
    if bu.proxy:
        raise E.ProxyRegistrationNotEnabled("P flag at a home agent")
    if bu.mobile_router:
        raise E.MobileRouterOperationNotPermitted("no mobile network prefixes here")
    profile = profile_of(hoa)
    ctx = BuContext(ev, hoa, route_for(ev, hoa, config), b, profile)
    ctx.granted = min(bu.lifetime, int(config.max_binding_lifetime // LIFETIME_UNIT))  # RFC 6275 §10.3.1
    _requests(ctx, config, primary, bid_opts)
    if not ctx.ok:  # every BID refused: the first refusal answers the BU
        raise _status_error(ctx.requests[0].status)
    regs = [r for r in ctx.ok if not r.deregister]
    if b is None and not regs:  # row 9, RFC 6275 §10.3.2
        raise E.NotHomeAgentForThisMobileNode(f"de-registration of {hoa}: no binding")
    if b is not None and regs and not ctx.whole and not b.uses_bids:
        raise E.McoaNonMcoaBindingExists(f"binding {b.binding_id} has no BIDs")
    if regs:  # row 11: the whole registration fits, or nothing changes
        if (b is None and not cache.can_add_binding()) or not cache.can_set_paths(
                r.endpoints for r in regs if r.endpoints is not None):
            raise E.InsufficientResources("no binding or tunnel slot left")
        kept = set() if b is None or ctx.whole else set(b.paths) - {r.bid for r in ctx.ok if r.deregister}
        if len(kept | {r.bid for r in regs}) > config.max_care_of_addresses:
            raise E.InsufficientResources(f"more than {config.max_care_of_addresses} care-of addresses")
        opt = bu.option(Ipv4HomeAddress)
        if opt is not None:
            ctx.ipv4 = decide_ipv4_home_address(opt, b.ipv4_home_address if b else None, profile, pool)
    return ctx


def _primary_coa(ev: BuReceived) -> IPAddress | None:
    """RFC 6275 §9.5.1: Alternate CoA option, else the IPv6 Source; RFC 5555 §3.1.2: the
    IPv4 CoA option when the BU came over IPv4 (None without one: the inner source is
    the home address there, never a care-of address)."""
    v4 = ev.message.option(Ipv4CareofAddress)
    if ev.outer_v4 is not None:
        return None if v4 is None else v4.address
    alt = ev.message.option(AlternateCareofAddress)
    return alt.address if alt is not None else ev.src


def _status_error(status: int) -> E.BuRejected:
    for cls in E.BuRejected.__subclasses__():
        if cls.status == status:
            return cls("every binding of the BU refused")
    return E.BuRejected(f"status {status}")


def _requests(ctx: BuContext, config: HaConfig, primary: IPAddress | None, opts: tuple[BindingIdentifier, ...]) -> None:
    ev, bu, hoa = ctx.event, ctx.event.message, ctx.home_address
    dereg = bu.lifetime == 0 or primary == hoa  # RFC 6275 §9.5.1: lifetime 0 or CoA = HoA
    if not dereg:
        _check_primary(ev, primary)
    if not opts:  # RFC 5648 §5.2: a BU without BID speaks for the whole binding (BID 0)
        ctx.requests = [BidRequest(0, None) if dereg else _register(ctx, config, 0, primary)]
        return
    ctx.whole = False
    if not (config.mcoa_enabled and ctx.profile.multiple_coa):
        raise E.McoaProhibited("multiple care-of addresses are off")
    if len(opts) > 1 and not config.mcoa_bulk_registration:
        raise E.McoaBulkRegistrationProhibited(f"{len(opts)} BID options")
    bids = [o.bid for o in opts]
    # two registrations both meaning "the BU's own CoA" would be one binding under two BIDs
    if 0 in bids or len(set(bids)) != len(bids) or (not dereg and sum(o.coa is None for o in opts) > 1):
        raise E.McoaMalformed(f"BIDs {bids}")
    if any(o.h for o in opts):
        raise E.McoaSimultaneousHomeAndForeignProhibited("H flag in a BID option")
    b = ctx.binding
    for o in opts:
        coa = primary if o.coa is None else o.coa
        if bu.lifetime == 0 or coa == hoa:
            known = b is None or o.bid in b.paths  # no binding at all: row 9 answers (133)
            ctx.requests.append(BidRequest(o.bid, None, status=0 if known else E.McoaUnknownCoa.status))
            continue
        try:
            if o.coa is not None and coa != primary:
                _check_listed(coa)
            ctx.requests.append(_register(ctx, config, o.bid, coa))
        except E.BuRejected as err:
            ctx.requests.append(BidRequest(o.bid, coa, status=err.status))


def _check_primary(ev: BuReceived, coa: IPAddress | None) -> None:
    """RFC 6275 §9.5.1 (174) and RFC 5555 §3.1.2, §4.2 transport rules for the BU's own CoA."""
    has_v4 = ev.message.option(Ipv4CareofAddress) is not None
    if ev.outer_v4 is not None and not has_v4:
        raise E.InvalidCareofAddress("BU over IPv4 without an IPv4 Care-of Address option")
    if ev.outer_v4 is None and has_v4:
        raise E.InvalidCareofAddress("IPv4 Care-of Address option in a BU that did not come over IPv4")
    assert coa is not None
    ok = ipv4_unicast(coa) if isinstance(coa, IPv4Address) else _unicast_v6(coa)
    if not ok:
        raise E.InvalidCareofAddress(f"{coa} is not a unicast routable address")


def _check_listed(coa: IPAddress) -> None:
    """A CoA named only in a BID option (bulk registration, RFC 5648 §4.3): IPv6 and unicast.
    An IPv4 CoA must carry its own BU over its own UDP path so its NAT can be seen
    (RFC 5555 §4.2; decision): 167 otherwise."""
    if isinstance(coa, IPv4Address):
        raise E.McoaUnknownCoa(f"IPv4 care-of address {coa} not carried by this BU")
    if not _unicast_v6(coa):
        raise E.InvalidCareofAddress(f"{coa} is not a unicast routable address")


def _register(ctx: BuContext, config: HaConfig, bid: int, coa: IPAddress) -> BidRequest:
    ev = ctx.event
    if isinstance(coa, IPv6Address):  # RFC 6275 §10.4.1: IPv6-in-IPv6 HA <-> CoA
        return BidRequest(bid, coa, TunnelEndpoints(config.ha_address, coa))
    assert ev.outer_v4 is not None
    v4 = ipv4_path(config, ctx.profile, coa, ev.outer_v4, ev.message.force_udp)
    ctx.nat_option = v4.nat_option
    return BidRequest(bid, coa, v4.endpoints, v4.nat_detected, ev.outer_v4[1])


__all__ = ["BidRequest", "BuContext", "check_bu", "route_for"]
