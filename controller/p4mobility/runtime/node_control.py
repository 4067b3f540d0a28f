"""The commands of a node's control socket: show, status, entries (show cluster: node_cluster.py).

Rule: one JSON object in, one out (``{"ok": true, ...}`` or ``{"ok": false,
"error": ...}``); commands only read the node. ``show counters`` reads the
switch, ``show sas`` asks the crypto path, anything else to show is the
role's ``show(what)``.
"""
from __future__ import annotations

from typing import Any, Protocol

from p4mobility.runtime.counters import COLUMNS as COUNTER_COLUMNS
from p4mobility.runtime.node_cluster import show_cluster


class ControlledNode(Protocol):
    """What the commands read of a node (``NodeRuntime`` in node.py)."""

    role: str
    switch: Any
    entries: Any  # p4rt.apply.EntrySet
    queue: Any  # asyncio.Queue
    store: Any  # runtime/store.py, store_etcd.py or None
    store_failing: str | None
    election: Any  # runtime/election.py or None
    written: dict  # batches of table writes, their updates, the largest batch

    async def read_counters(self) -> list[list]: ...

    async def show_sas(self) -> dict: ...

    def show(self, what: str) -> dict: ...


async def handle_control(node: ControlledNode, req: dict) -> dict:
    cmd = req.get("cmd")
    if cmd == "show":
        what = req.get("what")
        if what == "counters":
            try:
                rows = await node.read_counters()
            except Exception as exc:  # noqa: BLE001
                return {"ok": False, "error": f"switch read failed: {exc}"}
            return {"ok": True, "columns": COUNTER_COLUMNS, "rows": rows}
        if what == "sas":
            return await node.show_sas()
        if what == "cluster":
            return await show_cluster(node)
        return node.show(str(what))
    if cmd == "status":
        store = node.store
        return {"ok": True, "role": node.role, "connected": node.switch is not None,
                "entries": len(node.entries), "queue": node.queue.qsize(), "written": dict(node.written),
                "store": store.describe() if store is not None else None,
                # set while writes fail: new registrations are refused, the switch keeps its entries
                "store_failing": node.store_failing}
    if cmd == "entries":
        return {"ok": True, "entries": sorted(f"{k[0]} {dict(k[1])} -> {e.action}"
                                              for k, e in node.entries.items())}
    return {"ok": False, "error": f"unknown command {cmd!r}"}


__all__ = ["ControlledNode", "handle_control"]
