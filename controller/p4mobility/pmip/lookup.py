"""Which binding cache entry a PBU is about (RFC 5213 §5.4.1, multihoming).

Rule, evaluated in this order:
- §5.4.1.1 the PBU names at least one non-zero HNP: no BCE holds any of them
  -> new session; one holds it for another MN-ID -> 155; the BCE's prefix set
  differs from the PBU's (value or count) -> 159; otherwise update that BCE.
- §5.4.1.2 ALL_ZERO HNP with an MN-LL-ID: a BCE with the same (MN-ID, ATT,
  MN-LL-ID) -> update; else with exactly one BCE for the MN-ID: HI=2 ->
  update it, HI=4 -> wait MaxDelayBeforeNewBCEAssign for the old MAG's
  de-registration (update at once if it already arrived); else new session.
- §5.4.1.3 ALL_ZERO HNP without MN-LL-ID: exactly one BCE for the MN-ID and
  HI=2/3 -> update; HI=4 -> wait as above; else new session.
Our addition (the RFC cannot tell them apart, §5.4.1.3): an HI=1 PBU without
MN-LL-ID from the Proxy-CoA and ATT of an existing BCE of the same MN is a
retransmission of that BCE's initial PBU whose PBA was lost, not a new session.
"""
from __future__ import annotations

from enum import Enum
from ipaddress import IPv6Address, IPv6Network

from p4mobility.mh.constants import HandoffIndicator as HI

from .bce import BindingCacheEntry, ProxyBindingCache
from .errors import BcePbuPrefixSetMismatch, NotAuthorizedForHnp
from .lma_state import BceState


class Lookup(Enum):
    NEW = "new"
    UPDATE = "update"
    WAIT = "wait"


def lookup_bce(cache: ProxyBindingCache, *, mn_id: bytes, hnps: tuple[IPv6Network, ...], att: int,
               mn_ll_id: bytes | None, hi: int, proxy_coa: IPv6Address,
               create_new_on_unknown: bool = False) -> tuple[Lookup, BindingCacheEntry | None]:
    """``hnps`` are the non-zero prefixes of the PBU (empty = ALL_ZERO)."""
    if hnps:
        found: dict[int, BindingCacheEntry] = {}
        for net in hnps:
            hit = cache.for_prefix(net)
            if hit is not None:
                found[hit.binding_id] = hit  # type: ignore[assignment]
        if not found:
            return Lookup.NEW, None
        for bce in found.values():
            if bce.mn_id != mn_id:  # §5.4.1.1: prefix belongs to another MN
                raise NotAuthorizedForHnp(f"prefix bound to another mobile node (binding {bce.binding_id})")
        bce = next(iter(found.values()))
        if len(found) > 1 or set(bce.home_prefixes) != set(hnps) or len(bce.home_prefixes) != len(hnps):
            raise BcePbuPrefixSetMismatch(f"binding {bce.binding_id} holds {[str(n) for n in bce.home_prefixes]}")
        return Lookup.UPDATE, bce

    candidates = cache.for_mn(mn_id)
    if mn_ll_id is not None:  # §5.4.1.2
        bce = cache.for_ll(mn_id, att, mn_ll_id)
        if bce is not None:
            return Lookup.UPDATE, bce
        if len(candidates) == 1:
            if hi == HI.HANDOFF_BETWEEN_DIFFERENT_INTERFACES:
                return Lookup.UPDATE, candidates[0]
            if hi == HI.HANDOFF_STATE_UNKNOWN:
                return _unknown(candidates[0], create_new_on_unknown)
        return Lookup.NEW, None

    # §5.4.1.3
    if len(candidates) == 1:
        if hi in (HI.HANDOFF_BETWEEN_DIFFERENT_INTERFACES, HI.HANDOFF_BETWEEN_MAGS_SAME_INTERFACE):
            return Lookup.UPDATE, candidates[0]
        if hi == HI.HANDOFF_STATE_UNKNOWN:
            return _unknown(candidates[0], create_new_on_unknown)
    if hi == HI.ATTACHMENT_OVER_NEW_INTERFACE:
        for bce in candidates:  # retransmitted initial PBU (see module rule)
            if bce.coa == proxy_coa and bce.att == att and bce.mn_ll_id is None:
                return Lookup.UPDATE, bce
    return Lookup.NEW, None


def _unknown(bce: BindingCacheEntry, create_new: bool) -> tuple[Lookup, BindingCacheEntry | None]:
    if bce.state is BceState.DEREGISTERING:  # old MAG already de-registered (Fig. 3)
        return Lookup.UPDATE, bce
    if create_new:  # §5.4.1.2: MAY create a new session at once
        return Lookup.NEW, None
    return Lookup.WAIT, bce


__all__ = ["Lookup", "lookup_bce"]
