"""LMA views and persistence: read-only BindingView snapshots, plain-dict
export/restore of the binding cache, and the actions that rebuild the data
plane after a restore.

Rule: exported state is JSON-able (one dict per BCE keyed by binding id);
restoring reserves every id, tunnel peer and pool prefix the entries hold and
re-arms their deadlines (lifetime, or MinDelayBeforeBCEDelete while
de-registering). PBUs parked for MaxDelayBeforeNewBCEAssign are not kept: the
n-MAG retransmits them (RFC 5213 §6.9.4).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any

from .actions import BindingCreated, BindingDeregistered, TunnelPeerAdded
from .bce import BindingCacheEntry, TunnelPeer
from .lma_state import BceState

if TYPE_CHECKING:
    from .lma import LocalMobilityAnchor


@dataclass(frozen=True, slots=True)
class BindingView:
    """Read-only snapshot of one BCE (for ``p4mob show bindings``)."""

    binding_id: int
    mn_id: bytes
    mn_ll_id: bytes | None
    hnps: tuple[IPv6Network, ...]
    proxy_coa: IPv6Address
    tunnel_peer_id: int
    att: int
    handoff_indicator: int
    state: str
    lifetime: float
    expires_at: float
    delete_at: float | None


def view(b: BindingCacheEntry) -> BindingView:
    return BindingView(b.binding_id, b.mn_id, b.mn_ll_id, b.hnps, b.proxy_coa, b.tunnel_peer_id,
                       b.att, b.handoff_indicator, b.state.value, b.lifetime, b.expires_at, b.delete_at)


BINDING_COLUMNS = ["id", "mn_id", "hnps", "proxy_coa", "peer", "att", "hi", "state", "expires_in"]
PEER_COLUMNS = ["peer", "proxy_coa", "bindings"]


def bindings_table(lma: "LocalMobilityAnchor", now: float) -> dict[str, Any]:
    """``p4mob show bindings`` answer: {"columns": [...], "rows": [[...], ...]}."""
    rows = []
    for b in sorted(lma.cache, key=lambda b: b.binding_id):
        left = (b.delete_at if b.state is BceState.DEREGISTERING and b.delete_at else b.expires_at) - now
        rows.append([b.binding_id, b.mn_id.decode("utf-8", "replace"), " ".join(str(n) for n in b.hnps),
                     str(b.proxy_coa), b.tunnel_peer_id, b.att, b.handoff_indicator, b.state.value,
                     round(max(0.0, left), 1)])
    return {"columns": BINDING_COLUMNS, "rows": rows}


def peers_table(lma: "LocalMobilityAnchor") -> dict[str, Any]:
    """``p4mob show peers`` answer."""
    rows = sorted([p.tunnel_peer_id, str(a), p.refcount] for a, p in lma.cache.peers.items())
    return {"columns": PEER_COLUMNS, "rows": rows}


def export_state(lma: "LocalMobilityAnchor") -> dict[str, Any]:
    return {"version": 1, "bindings": {str(b.binding_id): b.to_dict() for b in lma.cache}}


def restore(lma: "LocalMobilityAnchor", state: dict[str, Any]) -> None:
    """Load ``export_state()`` output into a fresh core."""
    from .lma import Timer

    if state.get("version") != 1:
        raise ValueError(f"unsupported LMA state version {state.get('version')!r}")
    cache, policy = lma.cache, lma.policy
    entries = sorted((BindingCacheEntry.from_dict(d) for d in state["bindings"].values()),
                     key=lambda b: b.binding_id)
    for bce in entries:
        if bce.state is BceState.HANDOFF_PENDING:
            bce.state = BceState.ACTIVE
        cache.binding_ids.reserve(bce.binding_id)
        peer = cache.peers.get(bce.proxy_coa)
        if peer is None:
            cache.peer_ids.reserve(bce.tunnel_peer_id)
            peer = cache.peers[bce.proxy_coa] = TunnelPeer(bce.tunnel_peer_id, bce.proxy_coa)
        peer.refcount += 1
        profile = policy.profile(bce.mn_id)
        pool = policy.pools.get(profile.pool) if profile and profile.pool else None
        if pool is not None:
            for net in bce.hnps:
                pool.reserve(net)
        cache.add(bce)
        if bce.state is BceState.DEREGISTERING and bce.delete_at is not None:
            lma._timers.set((Timer.DELETE, bce.binding_id), bce.delete_at)
        else:
            lma._timers.set((Timer.LIFETIME, bce.binding_id), bce.expires_at)


def snapshot_actions(lma: "LocalMobilityAnchor") -> list:
    """Actions that rebuild the data plane from scratch (after a restore)."""
    lmaa = lma.config.lma_address
    actions: list = [TunnelPeerAdded(p.tunnel_peer_id, lmaa, a) for a, p in lma.cache.peers.items()]
    for b in lma.cache:
        actions.append(BindingCreated(b.binding_id, b.mn_id, b.mn_ll_id, b.att, b.hnps, b.proxy_coa,
                                      lmaa, b.tunnel_peer_id, b.lifetime, b.expires_at))
        if b.state is BceState.DEREGISTERING:
            actions.append(BindingDeregistered(b.binding_id, b.mn_id, b.hnps, b.proxy_coa,
                                               b.tunnel_peer_id, b.delete_at or b.expires_at))
    return actions


__all__ = ["BindingView", "view", "bindings_table", "peers_table", "export_state", "restore", "snapshot_actions"]
