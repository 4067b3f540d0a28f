"""MIPv6 / DSMIPv6 home agent core (RFC 6275 §10, RFC 5555, RFC 5648), sans-I/O.

Rule: ``handle(event, now)`` and ``handle_timer(now)`` return actions and never
block, read a clock or touch a socket; ``next_deadline()`` says when to call
``handle_timer`` next. A BU is checked in the spec's decision-table order
(validate.py) and only then applied: a new home registration (RFC 6275
§10.3.1), a refresh or a move of one or more BIDs (RFC 5648 §5.2), a
de-registration of some BIDs or of the whole binding (§10.3.2). Each BID has
its own lifetime; the binding lives while one does. Data-plane actions come
before the BA that announces them; tunnel peers appear before the bindings
that use them and disappear after. Binding moves go through
``ha_state.next_state``. Other messages (Mobile Prefix Solicitation, HAO
packets without a binding, undecodable MH) are answered in ha_other.py. A
flood of BUs from one source (the outer IPv4 source behind a NAT) is dropped
past ``max_bus_per_second_per_source`` before any check (binding/ratelimit.py).
"""
from __future__ import annotations

from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import Iterable

from p4mobility.binding import BindingCache, DeadlineHeap, Transport
from p4mobility.binding.ratelimit import FloodGate
from p4mobility.mh import BaStatus

from . import errors as E
from .actions import (
    Action,
    BindingCreated,
    BindingDeleted,
    BindingMoved,
    BindingUpdated,
    Ipv6Route,
    LogEvent,
    Route,
    SendBindingAck,
    SendBindingRefreshRequest,
    TunnelPeerAdded,
    TunnelPeerRemoved,
    UdpIpv4Route,
)
from .ba import make_ba, make_brr
from .bce import Careof, HomeBinding, from_view, home_prefixes
from .config import LIFETIME_UNIT, HaConfig, MnProfile
from .dsmip import Ipv4Pool, V4Source, ack_option
from .events import BuReceived, HaEvent
from .ha_other import OtherMessages
from .ha_state import HomeEvent, HomeState, next_state
from .records import HomeBindingView, TunnelPeerView
from .validate import BidRequest, BuContext, check_bu, route_for


class Timer(Enum):
    EXPIRE = "expire"  # one BID's lifetime ran out
    REFRESH_REQUEST = "refresh_request"  # send a BRR before it does


class HomeAgent:
    def __init__(self, config: HaConfig) -> None:
        self.config = config
        self.cache = BindingCache(config.max_bindings, config.max_tunnel_peers)
        self._timers = DeadlineHeap()
        self._profiles = {p.home_address: p for p in config.mobile_nodes}
        self._statics = {p.ipv4_home_address for p in config.mobile_nodes if p.ipv4_home_address is not None}
        reserved = tuple(self._statics) + ((config.ha_address_v4,) if config.ha_address_v4 else ())
        self.pool = Ipv4Pool(config.ipv4_pool, reserved) if config.ipv4_pool is not None else None
        self.counters: dict[str, int] = {}
        self._touched: set[int] = set()  # binding ids changed since take_changes()
        self._other = OtherMessages(self)
        self._flood = FloodGate(config.max_bus_per_second_per_source)

    # --- public interface ------------------------------------------------------

    def handle(self, event: HaEvent, now: float) -> list[Action]:
        if isinstance(event, BuReceived):
            return self._on_binding_update(event, now)
        return self._other.handle(event, now)

    def handle_timer(self, now: float) -> list[Action]:
        due = self._timers.pop_due(now)
        actions: list[Action] = []
        expired: dict[int, list[int]] = {}
        refresh: dict[int, list[int]] = {}
        for kind, binding_id, bid in due:  # expiries first: no BRR for a binding that is gone
            (expired if kind is Timer.EXPIRE else refresh).setdefault(binding_id, []).append(bid)
        for binding_id, bids in expired.items():
            actions += self._expire(self._entry(binding_id), bids, now)
        for binding_id, bids in refresh.items():
            b = self.cache.get(binding_id)
            live = [bid for bid in bids if b is not None and bid in b.paths]
            if live:
                actions += self._refresh_request(b, live)  # type: ignore[arg-type]
        return actions

    def next_deadline(self) -> float | None:
        return self._timers.peek()

    def profile(self, home_address: IPv6Address) -> MnProfile:
        p = self._profiles.get(home_address)
        return p if p is not None else self.config.profile(home_address)

    def count(self, counter: str) -> int:
        self.counters[counter] = n = self.counters.get(counter, 0) + 1
        return n

    # --- views (records.py) ----------------------------------------------------

    def bindings(self) -> list[HomeBindingView]:
        return [b.view() for b in self._entries()]

    def binding(self, binding_id: int) -> HomeBindingView | None:
        b = self.cache.get(binding_id)
        return None if b is None else b.view()  # type: ignore[attr-defined]

    def binding_for(self, address: IPv6Address | IPv4Address) -> HomeBindingView | None:
        """The binding of a home address (IPv6, or an assigned IPv4 one)."""
        b = self.cache.for_address(address)
        return None if b is None else b.view()  # type: ignore[attr-defined]

    def binding_count(self) -> int:
        return len(self.cache)

    def tunnel_peer_count(self) -> int:
        return len(self.cache.peers)

    def take_changes(self) -> dict[int, HomeBindingView | None]:
        """{binding id: its view, or None if gone} for every binding changed since the last
        call (what persistence writes: O(changes), not O(bindings))."""
        touched, self._touched = self._touched, set()
        return {i: self.binding(i) for i in sorted(touched)}

    def tunnel_peers(self) -> list[TunnelPeerView]:
        return sorted((TunnelPeerView(p.tunnel_peer_id, p.endpoints, p.refcount) for p in self.cache.peers),
                      key=lambda v: v.tunnel_peer_id)

    def _entries(self) -> list[HomeBinding]:
        return sorted(self.cache, key=lambda b: b.binding_id)  # type: ignore[arg-type]

    def _entry(self, binding_id: int) -> HomeBinding:
        return self.cache.by_id[binding_id]  # type: ignore[return-value]

    # --- Binding Update ----------------------------------------------------------

    def _on_binding_update(self, ev: BuReceived, now: float) -> list[Action]:
        source = ev.outer_v4[0] if ev.outer_v4 is not None else ev.src  # behind a NAT: the outer source
        passes, dropped = self._flood.check(source, now)
        if not passes:  # a flood from one source: dropped before any check, one log line a second
            n = self.count("bu_rate_limited")
            return [] if dropped is None else [LogEvent(
                "warning", f"BUs from {source} over {self.config.max_bus_per_second_per_source}/s dropped",
                {"src": str(source), "dropped": dropped, "counter": "bu_rate_limited", "count": n})]
        try:
            ctx = check_bu(ev, self.config, self.cache, self.profile, self.pool)
            return self._apply(ctx, now)
        except E.BuRejected as err:
            ba = make_ba(ev.message, err.status, sequence=err.sequence)
            return [LogEvent("warning", f"BU rejected: {err.status.name} ({err.detail})",
                             {"status": int(err.status), "home_address": str(ev.home_address), "src": str(ev.src)}),
                    SendBindingAck(ba, route_for(ev, ev.home_address, self.config))]
        except E.BuDiscarded as err:
            n = self.count(err.counter)
            return [LogEvent("warning", f"BU silently discarded: {type(err).__name__} ({err})",
                             {"counter": err.counter, "count": n, "src": str(ev.src),
                              "home_address": str(ev.home_address)})]

    def _apply(self, ctx: BuContext, now: float) -> list[Action]:
        b = ctx.binding
        regs = [r for r in ctx.ok if not r.deregister]
        failed = {r.bid: r.status for r in ctx.requests if r.status}
        status = BaStatus.MCOA_NOTCOMPLETE if failed else BaStatus.ACCEPTED  # RFC 5648 §6.2
        if b is None:
            actions = self._register(ctx, regs, now)
        else:
            gone = set(b.paths) - {r.bid for r in regs} if ctx.whole else \
                {r.bid for r in ctx.ok if r.deregister}
            if not regs and gone >= set(b.paths):  # RFC 6275 §10.3.2: nothing left
                b.state = next_state(b.state, HomeEvent.DEREGISTER)
                actions = self._delete(b, "deregistered")
                return actions + self._ack(ctx, status, failed, 0)
            actions = self._update(b, ctx, regs, gone, now)
        return actions + self._ipv4_refused(ctx) + self._ack(ctx, status, failed, ctx.granted if regs else 0)

    def _ipv4_refused(self, ctx: BuContext) -> list[Action]:
        """RFC 5555 §3.2.1: the IPv6 registration stands; the IPv4 Address Acknowledgement says why not."""
        d = ctx.ipv4
        if d is None or d.accepted:
            return []
        n = self.count("ipv4_home_address_refused")
        return [LogEvent("warning", f"IPv4 home address {d.address} refused: {d.status.name}",
                         {"counter": "ipv4_home_address_refused", "count": n, "ipv4_status": int(d.status),
                          "home_address": str(ctx.home_address)})]

    def _ack(self, ctx: BuContext, status: int, failed: dict[int, int], lifetime: int) -> list[Action]:
        bu = ctx.event.message
        if not bu.ack and status < 128:  # spec §1.1: rejections are answered even with A=0
            return []
        b = self.cache.for_address(ctx.home_address)
        ack = None
        if ctx.ipv4 is not None and lifetime:
            ack = ack_option(ctx.ipv4, b.ipv4_home_address if b is not None and ctx.ipv4.accepted else None)
        advice = int(self.config.binding_refresh_advice // LIFETIME_UNIT)
        ba = make_ba(bu, status, lifetime=lifetime, bid_statuses=failed, ipv4_ack=ack,
                     nat=ctx.nat_option if lifetime else None, refresh_advice=advice)
        return [SendBindingAck(ba, ctx.route)]

    def _careof(self, r: BidRequest, lifetime: float, now: float) -> Careof:
        assert r.coa is not None
        return Careof(r.coa, r.nat_detected, r.signal_port, lifetime, now, now + lifetime)

    def _peer_added(self, peer) -> TunnelPeerAdded:
        return TunnelPeerAdded(peer.tunnel_peer_id, peer.endpoints, inner_ipv4=self.config.dual_stack)

    def _peer_removed(self, peer) -> TunnelPeerRemoved:
        return TunnelPeerRemoved(peer.tunnel_peer_id, peer.endpoints, inner_ipv4=self.config.dual_stack)

    def _take_ipv4(self, ctx: BuContext, held: IPv4Address | None) -> IPv4Address | None:
        """The IPv4 home address after this BU (RFC 5555 §3.1.1); allocation is the last check."""
        d = ctx.ipv4
        if d is None or not d.accepted:
            return held
        if d.source is V4Source.POOL:
            assert self.pool is not None
            return self.pool.allocate()
        return d.address

    def _register(self, ctx: BuContext, regs: list[BidRequest], now: float) -> list[Action]:
        """RFC 6275 §10.3.1: a new home registration, one path per BID."""
        binding_id = self.cache.binding_ids.allocate()
        assert binding_id is not None  # check_bu checked can_add_binding
        hoa, lifetime = ctx.home_address, float(ctx.granted * LIFETIME_UNIT)
        v4 = self._take_ipv4(ctx, None)
        b = HomeBinding(binding_id, hoa.packed, home_prefixes(hoa, v4), {}, ctx.event.message.sequence, lifetime,
                        now, now, now + lifetime, home_address=hoa, ipv4_home_address=v4,
                        state=next_state(HomeState.NONE, HomeEvent.REGISTER))
        self.cache.add(b)
        self._touched.add(binding_id)
        actions: list[Action] = []
        for r in regs:
            assert r.endpoints is not None
            _, created, _ = self.cache.set_path(b, r.bid, r.endpoints)
            if created is not None:
                actions.append(self._peer_added(created))
            b.careofs[r.bid] = self._careof(r, lifetime, now)
            self._arm(b, r.bid, now)
        actions.append(BindingCreated(binding_id, b.mn_id, b.home_prefixes, b.path_tuple(), lifetime, b.expires_at))
        return actions

    def _update(self, b: HomeBinding, ctx: BuContext, regs: list[BidRequest], gone: set[int], now: float
                ) -> list[Action]:
        """RFC 6275 §10.3.1 refresh/move; RFC 5648 §5.2 BIDs added, moved or de-registered."""
        old_paths, old_prefixes = b.path_tuple(), b.home_prefixes
        self._touched.add(b.binding_id)
        for bid in gone:
            self._forget(b, bid)
        # one change: a peer that stays in use (another BID, the same CoA) is never freed
        created, freed = self.cache.update_paths(b, {r.bid: r.endpoints for r in regs if r.endpoints},
                                                 sorted(gone))
        added: list[Action] = [self._peer_added(p) for p in created]
        removed: list[Action] = [self._peer_removed(p) for p in freed]
        lifetime = float(ctx.granted * LIFETIME_UNIT)
        for r in regs:
            b.careofs[r.bid] = self._careof(r, lifetime, now)
            self._arm(b, r.bid, now)
        v4 = self._take_ipv4(ctx, b.ipv4_home_address)
        if v4 != b.ipv4_home_address:
            b.ipv4_home_address = v4
            self.cache.set_home_prefixes(b, home_prefixes(b.home_address, v4))
        b.sequence = ctx.event.message.sequence
        if regs:
            b.lifetime, b.refreshed_at = lifetime, now
        b.expires_at = max(c.expires_at for c in b.careofs.values())
        moved = b.path_tuple() != old_paths or b.home_prefixes != old_prefixes
        event = HomeEvent.DEREGISTER_BIDS if not regs else HomeEvent.MOVE if moved else HomeEvent.REFRESH
        b.state = next_state(b.state, event)
        if moved:  # forwarding follows the new paths (and a new IPv4 home prefix)
            change: Action = BindingMoved(b.binding_id, b.mn_id, b.home_prefixes, old_paths, b.path_tuple(),
                                          b.lifetime, b.expires_at)
        else:
            change = BindingUpdated(b.binding_id, b.mn_id, b.home_prefixes, b.path_tuple(), b.lifetime, b.expires_at)
        return added + [change] + removed

    def _forget(self, b: HomeBinding, bid: int) -> None:
        """BID ``bid``'s timers and registration (its path goes with the cache)."""
        for kind in Timer:
            self._timers.cancel((kind, b.binding_id, bid))
        b.careofs.pop(bid, None)

    def _drop(self, b: HomeBinding, bid: int):
        self._forget(b, bid)
        return self.cache.drop_path(b, bid)

    def _arm(self, b: HomeBinding, bid: int, now: float) -> None:
        """Per-BID lifetime (RFC 5648 §5) and the BRR before it ends (RFC 6275 §9.5.5)."""
        expires = b.careofs[bid].expires_at
        self._timers.set((Timer.EXPIRE, b.binding_id, bid), expires)
        lead = self.config.refresh_request_lead
        if lead > 0 and expires - lead > now:
            self._timers.set((Timer.REFRESH_REQUEST, b.binding_id, bid), expires - lead)
        else:
            self._timers.cancel((Timer.REFRESH_REQUEST, b.binding_id, bid))

    def _delete(self, b: HomeBinding, reason: str) -> list[Action]:
        self._touched.add(b.binding_id)
        paths = b.path_tuple()
        for bid in list(b.paths):
            for kind in Timer:
                self._timers.cancel((kind, b.binding_id, bid))
        gone = self.cache.remove(b)
        b.careofs.clear()
        if self.pool is not None and b.ipv4_home_address is not None and b.ipv4_home_address not in self._statics:
            self.pool.release(b.ipv4_home_address)
        b.state = HomeState.DELETED
        actions: list[Action] = [BindingDeleted(b.binding_id, b.mn_id, b.home_prefixes, paths, reason)]
        return actions + [self._peer_removed(p) for p in gone]

    # --- timers ------------------------------------------------------------------

    def _expire(self, b: HomeBinding, bids: list[int], now: float) -> list[Action]:
        if set(bids) >= set(b.paths):  # the last path ran out
            b.state = next_state(b.state, HomeEvent.LIFETIME_EXPIRED)
            return self._delete(b, "expired")
        b.state = next_state(b.state, HomeEvent.PATH_EXPIRED)
        self._touched.add(b.binding_id)
        old_paths = b.path_tuple()
        removed = [self._peer_removed(p) for bid in sorted(bids) if (p := self._drop(b, bid)) is not None]
        b.expires_at = max(c.expires_at for c in b.careofs.values())
        moved = BindingMoved(b.binding_id, b.mn_id, b.home_prefixes, old_paths, b.path_tuple(), b.lifetime,
                             b.expires_at)
        return [moved] + removed  # type: ignore[list-item]

    def _refresh_request(self, b: HomeBinding, bids: list[int]) -> list[Action]:
        b.state = next_state(b.state, HomeEvent.REFRESH_DUE)
        self._touched.add(b.binding_id)
        brr = make_brr(tuple(sorted(bids)) if b.uses_bids else ())
        return [SendBindingRefreshRequest(brr, self.route_to(b, min(bids)))]

    def route_to(self, b: HomeBinding, bid: int) -> Route:
        """Signalling to BID ``bid``'s care-of address, the way its last BU came."""
        path, careof = b.paths[bid], b.careofs[bid]
        if path.endpoints.transport is Transport.IPV6:
            return Ipv6Route(self.config.ha_address, path.coa, b.home_address)  # type: ignore[arg-type]
        assert self.config.ha_address_v4 is not None and careof.signal_port is not None
        return UdpIpv4Route(self.config.ha_address_v4, path.coa, careof.signal_port,  # type: ignore[arg-type]
                            self.config.ha_address, b.home_address)

    # --- state (records.py; ha_persist.py turns it into JSON) ----------------------------

    def state(self) -> tuple[HomeBindingView, ...]:
        """The whole binding cache as plain records (counters are not state)."""
        return tuple(self.bindings())

    @classmethod
    def from_state(cls, config: HaConfig, records: Iterable[HomeBindingView], now: float) -> "HomeAgent":
        """Rebuild a core from ``state()``: ids, tunnel peers, IPv4 pool addresses and the
        per-BID deadlines are restored; ValueError when records conflict."""
        ha = cls(config)
        for r in sorted(records, key=lambda v: v.binding_id):
            if ha.cache.for_address(r.home_address) is not None:
                raise ValueError(f"two bindings for {r.home_address}")
            if r.ipv4_home_address is not None:
                if ha.cache.for_address(r.ipv4_home_address) is not None:
                    raise ValueError(f"two bindings for {r.ipv4_home_address}")
                if ha.pool is not None and r.ipv4_home_address not in ha._statics:
                    ha.pool.reserve(r.ipv4_home_address)
            b = from_view(r)
            ha.cache.restore(b)
            for bid in b.paths:
                ha._arm(b, bid, now)
        return ha

    def snapshot_actions(self) -> list[Action]:
        """Actions that rebuild the data plane from scratch (after a restore)."""
        actions: list[Action] = [self._peer_added(p) for p in sorted(self.cache.peers, key=lambda p: p.tunnel_peer_id)]
        actions += [BindingCreated(b.binding_id, b.mn_id, b.home_prefixes, b.path_tuple(), b.lifetime, b.expires_at)
                    for b in self._entries()]
        return actions


__all__ = ["HomeAgent", "Timer"]
