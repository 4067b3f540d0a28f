"""The node's part in an election ([store] election, runtime/election.py, docs/cluster.md).

Rule: before it restores its state or connects to the switch, a node with an election
waits until it owns the switch. Its ownership revision is then its P4Runtime election
id and the guard of its store writes. Losing the lease stops the node (OwnershipLost
from ``hold``): a supervisor restarts it and it waits again.
"""
from __future__ import annotations

from typing import Any

import grpc

from p4mobility.runtime.election import COLUMNS as CLUSTER_COLUMNS
from p4mobility.runtime.election import OwnershipLost
from p4mobility.runtime.store import StoreError



async def become_owner(node: Any) -> int:
    """Wait to own the switch; the P4Runtime election id (the ownership revision)."""
    e = node.election
    node.log.event("election_campaign", election=e.name, instance=e.instance, lease_ttl=e.ttl)

    def waiting(owner: dict) -> None:
        node.log.event("election_waiting", election=e.name, owner=owner.get("instance"),
                       owner_revision=owner.get("revision"))
    try:
        revision = await e.campaign(waiting)
    except grpc.RpcError as exc:
        raise StoreError(f"etcd election {e.name}: {exc.code().name}: {exc.details()}"[:300]) from None
    if node.store is not None and hasattr(node.store, "guard"):
        node.store.guard = (e.key, revision)
    node.metrics.ownership_changes.inc()
    node.log.event("election_won", election=e.name, revision=revision, election_id=revision, lease=f"{e.lease:x}")
    return revision


async def hold(node: Any) -> None:
    """Keep the ownership; OwnershipLost (logged) ends the node."""
    e = node.election
    try:
        await e.hold()
    except OwnershipLost as exc:
        node.log.event("ownership_lost", election=e.name, revision=e.revision, error=str(exc)[:300])
        raise


async def show_cluster(node: Any) -> dict:
    """`p4mob show cluster`: the owner of this node's switch, its revision and lease, and this node."""
    if node.election is None:
        return {"ok": True, "columns": CLUSTER_COLUMNS, "rows": [],
                "note": "no [store] election: this node owns its switch alone"}
    try:
        return await node.election.show()
    except grpc.RpcError as exc:
        return {"ok": False, "error": f"etcd: {exc.code().name}: {exc.details()}"[:300]}


__all__ = ["CLUSTER_COLUMNS", "become_owner", "hold", "show_cluster"]
