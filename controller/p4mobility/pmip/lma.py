"""PMIPv6 local mobility anchor core (RFC 5213 §5), sans-I/O.

Rule: ``handle(event, now)`` and ``handle_timer(now)`` return actions and
never block, read a clock or touch a socket; ``next_deadline()`` says when to
call ``handle_timer`` next. A PBU is first validated in RFC 5213 §5.3.1 order
(MN-ID 160; trusted MAG 154; known MN 153; MAG allowed for the MN 154; proxy
registration enabled 152; Timestamp window 156 (§5.5); HNP 158, HI 161, ATT
162), then matched to a BCE (§5.4.1, lookup.py), ordered against it (§5.5:
157, or 135 in sequence-number mode) and only then applied: new session
(§5.3.2), refresh (§5.3.3), handoff (§5.3.4) or de-registration (§5.3.5).
Every check raises before the cache changes, so a rejected PBU leaves no
state. BCE state moves go through ``lma_state.next_state``.
"""
from __future__ import annotations

from enum import Enum
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Callable

from p4mobility.mh import BaStatus, MhType

from . import errors as E
from . import lma_persist
from .actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    LogEvent,
    SendMh,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from .bce import BindingCache, BindingCacheEntry
from .config import ALL_ZERO, LmaConfig
from .events import PbuReceived
from .lma_persist import BindingView, view
from .lma_state import BceEvent, BceState, next_state
from .lma_validate import PbuContext, validate_pbu
from .lookup import Lookup, lookup_bce
from .pba import make_pba
from .policy import PolicyStore
from .timers import DeadlineHeap


class Timer(Enum):
    LIFETIME = "lifetime"
    DELETE = "delete"  # MinDelayBeforeBCEDelete
    NEW_BCE_ASSIGN = "new_bce_assign"  # MaxDelayBeforeNewBCEAssign


def _seq_newer(new: int, last: int) -> bool:
    """RFC 6275 §9.5.1: modulo 2^16 'greater than'."""
    return 0 < ((new - last) & 0xFFFF) < 0x8000


class LocalMobilityAnchor:
    def __init__(self, config: LmaConfig, policy: PolicyStore) -> None:
        self.config = config
        self.policy = policy
        self.cache = BindingCache(config.max_bindings, config.max_tunnel_peers)
        self._timers = DeadlineHeap()
        self._parked: dict[int, PbuContext] = {}  # old binding id -> PBU waiting (HI=4)
        self._mh_handlers: dict[int, Callable[[Any, float], list]] = {MhType.BU: self._on_binding_update}
        self._timer_handlers: dict[Timer, Callable[[int, float], list]] = {
            Timer.LIFETIME: self._on_lifetime_expired,
            Timer.DELETE: self._on_delete_delay_expired,
            Timer.NEW_BCE_ASSIGN: self._on_new_bce_assign_expired,
        }

    # --- public interface ------------------------------------------------------

    def handle(self, event: Any, now: float) -> list:
        message = getattr(event, "message", None)
        handler = self._mh_handlers.get(getattr(message, "mh_type", None))
        if handler is None or not isinstance(event, PbuReceived):
            return [LogEvent("warning", f"LMA ignores {type(event).__name__}")]
        return handler(event, now)

    def handle_timer(self, now: float) -> list:
        actions: list = []
        for kind, bid in self._timers.pop_due(now):
            actions += self._timer_handlers[kind](bid, now)
        return actions

    def next_deadline(self) -> float | None:
        return self._timers.peek()

    def bindings(self) -> list[BindingView]:
        return [view(b) for b in self.cache]

    def binding(self, binding_id: int) -> BindingView | None:
        bce = self.cache.by_id.get(binding_id)
        return None if bce is None else view(bce)

    def bindings_for_mn(self, mn_id: bytes) -> list[BindingView]:
        return [view(b) for b in self.cache.for_mn(mn_id)]

    def binding_for_prefix(self, prefix: IPv6Network) -> BindingView | None:
        bce = self.cache.for_prefix(IPv6Network(prefix))
        return None if bce is None else view(bce)

    def show_bindings(self, now: float) -> dict[str, Any]:
        """Columns and rows for ``p4mob show bindings`` (runtime/show_cli.py)."""
        return lma_persist.bindings_table(self, now)

    def show_peers(self) -> dict[str, Any]:
        """Columns and rows for ``p4mob show peers``."""
        return lma_persist.peers_table(self)

    def tunnel_peers(self) -> dict[IPv6Address, tuple[int, int]]:
        """Proxy-CoA -> (tunnel peer id, number of bindings using it)."""
        return {a: (p.tunnel_peer_id, p.refcount) for a, p in self.cache.peers.items()}

    # --- PBU processing ----------------------------------------------------------

    def _on_binding_update(self, ev: PbuReceived, now: float) -> list:
        msg = ev.message
        try:
            if not msg.proxy:
                raise E.NotAProxyBindingUpdate("P flag clear")
            if ev.dst != self.config.lma_address:
                raise E.NotAddressedToThisLma(f"sent to {ev.dst}")
            pbu = self._validate(ev, now)
            return self._apply(pbu, now)
        except E.PbuRejected as err:
            pba = make_pba(msg, err.status, now=now, sequence=err.sequence)
            return [
                LogEvent("warning", f"PBU rejected: {err.status.name} ({err.detail})",
                         {"status": int(err.status), "src": str(ev.src)}),
                SendMh(pba, self.config.lma_address, ev.src),
            ]
        except E.PbuIgnored as err:
            return [LogEvent("info", f"PBU {err.action}: {type(err).__name__} ({err})", {"src": str(ev.src)})]

    def _validate(self, ev: PbuReceived, now: float) -> PbuContext:
        return validate_pbu(ev, now, self.config, self.policy)

    def _apply(self, pbu: PbuContext, now: float) -> list:
        kind, bce = lookup_bce(self.cache, mn_id=pbu.mn_id, hnps=pbu.hnps, att=pbu.att,
                               mn_ll_id=pbu.mn_ll_id, hi=pbu.hi, proxy_coa=pbu.proxy_coa,
                               create_new_on_unknown=self.config.create_new_bce_on_unknown_handoff)
        if bce is not None:  # §5.5 ordering against the entry it would change
            seq = pbu.event.message.sequence
            if self.config.timestamp_based_approach_in_use:
                if bce.timestamp is not None and pbu.timestamp is not None and pbu.timestamp <= bce.timestamp:
                    raise E.TimestampLowerThanPrevAccepted(f"binding {bce.binding_id} has a newer timestamp")
            elif not _seq_newer(seq, bce.sequence):
                raise E.SequenceNumberOutOfWindow(f"sequence {seq} not after {bce.sequence}", sequence=bce.sequence)
        if kind is Lookup.NEW:
            if pbu.granted == 0:  # RFC 6275 §10.3.2: nothing to de-register
                raise E.NotHomeAgentForThisMobileNode("de-registration for no binding")
            return self._register(pbu, now)
        assert bce is not None
        if kind is Lookup.WAIT:
            return self._park(bce, pbu, now)
        if pbu.granted == 0:
            if pbu.proxy_coa != bce.proxy_coa:  # §5.3.5: MUST ignore
                next_state(bce.state, BceEvent.STALE_DEREGISTER)
                raise E.StaleDeregistration(f"binding {bce.binding_id} is at {bce.proxy_coa}")
            return self._deregister(bce, pbu, now)
        if pbu.proxy_coa == bce.proxy_coa:
            return self._refresh(bce, pbu, now)
        return self._handoff(bce, pbu, now)

    def _register(self, pbu: PbuContext, now: float) -> list:
        """§5.3.2: new mobility session."""
        if not self.cache.can_add_binding() or not self.cache.can_add_peer(pbu.proxy_coa):
            raise E.InsufficientResources("no binding or tunnel slot left")
        hnps = self._assign_prefixes(pbu)  # raises 155/130, allocates last
        state = next_state(BceState.NONE, BceEvent.REGISTER)
        bid = self.cache.binding_ids.allocate()
        assert bid is not None
        peer, created = self.cache.acquire_peer(pbu.proxy_coa)
        lifetime = pbu.granted * 4
        lla = pbu.link_local if pbu.link_local not in (None, ALL_ZERO) else None
        bce = BindingCacheEntry(
            bid, pbu.mn_id, pbu.mn_id_subtype, pbu.mn_ll_id, hnps, pbu.proxy_coa, peer.tunnel_peer_id,
            pbu.att, pbu.hi, lla, pbu.timestamp, pbu.event.message.sequence, lifetime, now, now,
            now + lifetime, state)
        self.cache.add(bce)
        self._timers.set((Timer.LIFETIME, bid), bce.expires_at)
        actions: list = []
        if created:
            actions.append(TunnelPeerAdded(peer.tunnel_peer_id, self.config.lma_address, pbu.proxy_coa))
        actions.append(BindingCreated(bid, bce.mn_id, bce.mn_ll_id, bce.att, hnps, bce.proxy_coa,
                                      self.config.lma_address, peer.tunnel_peer_id, lifetime, bce.expires_at))
        return actions + [self._accept(bce, pbu, now)]

    def _assign_prefixes(self, pbu: PbuContext) -> tuple[IPv6Network, ...]:
        profile = self.policy.profile(pbu.mn_id) or pbu.profile
        if pbu.hnps:  # §5.3.2: a named prefix must be authorized for this MN
            for net in pbu.hnps:
                if net not in profile.static_hnps:
                    raise E.NotAuthorizedForHnp(f"{net} not in the MN's profile")
            return pbu.hnps
        static = profile.static_hnps
        if static and all(self.cache.for_prefix(n) is None for n in static):
            return static
        pool = self.policy.pools.get(profile.pool) if profile.pool else None
        if pool is None:
            raise E.InsufficientResources("no free prefix for this MN")
        got = []
        for _ in range(profile.prefixes_per_session):
            net = pool.allocate()
            if net is None:
                for n in got:  # roll back: a rejection leaves no state
                    pool.release(n)
                raise E.InsufficientResources(f"pool {profile.pool} exhausted")
            got.append(net)
        return tuple(got)

    def _refresh(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list:
        """§5.3.3: lifetime extension from the same MAG (revives a de-registering entry)."""
        was = bce.state
        bce.state = next_state(was, BceEvent.REFRESH)
        self._renew(bce, pbu, now)
        act = BindingUpdated(bce.binding_id, bce.mn_id, bce.hnps, bce.proxy_coa, self.config.lma_address,
                             bce.tunnel_peer_id, bce.lifetime, bce.expires_at,
                             reactivated=was is BceState.DEREGISTERING)
        return [act, self._accept(bce, pbu, now)]

    def _handoff(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list:
        """§5.3.4: the session moved to another MAG: one tunnel peer rewrite."""
        if not self.cache.can_add_peer(pbu.proxy_coa):
            raise E.InsufficientResources("no tunnel slot left")
        bce.state = next_state(bce.state, BceEvent.HANDOFF)
        self._drop_parked(bce.binding_id)
        old_coa, old_peer = bce.proxy_coa, bce.tunnel_peer_id
        peer, created = self.cache.acquire_peer(pbu.proxy_coa)
        gone = self.cache.release_peer(old_coa)
        bce.proxy_coa, bce.tunnel_peer_id = pbu.proxy_coa, peer.tunnel_peer_id
        self.cache.reindex_ll(bce, pbu.att, pbu.mn_ll_id)
        self._renew(bce, pbu, now)
        lma = self.config.lma_address
        actions: list = []
        if created:
            actions.append(TunnelPeerAdded(peer.tunnel_peer_id, lma, pbu.proxy_coa))
        actions.append(BindingMoved(bce.binding_id, bce.mn_id, bce.mn_ll_id, bce.att, bce.hnps, old_coa,
                                    old_peer, bce.proxy_coa, lma, bce.tunnel_peer_id, bce.lifetime,
                                    bce.expires_at))
        if gone is not None:
            actions.append(TunnelPeerRemoved(gone.tunnel_peer_id, lma, old_coa))
        return actions + [self._accept(bce, pbu, now)]

    def _deregister(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list:
        """§5.3.5: accept, drop traffic, delete after MinDelayBeforeBCEDelete."""
        first = bce.state is not BceState.DEREGISTERING
        bce.state = next_state(bce.state, BceEvent.DEREGISTER)
        self._store_order(bce, pbu)
        actions: list = []
        if first:
            bce.delete_at = now + self.config.min_delay_before_bce_delete
            self._timers.cancel((Timer.LIFETIME, bce.binding_id))
            self._timers.set((Timer.DELETE, bce.binding_id), bce.delete_at)
            actions.append(BindingDeregistered(bce.binding_id, bce.mn_id, bce.hnps, bce.proxy_coa,
                                               bce.tunnel_peer_id, bce.delete_at))
        actions.append(SendMh(make_pba(pbu.event.message, BaStatus.ACCEPTED, now=now, lifetime=0,
                                       hnps=bce.hnps, stored_link_local=bce.mag_link_local),
                              self.config.lma_address, pbu.event.src))
        parked = self._drop_parked(bce.binding_id)
        if parked is not None:  # §5.4.1: the awaited de-registration came
            actions += self._apply_update(bce, parked, now)
        return actions

    def _park(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list:
        """§5.4.1.2/§5.4.1.3, HI=4: wait MaxDelayBeforeNewBCEAssign for the old MAG."""
        bce.state = next_state(bce.state, BceEvent.HANDOFF_UNKNOWN)
        key = (Timer.NEW_BCE_ASSIGN, bce.binding_id)
        if self._timers.get(key) is None:
            self._timers.set(key, now + self.config.max_delay_before_new_bce_assign)
        self._parked[bce.binding_id] = pbu  # a retransmission replaces the parked PBU
        return [LogEvent("info", f"PBU parked: handoff state unknown, binding {bce.binding_id}",
                         {"until": self._timers.get(key)})]

    def _apply_update(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list:
        if pbu.proxy_coa == bce.proxy_coa:
            return self._refresh(bce, pbu, now)
        return self._handoff(bce, pbu, now)

    def _drop_parked(self, bid: int) -> PbuContext | None:
        self._timers.cancel((Timer.NEW_BCE_ASSIGN, bid))
        return self._parked.pop(bid, None)

    def _renew(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> None:
        self._store_order(bce, pbu)
        bce.handoff_indicator = pbu.hi
        if bce.mag_link_local is None and pbu.link_local not in (None, ALL_ZERO):
            bce.mag_link_local = pbu.link_local
        bce.lifetime = pbu.granted * 4
        bce.refreshed_at = now
        bce.expires_at = now + bce.lifetime
        bce.delete_at = None
        self._timers.cancel((Timer.DELETE, bce.binding_id))
        self._timers.set((Timer.LIFETIME, bce.binding_id), bce.expires_at)

    @staticmethod
    def _store_order(bce: BindingCacheEntry, pbu: PbuContext) -> None:
        if pbu.timestamp is not None:
            bce.timestamp = max(pbu.timestamp, bce.timestamp or 0)
        bce.sequence = pbu.event.message.sequence

    def _accept(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> SendMh:
        pba = make_pba(pbu.event.message, BaStatus.ACCEPTED, now=now, lifetime=pbu.granted,
                       hnps=bce.hnps, stored_link_local=bce.mag_link_local)
        return SendMh(pba, self.config.lma_address, pbu.event.src)

    # --- timers ------------------------------------------------------------------

    def _on_lifetime_expired(self, bid: int, now: float) -> list:
        bce = self.cache.by_id[bid]
        next_state(bce.state, BceEvent.LIFETIME_EXPIRED)
        parked = self._drop_parked(bid)
        actions = self._delete(bce, "expired")
        if parked is not None:
            actions += self._register_or_reject(parked, now)
        return actions

    def _on_delete_delay_expired(self, bid: int, now: float) -> list:
        bce = self.cache.by_id[bid]
        next_state(bce.state, BceEvent.DELETE_DELAY_EXPIRED)
        return self._delete(bce, "deregistered")

    def _on_new_bce_assign_expired(self, bid: int, now: float) -> list:
        """§5.4.1: no de-registration came in time: the parked PBU is a new session."""
        parked = self._parked.pop(bid)
        bce = self.cache.by_id[bid]
        bce.state = next_state(bce.state, BceEvent.NEW_BCE_ASSIGN_EXPIRED)
        return self._register_or_reject(parked, now)

    def _register_or_reject(self, pbu: PbuContext, now: float) -> list:
        try:
            return self._register(pbu, now)
        except E.PbuRejected as err:
            pba = make_pba(pbu.event.message, err.status, now=now)
            return [LogEvent("warning", f"parked PBU rejected: {err.status.name}"),
                    SendMh(pba, self.config.lma_address, pbu.event.src)]

    def _delete(self, bce: BindingCacheEntry, reason: str) -> list:
        bce.state = BceState.DELETED
        for kind in Timer:
            self._timers.cancel((kind, bce.binding_id))
        profile = self.policy.profile(bce.mn_id)
        pool = self.policy.pools.get(profile.pool) if profile and profile.pool else None
        if pool is not None:
            for net in bce.hnps:
                pool.release(net)
        self.cache.remove(bce)
        gone = self.cache.release_peer(bce.proxy_coa)
        actions: list = [BindingDeleted(bce.binding_id, bce.mn_id, bce.hnps, bce.proxy_coa,
                                        bce.tunnel_peer_id, reason)]
        if gone is not None:
            actions.append(TunnelPeerRemoved(gone.tunnel_peer_id, self.config.lma_address, bce.proxy_coa))
        return actions

    # --- persistence (lma_persist.py) ----------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Plain, JSON-able state: one dict per BCE keyed by binding id."""
        return lma_persist.export_state(self)

    @classmethod
    def from_state(cls, config: LmaConfig, policy: PolicyStore, state: dict[str, Any]) -> "LocalMobilityAnchor":
        """Rebuild a core from ``export_state()`` output (ids, peers, pools, timers)."""
        lma = cls(config, policy)
        lma_persist.restore(lma, state)
        return lma

    def snapshot_actions(self) -> list:
        """Actions that rebuild the data plane from scratch (after a restore)."""
        return lma_persist.snapshot_actions(self)


__all__ = ["LocalMobilityAnchor", "BindingView", "Timer"]
