"""The LMA binding cache (RFC 5213 §5.1) on the generic binding cache.

Rule: a BindingCacheEntry is a generic Binding (binding/cache.py) plus the
PMIPv6-only §5.1 fields (MN-ID subtype, MN-LL-ID, ATT, HI, the MAG
link-local address, the Timestamp of the last accepted PBU, the BCE state).
It has exactly one path, BID 0: the tunnel to its Proxy-CoA (RFC 5213
§5.6.1), so ``coa`` and ``tunnel_peer_id`` name that path. The
ProxyBindingCache adds the §5.4.1.2 index by (MN-ID, ATT, MN-LL-ID).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address

from p4mobility.binding import Binding, BindingCache

from .lma_state import BceState

PROXY_BID = 0  # PMIPv6 bindings carry no Binding Identifier: one path, BID 0


@dataclass(slots=True, eq=False)
class BindingCacheEntry(Binding):
    """RFC 5213 §5.1 (+ RFC 6275 §9.1 fields in Binding)."""

    mn_id_subtype: int = 1
    mn_ll_id: bytes | None = None
    att: int = 0
    handoff_indicator: int = 0
    mag_link_local: IPv6Address | None = None
    timestamp: int | None = None  # raw 48.16 of the last accepted PBU (§5.5)
    state: BceState = BceState.ACTIVE
    proxy_registration: bool = True  # §5.1: proxy registration flag

    @property
    def coa(self) -> IPv6Address:
        """The Proxy-CoA: the MAG this binding points to."""
        return self.paths[PROXY_BID].coa  # type: ignore[return-value]

    @property
    def tunnel_peer_id(self) -> int:
        return self.paths[PROXY_BID].tunnel_peer_id


class ProxyBindingCache(BindingCache):
    """BindingCache + the (MN-ID, ATT, MN-LL-ID) index of RFC 5213 §5.4.1.2."""

    def __init__(self, max_bindings: int, max_tunnel_peers: int) -> None:
        super().__init__(max_bindings, max_tunnel_peers)
        self._by_ll: dict[tuple[bytes, int, bytes], int] = {}

    def for_ll(self, mn_id: bytes, att: int, mn_ll_id: bytes) -> BindingCacheEntry | None:
        i = self._by_ll.get((mn_id, att, mn_ll_id))
        return None if i is None else self.by_id[i]  # type: ignore[return-value]

    def add(self, b: Binding) -> None:
        super().add(b)
        assert isinstance(b, BindingCacheEntry)
        if b.mn_ll_id is not None:
            self._by_ll[(b.mn_id, b.att, b.mn_ll_id)] = b.binding_id

    def remove(self, b: Binding) -> list:
        assert isinstance(b, BindingCacheEntry)
        self._unindex_ll(b)
        return super().remove(b)

    def reindex_ll(self, b: BindingCacheEntry, att: int, mn_ll_id: bytes | None) -> None:
        """ATT / MN-LL-ID changed (handoff, §5.3.4)."""
        self._unindex_ll(b)
        b.att, b.mn_ll_id = att, mn_ll_id
        if mn_ll_id is not None:
            self._by_ll[(b.mn_id, att, mn_ll_id)] = b.binding_id

    def _unindex_ll(self, b: BindingCacheEntry) -> None:
        if b.mn_ll_id is not None:
            key = (b.mn_id, b.att, b.mn_ll_id)
            if self._by_ll.get(key) == b.binding_id:
                del self._by_ll[key]


__all__ = ["PROXY_BID", "BindingCacheEntry", "ProxyBindingCache"]
