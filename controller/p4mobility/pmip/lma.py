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
state. BCE state moves go through ``lma_state.next_state``. Before all of it,
lma_guard.py bounds a flood from one source; it also answers an MH that did
not decode (RFC 6275 §9.2) and keeps the counts of what was dropped.
"""
from __future__ import annotations

from enum import Enum
from ipaddress import IPv6Address
from typing import Callable, Iterable

from p4mobility.binding import DeadlineHeap, TunnelEndpoints, seq_newer
from p4mobility.mh import BaStatus, MhType

from . import errors as E
from .actions import (
    Action,
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    HoldDownlink,
    LogEvent,
    ReleaseDownlink,
    SendMh,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from .bce import PROXY_BID, BindingCacheEntry, ProxyBindingCache
from .config import ALL_ZERO, LIFETIME_UNIT, LmaConfig
from .events import DownlinkPunted, LmaEvent, MhUndecodable, OtherMhReceived, PbuReceived
from .lma_guard import LmaGuard
from .lma_state import BceEvent, BceState, next_state
from .lma_validate import PbuContext, validate_pbu
from .lookup import Lookup, lookup_bce
from .pba import make_pba
from .policy import PolicyStore
from .prefixes import assign_prefixes, release_prefixes, reserve_prefixes
from .lma_records import LmaRecords, view
from .records import BindingView


class Timer(Enum):
    LIFETIME = "lifetime"
    DELETE = "delete"  # MinDelayBeforeBCEDelete
    NEW_BCE_ASSIGN = "new_bce_assign"  # MaxDelayBeforeNewBCEAssign


class LocalMobilityAnchor(LmaRecords):
    def __init__(self, config: LmaConfig, policy: PolicyStore) -> None:
        self.config = config
        self.policy = policy
        self.cache = ProxyBindingCache(config.max_bindings, config.max_tunnel_peers)
        self._timers = DeadlineHeap()
        self._parked: dict[int, PbuContext] = {}  # old binding id -> PBU waiting (HI=4)
        self._touched: set[int] = set()  # binding ids changed since take_changes()
        self.guard = LmaGuard(config)
        self.counters = self.guard.counters  # what was dropped or answered outside a PBA, by name
        self._mh_handlers: dict[int, Callable[[PbuReceived, float], list[Action]]] = {
            MhType.BU: self._on_binding_update}
        self._timer_handlers: dict[Timer, Callable[[int, float], list[Action]]] = {
            Timer.LIFETIME: self._on_lifetime_expired,
            Timer.DELETE: self._on_delete_delay_expired,
            Timer.NEW_BCE_ASSIGN: self._on_new_bce_assign_expired,
        }

    # --- public interface ------------------------------------------------------

    def handle(self, event: LmaEvent, now: float) -> list[Action]:
        if isinstance(event, DownlinkPunted):
            return self._on_downlink_punted(event)
        if isinstance(event, MhUndecodable):
            return self.guard.undecodable(event, now)
        if isinstance(event, OtherMhReceived):
            return self.guard.not_handled(event)
        if isinstance(event, PbuReceived):
            dropped = self.guard.admit(event.src, now)
            if dropped is not None:
                return dropped
        handler = self._mh_handlers.get(getattr(event.message, "mh_type", None)) \
            if isinstance(event, PbuReceived) else None
        if handler is None:
            return [LogEvent("warning", f"LMA ignores {type(event).__name__}")]
        return handler(event, now)

    def handle_timer(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for kind, bid in self._timers.pop_due(now):
            actions += self._timer_handlers[kind](bid, now)
        return actions

    def next_deadline(self) -> float | None:
        return self._timers.peek()

    # --- downlink to a binding that does not forward (RFC 5213 §5.3.5) ------------------

    def _on_downlink_punted(self, ev: DownlinkPunted) -> list[Action]:
        """The switch punts downlink for a de-registering binding: hold it until the
        MN registers again (a handoff's de-registration comes first, Fig. 3)."""
        bce = self.cache.for_address(ev.dst)
        if bce is None:
            return []
        held: list[Action] = [HoldDownlink(bce.binding_id, ev.frame)]
        if bce.state is not BceState.DEREGISTERING:  # punted before the binding forwarded again
            held.append(ReleaseDownlink(bce.binding_id, bce.home_prefixes))
        return held

    # --- PBU processing ----------------------------------------------------------

    def _on_binding_update(self, ev: PbuReceived, now: float) -> list[Action]:
        msg = ev.message
        try:
            if not msg.proxy:
                raise E.NotAProxyBindingUpdate("P flag clear")
            if ev.dst != self.config.lma_address:
                raise E.NotAddressedToThisLma(f"sent to {ev.dst}")
            pbu = validate_pbu(ev, now, self.config, self.policy)
            return self._apply(pbu, now)
        except E.PbuRejected as err:
            pba = make_pba(msg, err.status, now=now, sequence=err.sequence)
            return [
                LogEvent("warning", f"PBU rejected: {err.status.name} ({err.detail})",
                         {"status": int(err.status), "src": str(ev.src)}),
                SendMh(pba, self.config.lma_address, ev.src),
            ]
        except E.PbuIgnored as err:
            n = self.guard.count(err.counter)
            return [LogEvent("info", f"PBU {err.action}: {type(err).__name__} ({err})",
                             {"src": str(ev.src), "counter": err.counter, "count": n})]

    def _endpoints(self, proxy_coa: IPv6Address) -> TunnelEndpoints:
        # RFC 5213 §5.6.1: bidirectional IPv6-in-IPv6 tunnel LMAA <-> Proxy-CoA
        return TunnelEndpoints(self.config.lma_address, proxy_coa)

    def _apply(self, pbu: PbuContext, now: float) -> list[Action]:
        kind, bce = lookup_bce(self.cache, mn_id=pbu.mn_id, hnps=pbu.hnps, att=pbu.att,
                               mn_ll_id=pbu.mn_ll_id, hi=pbu.hi, proxy_coa=pbu.proxy_coa,
                               create_new_on_unknown=self.config.create_new_bce_on_unknown_handoff)
        if bce is not None:  # §5.5 ordering against the entry it would change
            seq = pbu.event.message.sequence
            if self.config.timestamp_based_approach_in_use:
                if bce.timestamp is not None and pbu.timestamp is not None and pbu.timestamp <= bce.timestamp:
                    raise E.TimestampLowerThanPrevAccepted(f"binding {bce.binding_id} has a newer timestamp")
            elif not seq_newer(seq, bce.sequence):
                raise E.SequenceNumberOutOfWindow(f"sequence {seq} not after {bce.sequence}", sequence=bce.sequence)
        if kind is Lookup.NEW:
            if pbu.granted == 0:  # RFC 6275 §10.3.2: nothing to de-register
                raise E.NotHomeAgentForThisMobileNode("de-registration for no binding")
            return self._register(pbu, now)
        assert bce is not None
        if kind is Lookup.WAIT:
            return self._park(bce, pbu, now)
        if pbu.granted == 0:
            if pbu.proxy_coa != bce.coa:  # §5.3.5: MUST ignore
                next_state(bce.state, BceEvent.STALE_DEREGISTER)
                raise E.StaleDeregistration(f"binding {bce.binding_id} is at {bce.coa}")
            return self._deregister(bce, pbu, now)
        if pbu.proxy_coa == bce.coa:
            return self._refresh(bce, pbu, now)
        return self._handoff(bce, pbu, now)

    def _register(self, pbu: PbuContext, now: float) -> list[Action]:
        """§5.3.2: new mobility session."""
        endpoints = self._endpoints(pbu.proxy_coa)
        if not self.cache.can_add_binding() or not self.cache.can_set_path(endpoints):
            raise E.InsufficientResources("no binding or tunnel slot left")
        hnps = assign_prefixes(self.policy, self.cache, pbu)  # raises 155/130, allocates last
        state = next_state(BceState.NONE, BceEvent.REGISTER)
        bid = self.cache.binding_ids.allocate()
        assert bid is not None
        lifetime = pbu.granted * LIFETIME_UNIT
        lla = pbu.link_local if pbu.link_local not in (None, ALL_ZERO) else None
        bce = BindingCacheEntry(
            bid, pbu.mn_id, hnps, {}, pbu.event.message.sequence, lifetime, now, now, now + lifetime,
            mn_id_subtype=pbu.mn_id_subtype, mn_ll_id=pbu.mn_ll_id, att=pbu.att, handoff_indicator=pbu.hi,
            mag_link_local=lla, timestamp=pbu.timestamp, state=state)
        self.cache.add(bce)
        _, created, _ = self.cache.set_path(bce, PROXY_BID, endpoints)
        self._timers.set((Timer.LIFETIME, bid), bce.expires_at)
        self._touched.add(bid)
        actions: list[Action] = []
        if created is not None:
            actions.append(TunnelPeerAdded(created.tunnel_peer_id, endpoints))
        actions.append(BindingCreated(bid, bce.mn_id, hnps, bce.path_tuple(), lifetime, bce.expires_at))
        return actions + [self._accept(bce, pbu, now)]

    def _refresh(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list[Action]:
        """§5.3.3: lifetime extension from the same MAG (revives a de-registering entry)."""
        was = bce.state
        bce.state = next_state(was, BceEvent.REFRESH)
        self._renew(bce, pbu, now)
        revived = was is BceState.DEREGISTERING
        actions: list[Action] = [BindingUpdated(bce.binding_id, bce.mn_id, bce.home_prefixes, bce.path_tuple(),
                                                bce.lifetime, bce.expires_at, reactivated=revived)]
        if revived:  # downlink held since the de-registration goes out again
            actions.append(ReleaseDownlink(bce.binding_id, bce.home_prefixes))
        return actions + [self._accept(bce, pbu, now)]

    def _handoff(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list[Action]:
        """§5.3.4: the session moved to another MAG: the binding's one path moves."""
        endpoints = self._endpoints(pbu.proxy_coa)
        if not self.cache.can_set_path(endpoints):
            raise E.InsufficientResources("no tunnel slot left")
        bce.state = next_state(bce.state, BceEvent.HANDOFF)
        self._drop_parked(bce.binding_id)
        old_paths = bce.path_tuple()
        _, created, gone = self.cache.set_path(bce, PROXY_BID, endpoints)
        self.cache.reindex_ll(bce, pbu.att, pbu.mn_ll_id)
        self._renew(bce, pbu, now)
        actions: list[Action] = []
        if created is not None:
            actions.append(TunnelPeerAdded(created.tunnel_peer_id, endpoints))
        actions.append(BindingMoved(bce.binding_id, bce.mn_id, bce.home_prefixes, old_paths, bce.path_tuple(),
                                    bce.lifetime, bce.expires_at))
        if gone is not None:
            actions.append(TunnelPeerRemoved(gone.tunnel_peer_id, gone.endpoints))
        actions.append(ReleaseDownlink(bce.binding_id, bce.home_prefixes))
        return actions + [self._accept(bce, pbu, now)]

    def _deregister(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list[Action]:
        """§5.3.5: accept, drop traffic, delete after MinDelayBeforeBCEDelete."""
        first = bce.state is not BceState.DEREGISTERING
        bce.state = next_state(bce.state, BceEvent.DEREGISTER)
        self._store_order(bce, pbu)
        self._touched.add(bce.binding_id)
        actions: list[Action] = []
        if first:
            bce.delete_at = now + self.config.min_delay_before_bce_delete
            self._timers.cancel((Timer.LIFETIME, bce.binding_id))
            self._timers.set((Timer.DELETE, bce.binding_id), bce.delete_at)
            actions.append(BindingDeregistered(bce.binding_id, bce.mn_id, bce.home_prefixes, bce.path_tuple(),
                                               bce.delete_at))
        actions.append(SendMh(make_pba(pbu.event.message, BaStatus.ACCEPTED, now=now, lifetime=0,
                                       hnps=bce.home_prefixes, stored_link_local=bce.mag_link_local),
                              self.config.lma_address, pbu.event.src))
        parked = self._drop_parked(bce.binding_id)
        if parked is not None:  # §5.4.1: the awaited de-registration came
            actions += self._apply_update(bce, parked, now)
        return actions

    def _park(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list[Action]:
        """§5.4.1.2/§5.4.1.3, HI=4: wait MaxDelayBeforeNewBCEAssign for the old MAG."""
        bce.state = next_state(bce.state, BceEvent.HANDOFF_UNKNOWN)
        self._touched.add(bce.binding_id)
        key = (Timer.NEW_BCE_ASSIGN, bce.binding_id)
        if self._timers.get(key) is None:
            self._timers.set(key, now + self.config.max_delay_before_new_bce_assign)
        self._parked[bce.binding_id] = pbu  # a retransmission replaces the parked PBU
        return [LogEvent("info", f"PBU parked: handoff state unknown, binding {bce.binding_id}",
                         {"until": self._timers.get(key)})]

    def _apply_update(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> list[Action]:
        if pbu.proxy_coa == bce.coa:
            return self._refresh(bce, pbu, now)
        return self._handoff(bce, pbu, now)

    def _drop_parked(self, bid: int) -> PbuContext | None:
        self._timers.cancel((Timer.NEW_BCE_ASSIGN, bid))
        return self._parked.pop(bid, None)

    def _renew(self, bce: BindingCacheEntry, pbu: PbuContext, now: float) -> None:
        self._store_order(bce, pbu)
        self._touched.add(bce.binding_id)
        bce.handoff_indicator = pbu.hi
        if bce.mag_link_local is None and pbu.link_local not in (None, ALL_ZERO):
            bce.mag_link_local = pbu.link_local
        bce.lifetime = pbu.granted * LIFETIME_UNIT
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
                       hnps=bce.home_prefixes, stored_link_local=bce.mag_link_local)
        return SendMh(pba, self.config.lma_address, pbu.event.src)

    # --- timers ------------------------------------------------------------------

    def _entry(self, bid: int) -> BindingCacheEntry:
        return self.cache.by_id[bid]  # type: ignore[return-value]

    def _on_lifetime_expired(self, bid: int, now: float) -> list[Action]:
        bce = self._entry(bid)
        next_state(bce.state, BceEvent.LIFETIME_EXPIRED)
        parked = self._drop_parked(bid)
        actions = self._delete(bce, "expired")
        if parked is not None:
            actions += self._register_or_reject(parked, now)
        return actions

    def _on_delete_delay_expired(self, bid: int, now: float) -> list[Action]:
        bce = self._entry(bid)
        next_state(bce.state, BceEvent.DELETE_DELAY_EXPIRED)
        return self._delete(bce, "deregistered")

    def _on_new_bce_assign_expired(self, bid: int, now: float) -> list[Action]:
        """§5.4.1: no de-registration came in time: the parked PBU is a new session."""
        parked = self._parked.pop(bid)
        bce = self._entry(bid)
        bce.state = next_state(bce.state, BceEvent.NEW_BCE_ASSIGN_EXPIRED)
        self._touched.add(bid)
        return self._register_or_reject(parked, now)

    def _register_or_reject(self, pbu: PbuContext, now: float) -> list[Action]:
        try:
            return self._register(pbu, now)
        except E.PbuRejected as err:
            pba = make_pba(pbu.event.message, err.status, now=now)
            return [LogEvent("warning", f"parked PBU rejected: {err.status.name}"),
                    SendMh(pba, self.config.lma_address, pbu.event.src)]

    def _delete(self, bce: BindingCacheEntry, reason: str) -> list[Action]:
        bce.state = BceState.DELETED
        for kind in Timer:
            self._timers.cancel((kind, bce.binding_id))
        release_prefixes(self.policy, bce.mn_id, bce.home_prefixes)
        paths = bce.path_tuple()
        gone = self.cache.remove(bce)
        self._touched.add(bce.binding_id)
        actions: list[Action] = [BindingDeleted(bce.binding_id, bce.mn_id, bce.home_prefixes, paths, reason)]
        actions += [TunnelPeerRemoved(p.tunnel_peer_id, p.endpoints) for p in gone]
        return actions

    # --- state (records.py; lma_persist.py turns it into JSON) ----------------------------

    def state(self) -> list[BindingView]:
        """The whole binding cache as plain records (parked PBUs are not kept: the
        n-MAG retransmits them, RFC 5213 §6.9.4)."""
        return sorted(self.bindings(), key=lambda v: v.binding_id)

    @classmethod
    def from_state(cls, config: LmaConfig, policy: PolicyStore,
                   records: Iterable[BindingView]) -> "LocalMobilityAnchor":
        """Rebuild a core from ``state()``: ids, tunnel peers, pool prefixes and deadlines
        (lifetime, or MinDelayBeforeBCEDelete while de-registering) are restored;
        ValueError when two records conflict."""
        lma = cls(config, policy)
        for r in sorted(records, key=lambda v: v.binding_id):
            state = BceState.ACTIVE if r.state is BceState.HANDOFF_PENDING else r.state
            bce = BindingCacheEntry(
                r.binding_id, r.mn_id, r.home_prefixes, {p.bid: p for p in r.paths}, r.sequence, r.lifetime,
                r.registered_at, r.refreshed_at, r.expires_at, r.delete_at, mn_id_subtype=r.mn_id_subtype,
                mn_ll_id=r.mn_ll_id, att=r.att, handoff_indicator=r.handoff_indicator,
                mag_link_local=r.mag_link_local, timestamp=r.timestamp, state=state)
            lma.cache.restore(bce)
            reserve_prefixes(policy, bce.mn_id, bce.home_prefixes)
            if state is BceState.DEREGISTERING and bce.delete_at is not None:
                lma._timers.set((Timer.DELETE, bce.binding_id), bce.delete_at)
            else:
                lma._timers.set((Timer.LIFETIME, bce.binding_id), bce.expires_at)
        return lma

__all__ = ["LocalMobilityAnchor", "Timer", "view"]
