"""Binding cache shared by the LMA (RFC 5213 §5.1) and the home agent (RFC 6275 §9.1).

Rule: a Binding holds what every role keeps: the MN's identifier, its home
prefixes (HNPs, a home address as /128, an IPv4 home address as /32), its
care-of paths keyed by Binding ID (RFC 5648 §5; one path with BID 0 when no
BID option is used), the last accepted Sequence Number and the lifetime.
Role-specific fields live in subclasses (pmip/bce.py). The cache keeps each
entry findable by binding id, by MN identifier, by home prefix and by any
address inside a home prefix (longest match), and keeps the tunnel peers of
the paths refcounted. Mutations go through these methods; nothing here
knows a protocol rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Iterable, Iterator, Mapping

from .ids import IdAllocator
from .tunnels import IPAddress, Path, TunnelEndpoints, TunnelPeer, TunnelPeerTable

IPNetwork = IPv4Network | IPv6Network


@dataclass(slots=True, eq=False)
class Binding:
    """RFC 6275 §9.1 / RFC 5213 §5.1 fields common to every role. Times: the core's clock."""

    binding_id: int
    mn_id: bytes
    home_prefixes: tuple[IPNetwork, ...]
    paths: dict[int, Path]  # BID -> path
    sequence: int  # last accepted Sequence Number
    lifetime: float  # granted, seconds
    registered_at: float
    refreshed_at: float
    expires_at: float
    delete_at: float | None = None

    def path_tuple(self) -> tuple[Path, ...]:
        """Paths ordered by BID (the order actions and entries use)."""
        return tuple(self.paths[b] for b in sorted(self.paths))


class BindingCache:
    """Entries, their indexes and the tunnel peers their paths use."""

    def __init__(self, max_bindings: int, max_tunnel_peers: int) -> None:
        self.by_id: dict[int, Binding] = {}
        self._by_mn: dict[bytes, list[int]] = {}
        self._by_prefix: dict[IPNetwork, int] = {}
        self._lengths: dict[int, dict[int, int]] = {4: {}, 6: {}}  # version -> prefix length -> count
        self.binding_ids = IdAllocator(max_bindings)
        self.peers = TunnelPeerTable(max_tunnel_peers)

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Binding]:
        return iter(self.by_id.values())

    def get(self, binding_id: int) -> Binding | None:
        return self.by_id.get(binding_id)

    def for_mn(self, mn_id: bytes) -> list[Binding]:
        return [self.by_id[i] for i in self._by_mn.get(mn_id, ())]

    def for_prefix(self, net: IPNetwork) -> Binding | None:
        i = self._by_prefix.get(net)
        return None if i is None else self.by_id[i]

    def for_address(self, addr: IPAddress) -> Binding | None:
        """The binding whose home prefix holds ``addr`` (longest prefix first)."""
        for plen in sorted(self._lengths[addr.version], reverse=True):
            i = self._by_prefix.get(ip_network((addr, plen), strict=False))
            if i is not None:
                return self.by_id[i]
        return None

    def can_add_binding(self) -> bool:
        return self.binding_ids.available()

    # --- entries -------------------------------------------------------------------

    def add(self, b: Binding) -> None:
        """Index a new entry whose id came from ``binding_ids`` (or was reserved)."""
        self.by_id[b.binding_id] = b
        self._by_mn.setdefault(b.mn_id, []).append(b.binding_id)
        for net in b.home_prefixes:
            self._by_prefix[net] = b.binding_id
            lengths = self._lengths[net.version]
            lengths[net.prefixlen] = lengths.get(net.prefixlen, 0) + 1

    def set_home_prefixes(self, b: Binding, prefixes: tuple[IPNetwork, ...]) -> None:
        """Replace the home prefixes of an indexed entry (e.g. an IPv4 home address
        added by RFC 5555), keeping every index right."""
        self._unindex_prefixes(b)
        b.home_prefixes = prefixes
        for net in prefixes:
            self._by_prefix[net] = b.binding_id
            lengths = self._lengths[net.version]
            lengths[net.prefixlen] = lengths.get(net.prefixlen, 0) + 1

    def remove(self, b: Binding) -> list[TunnelPeer]:
        """Forget the entry and its paths; returns the tunnel peers that are gone."""
        gone = [p for bid in list(b.paths) if (p := self.drop_path(b, bid)) is not None]
        del self.by_id[b.binding_id]
        ids = self._by_mn[b.mn_id]
        ids.remove(b.binding_id)
        if not ids:
            del self._by_mn[b.mn_id]
        self._unindex_prefixes(b)
        self.binding_ids.release(b.binding_id)
        return gone

    def _unindex_prefixes(self, b: Binding) -> None:
        for net in b.home_prefixes:
            if self._by_prefix.get(net) == b.binding_id:
                del self._by_prefix[net]
                lengths = self._lengths[net.version]
                lengths[net.prefixlen] -= 1
                if not lengths[net.prefixlen]:
                    del lengths[net.prefixlen]

    def restore(self, b: Binding) -> None:
        """Add an entry from saved state: its id and its paths' peer ids are reserved."""
        self.binding_ids.reserve(b.binding_id)
        for path in b.paths.values():
            self.peers.restore(path.endpoints, path.tunnel_peer_id)
        self.add(b)

    # --- paths (care-of addresses) ----------------------------------------------------

    def can_set_path(self, endpoints: TunnelEndpoints) -> bool:
        return self.peers.can_acquire(endpoints)

    def can_set_paths(self, endpoints: Iterable[TunnelEndpoints]) -> bool:
        """All of ``endpoints`` at once (a bulk registration, RFC 5648 §4.3)."""
        return self.peers.can_acquire_all(endpoints)

    def set_path(self, b: Binding, bid: int, endpoints: TunnelEndpoints
                 ) -> tuple[Path, TunnelPeer | None, TunnelPeer | None]:
        """Point BID ``bid`` of ``b`` at ``endpoints``: (path, peer created, peer gone).
        The caller checked ``can_set_path``."""
        old = b.paths.get(bid)
        if old is not None and old.endpoints == endpoints:
            return old, None, None
        got = self.peers.acquire(endpoints)  # before releasing: a shared peer keeps its id
        if got is None:
            raise RuntimeError("no tunnel peer id left (caller must check can_set_path)")
        peer, created = got
        gone = self.peers.release(old.endpoints) if old is not None else None
        path = b.paths[bid] = Path(bid, endpoints, peer.tunnel_peer_id)
        return path, peer if created else None, gone

    def update_paths(self, b: Binding, new: Mapping[int, TunnelEndpoints], drop: Iterable[int] = ()
                     ) -> tuple[list[TunnelPeer], list[TunnelPeer]]:
        """Point the BIDs of ``new`` at their endpoints and remove the BIDs in ``drop``, as
        one change (RFC 5648 bulk registration, a binding's BIDs replaced): every new peer
        is acquired before any old one is released, so a peer still in use after the
        change (moved from one BID to another) is never reported gone and re-created
        under the same id. Returns (peers created, peers gone). The caller checked
        ``can_set_paths``."""
        created: list[TunnelPeer] = []
        for e in new.values():  # hold every new peer first
            got = self.peers.acquire(e)
            if got is None:
                raise RuntimeError("no tunnel peer id left (caller must check can_set_paths)")
            if got[1]:
                created.append(got[0])
        gone = [p for bid in drop if bid in b.paths and (p := self.drop_path(b, bid)) is not None]
        for bid, e in new.items():
            _, _, freed = self.set_path(b, bid, e)
            if freed is not None:
                gone.append(freed)
        for e in new.values():  # let go of the holds: every new peer is used by a path now
            self.peers.release(e)
        return created, gone

    def drop_path(self, b: Binding, bid: int) -> TunnelPeer | None:
        """Remove BID ``bid`` of ``b``; returns its tunnel peer if that was its last use."""
        path = b.paths.pop(bid)
        return self.peers.release(path.endpoints)


__all__ = ["IPNetwork", "Binding", "BindingCache"]
