"""Validating a received PBU (RFC 5213 §5.3.1, §5.5 window) into a PbuContext.

Rule: checks run in the RFC 5213 §5.3.1 order and raise the PbuRejected
subclass that names the PBA status: no MN-ID 160; untrusted MAG 154; unknown
MN 153; MAG not allowed for this MN 154; proxy registration disabled 152;
Timestamp absent or outside TimestampValidityWindow 156 (§5.5); no HNP 158,
no HI 161, no ATT 162; a malformed prefix 155; a Proxy-CoA from an Alternate
Care-of Address option that is not unicast routable, or is the LMAA, 174 (RFC
6275 §9.5.1). Options are read in one pass; nothing here changes state.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MnIdentifier,
    MnLinkLayerIdentifier,
    Timestamp,
    seconds_to_lifetime,
)
from p4mobility.mh.options import AlternateCareofAddress

from . import errors as E
from .config import ALL_ZERO, LmaConfig
from .events import PbuReceived
from .policy import MnPolicy, PolicyStore


@dataclass(frozen=True, slots=True)
class PbuContext:
    """A PBU that passed the §5.3.1 checks, with its options read once."""

    event: PbuReceived
    mn_id: bytes
    mn_id_subtype: int
    profile: MnPolicy
    proxy_coa: IPv6Address
    hnps: tuple[IPv6Network, ...]  # non-zero prefixes; empty = ALL_ZERO
    hi: int
    att: int
    mn_ll_id: bytes | None
    link_local: IPv6Address | None  # None: no option; ALL_ZERO: asks for the stored one
    timestamp: int | None
    granted: int  # lifetime units; 0 = de-registration



def _addr(value: Any) -> IPv6Address:
    """IPv6Address without a round trip through str() when it already is one."""
    return value if type(value) is IPv6Address else IPv6Address(value)


def _prefix(opt: HomeNetworkPrefix) -> IPv6Network:
    try:
        return IPv6Network((int(_addr(opt.prefix)), opt.prefix_length))
    except ValueError as exc:  # host bits set or length > 128
        raise E.NotAuthorizedForHnp(f"invalid prefix {opt.prefix}/{opt.prefix_length}") from exc


def _unicast_routable(a: IPv6Address, cfg: LmaConfig) -> bool:
    return not (a.is_multicast or a.is_unspecified or a.is_loopback or a.is_link_local
                or a == cfg.lma_address)


def _read_options(options: tuple) -> tuple[dict[type, Any], list[HomeNetworkPrefix]]:
    """One pass: the first option of each wanted class, and every HNP option."""
    first: dict[type, Any] = {}
    hnps: list[HomeNetworkPrefix] = []
    for opt in options:
        cls = type(opt)
        if cls is HomeNetworkPrefix:
            hnps.append(opt)
        elif cls not in first:
            first[cls] = opt
    return first, hnps


def validate_pbu(ev: PbuReceived, now: float, cfg: LmaConfig, policy: PolicyStore) -> PbuContext:
    """RFC 5213 §5.3.1 checks in order; raises a PbuRejected subclass."""
    msg = ev.message
    opts, hnp_opts = _read_options(msg.options)
    mn = opts.get(MnIdentifier)
    if mn is None or not mn.identifier:
        raise E.MissingMnIdOption("no MN Identifier option")  # §5.3.1
    if not policy.mag_trusted(ev.src):
        raise E.MagNotAuthorized(f"{ev.src} is not a trusted MAG")  # §4, §5.3.1
    profile = policy.profile(mn.identifier)
    if profile is None:
        raise E.NotLmaForThisMobileNode("no policy profile for this MN")
    if not policy.mag_allowed(profile, ev.src):
        raise E.MagNotAuthorized(f"{ev.src} may not register this MN")
    if not profile.proxy_registration_enabled:
        raise E.ProxyRegNotEnabled("network-based mobility not enabled for this MN")
    ts = opts.get(Timestamp)
    if cfg.timestamp_based_approach_in_use:  # §5.5
        if ts is None:
            raise E.TimestampMismatch("no Timestamp option")
        if abs(ts.seconds - now) > cfg.timestamp_validity_window:
            raise E.TimestampMismatch(f"timestamp off by {ts.seconds - now:+.3f}s")
    if not hnp_opts:
        raise E.MissingHnpOption("no Home Network Prefix option")
    hi = opts.get(HandoffIndicatorOption)
    if hi is None:
        raise E.MissingHandoffIndicatorOption("no Handoff Indicator option")
    att = opts.get(AccessTechnologyTypeOption)
    if att is None:
        raise E.MissingAccessTechTypeOption("no Access Technology Type option")
    alt = opts.get(AlternateCareofAddress)
    proxy_coa = _addr(alt.address) if alt else ev.src
    if alt and not _unicast_routable(proxy_coa, cfg):
        raise E.InvalidCareofAddress(f"Proxy-CoA {proxy_coa} is not a unicast routable address")
    hnps = tuple(dict.fromkeys(_prefix(o) for o in hnp_opts if _addr(o.prefix) != ALL_ZERO))
    ll = opts.get(MnLinkLayerIdentifier)
    lla = opts.get(LinkLocalAddress)
    seconds = msg.lifetime_seconds
    if seconds:  # RFC 6275 §10.3.1: grant at most the configured maximum
        cap = min(cfg.max_binding_lifetime, profile.max_lifetime or cfg.max_binding_lifetime)
        granted = max(1, seconds_to_lifetime(min(seconds, cap)))
    else:
        granted = 0
    return PbuContext(ev, mn.identifier, mn.subtype, profile, proxy_coa,
                hnps, hi.value, att.value, ll.identifier if ll else None,
                _addr(lla.address) if lla else None, ts.value if ts else None, granted)


__all__ = ["PbuContext", "validate_pbu"]
