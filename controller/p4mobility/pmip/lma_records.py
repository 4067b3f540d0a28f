"""The LMA core's records: its binding cache (RFC 5213 §5.1) as typed, read-only
snapshots, and the actions that rebuild the data plane from it.

Rule: a mixin of LocalMobilityAnchor (the same object: nothing outside the core
reads its fields). Views are records.py values; ``state()`` (in lma.py, with
``from_state``) is what persistence writes.
"""
from __future__ import annotations

from .actions import Action, BindingCreated, BindingDeregistered, TunnelPeerAdded
from .bce import BindingCacheEntry, ProxyBindingCache
from .lma_state import BceState
from .records import BindingView, TunnelPeerView


def view(b: BindingCacheEntry) -> BindingView:
    return BindingView(b.binding_id, b.mn_id, b.mn_id_subtype, b.mn_ll_id, b.home_prefixes,  # type: ignore[arg-type]
                       b.path_tuple(), b.att, b.handoff_indicator, b.mag_link_local, b.timestamp, b.sequence,
                       b.lifetime, b.registered_at, b.refreshed_at, b.expires_at, b.state, b.delete_at)


class LmaRecords:
    cache: ProxyBindingCache
    _touched: set[int]

    # --- views (typed snapshots; records.py) ---------------------------------------

    def bindings(self) -> list[BindingView]:
        return [view(b) for b in self._entries()]

    def binding(self, binding_id: int) -> BindingView | None:
        bce = self.cache.get(binding_id)
        return None if bce is None else view(bce)  # type: ignore[arg-type]

    def bindings_for_mn(self, mn_id: bytes) -> list[BindingView]:
        return [view(b) for b in self.cache.for_mn(mn_id)]  # type: ignore[arg-type]

    def binding_ids(self) -> list[int]:
        return sorted(self.cache.by_id)

    def binding_count(self) -> int:
        return len(self.cache.by_id)

    def tunnel_peer_count(self) -> int:
        return len(self.cache.peers)

    def tunnel_peers(self) -> list[TunnelPeerView]:
        return sorted((TunnelPeerView(p.tunnel_peer_id, p.endpoints.local, p.endpoints.remote,  # type: ignore[arg-type]
                                      p.refcount) for p in self.cache.peers), key=lambda v: v.tunnel_peer_id)

    def take_changes(self) -> dict[int, BindingView | None]:
        """{binding id: its view, or None if gone} for every binding changed since the last call."""
        touched, self._touched = self._touched, set()
        return {bid: self.binding(bid) for bid in sorted(touched)}

    def _entries(self) -> list[BindingCacheEntry]:
        return list(self.cache)  # type: ignore[arg-type]

    def snapshot_actions(self) -> list[Action]:
        """Actions that rebuild the data plane from scratch (after a restore)."""
        actions: list[Action] = [TunnelPeerAdded(p.tunnel_peer_id, p.endpoints)
                                 for p in sorted(self.cache.peers, key=lambda p: p.tunnel_peer_id)]
        for b in sorted(self._entries(), key=lambda b: b.binding_id):
            actions.append(BindingCreated(b.binding_id, b.mn_id, b.home_prefixes, b.path_tuple(), b.lifetime,
                                          b.expires_at))
            if b.state is BceState.DEREGISTERING:
                actions.append(BindingDeregistered(b.binding_id, b.mn_id, b.home_prefixes, b.path_tuple(),
                                                   b.delete_at or b.expires_at))
        return actions


__all__ = ["LmaRecords", "view"]
