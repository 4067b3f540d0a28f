"""The LMA binding cache (RFC 5213 §5.1) with O(1) indexes and small ids.

Rule: a BindingCacheEntry holds every §5.1 field; the cache keeps it findable
by binding id, by MN-ID, by HNP and by (MN-ID, ATT, MN-LL-ID) and keeps one
refcounted tunnel peer per Proxy-CoA. Ids are the smallest free integer
(1..limit-1) so they fit a P4 table index and are reused after deletion.
Mutations go through ``add``/``remove``/``move``; nothing here knows the
protocol rules (those are in lma.py and lookup.py).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Iterator

from .lma_state import BceState


class IdAllocator:
    """Smallest free id in 1..limit-1, O(log n) per call."""

    __slots__ = ("limit", "_next", "_free")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._next = 1
        self._free: list[int] = []

    def allocate(self) -> int | None:
        if self._free:
            return heapq.heappop(self._free)
        if self._next >= self.limit:
            return None
        self._next += 1
        return self._next - 1

    def release(self, ident: int) -> None:
        heapq.heappush(self._free, ident)

    def reserve(self, ident: int) -> None:
        """Mark ``ident`` used (state restore)."""
        while self._next <= ident:
            heapq.heappush(self._free, self._next)
            self._next += 1
        self._free.remove(ident)
        heapq.heapify(self._free)


@dataclass(slots=True, eq=False)
class BindingCacheEntry:
    """RFC 5213 §5.1 (+ RFC 6275 §9.1 fields). Times are in the core's clock."""

    binding_id: int
    mn_id: bytes
    mn_id_subtype: int
    mn_ll_id: bytes | None
    hnps: tuple[IPv6Network, ...]
    proxy_coa: IPv6Address
    tunnel_peer_id: int
    att: int
    handoff_indicator: int
    mag_link_local: IPv6Address | None
    timestamp: int | None  # raw 48.16 of the last accepted PBU (§5.5)
    sequence: int  # last accepted Sequence Number
    lifetime: float  # granted, seconds
    registered_at: float
    refreshed_at: float
    expires_at: float
    state: BceState = BceState.ACTIVE
    delete_at: float | None = None
    proxy_registration: bool = True  # §5.1: proxy registration flag

    def to_dict(self) -> dict[str, Any]:
        return {
            "binding_id": self.binding_id, "mn_id": self.mn_id.hex(),
            "mn_id_subtype": self.mn_id_subtype,
            "mn_ll_id": None if self.mn_ll_id is None else self.mn_ll_id.hex(),
            "hnps": [str(n) for n in self.hnps], "proxy_coa": str(self.proxy_coa),
            "tunnel_peer_id": self.tunnel_peer_id, "att": self.att,
            "handoff_indicator": self.handoff_indicator,
            "mag_link_local": None if self.mag_link_local is None else str(self.mag_link_local),
            "timestamp": self.timestamp, "sequence": self.sequence, "lifetime": self.lifetime,
            "registered_at": self.registered_at, "refreshed_at": self.refreshed_at,
            "expires_at": self.expires_at, "state": self.state.value, "delete_at": self.delete_at,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BindingCacheEntry":
        return cls(
            binding_id=int(d["binding_id"]), mn_id=bytes.fromhex(d["mn_id"]),
            mn_id_subtype=int(d["mn_id_subtype"]),
            mn_ll_id=None if d["mn_ll_id"] is None else bytes.fromhex(d["mn_ll_id"]),
            hnps=tuple(IPv6Network(n) for n in d["hnps"]), proxy_coa=IPv6Address(d["proxy_coa"]),
            tunnel_peer_id=int(d["tunnel_peer_id"]), att=int(d["att"]),
            handoff_indicator=int(d["handoff_indicator"]),
            mag_link_local=None if d["mag_link_local"] is None else IPv6Address(d["mag_link_local"]),
            timestamp=d["timestamp"], sequence=int(d["sequence"]), lifetime=float(d["lifetime"]),
            registered_at=float(d["registered_at"]), refreshed_at=float(d["refreshed_at"]),
            expires_at=float(d["expires_at"]), state=BceState(d["state"]), delete_at=d["delete_at"],
        )


@dataclass(slots=True)
class TunnelPeer:
    tunnel_peer_id: int
    proxy_coa: IPv6Address
    refcount: int = 0


class BindingCache:
    """Entries plus the indexes the §5.4.1 lookup and the bench need."""

    def __init__(self, max_bindings: int, max_tunnel_peers: int) -> None:
        self.by_id: dict[int, BindingCacheEntry] = {}
        self.by_mn: dict[bytes, list[int]] = {}
        self.by_hnp: dict[IPv6Network, int] = {}
        self.by_ll: dict[tuple[bytes, int, bytes], int] = {}
        self.peers: dict[IPv6Address, TunnelPeer] = {}
        self.binding_ids = IdAllocator(max_bindings)
        self.peer_ids = IdAllocator(max_tunnel_peers)

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[BindingCacheEntry]:
        return iter(self.by_id.values())

    def for_mn(self, mn_id: bytes) -> list[BindingCacheEntry]:
        return [self.by_id[i] for i in self.by_mn.get(mn_id, ())]

    def for_prefix(self, net: IPv6Network) -> BindingCacheEntry | None:
        i = self.by_hnp.get(net)
        return None if i is None else self.by_id[i]

    def for_ll(self, mn_id: bytes, att: int, mn_ll_id: bytes) -> BindingCacheEntry | None:
        i = self.by_ll.get((mn_id, att, mn_ll_id))
        return None if i is None else self.by_id[i]

    # --- tunnel peers (RFC 5213 §5.6.1: one tunnel per MAG, shared) --------------

    def peer_for(self, proxy_coa: IPv6Address) -> TunnelPeer | None:
        return self.peers.get(proxy_coa)

    def acquire_peer(self, proxy_coa: IPv6Address) -> tuple[TunnelPeer, bool]:
        """Take a reference; returns (peer, created). Caller checked capacity."""
        peer = self.peers.get(proxy_coa)
        created = peer is None
        if peer is None:
            ident = self.peer_ids.allocate()
            assert ident is not None, "caller must check peer capacity"
            peer = self.peers[proxy_coa] = TunnelPeer(ident, proxy_coa)
        peer.refcount += 1
        return peer, created

    def release_peer(self, proxy_coa: IPv6Address) -> TunnelPeer | None:
        """Drop a reference; returns the peer if that was the last one."""
        peer = self.peers[proxy_coa]
        peer.refcount -= 1
        if peer.refcount > 0:
            return None
        del self.peers[proxy_coa]
        self.peer_ids.release(peer.tunnel_peer_id)
        return peer

    def can_add_peer(self, proxy_coa: IPv6Address) -> bool:
        ids = self.peer_ids
        return proxy_coa in self.peers or bool(ids._free) or ids._next < ids.limit

    def can_add_binding(self) -> bool:
        ids = self.binding_ids
        return bool(ids._free) or ids._next < ids.limit

    # --- entries ---------------------------------------------------------------

    def add(self, bce: BindingCacheEntry) -> None:
        self.by_id[bce.binding_id] = bce
        self.by_mn.setdefault(bce.mn_id, []).append(bce.binding_id)
        for net in bce.hnps:
            self.by_hnp[net] = bce.binding_id
        if bce.mn_ll_id is not None:
            self.by_ll[(bce.mn_id, bce.att, bce.mn_ll_id)] = bce.binding_id

    def remove(self, bce: BindingCacheEntry) -> None:
        del self.by_id[bce.binding_id]
        ids = self.by_mn[bce.mn_id]
        ids.remove(bce.binding_id)
        if not ids:
            del self.by_mn[bce.mn_id]
        for net in bce.hnps:
            self.by_hnp.pop(net, None)
        self._unindex_ll(bce)
        self.binding_ids.release(bce.binding_id)

    def reindex_ll(self, bce: BindingCacheEntry, att: int, mn_ll_id: bytes | None) -> None:
        """ATT / MN-LL-ID changed (handoff, §5.3.4)."""
        self._unindex_ll(bce)
        bce.att, bce.mn_ll_id = att, mn_ll_id
        if mn_ll_id is not None:
            self.by_ll[(bce.mn_id, att, mn_ll_id)] = bce.binding_id

    def _unindex_ll(self, bce: BindingCacheEntry) -> None:
        if bce.mn_ll_id is not None:
            key = (bce.mn_id, bce.att, bce.mn_ll_id)
            if self.by_ll.get(key) == bce.binding_id:
                del self.by_ll[key]


__all__ = ["IdAllocator", "BindingCacheEntry", "TunnelPeer", "BindingCache"]
