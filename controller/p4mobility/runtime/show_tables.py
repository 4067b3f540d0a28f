"""`p4mob show bindings|peers` tables, built from the cores' typed records.

Rule: one table per kind of record, the same for every node that has it:
columns and rows of plain JSON values (the control socket sends them, the
CLI renders them). Times are shown as seconds left from ``now``.
"""
from __future__ import annotations

from typing import Any, Iterable

from p4mobility.pmip.records import BindingView, BulView, TunnelPeerView

BINDING_COLUMNS = ["id", "mn_id", "home_prefixes", "coa", "peer", "att", "hi", "state", "lifetime", "expires_in"]
BUL_COLUMNS = ["port", "mn_id", "state", "hnps", "lma", "peer", "last_seq", "expires_in"]
PEER_COLUMNS = ["peer", "local", "remote", "bindings"]


def _mn(mn_id: bytes) -> str:
    return mn_id.decode("utf-8", "replace")


def _left(when: float | None, now: float) -> float | None:
    return None if when is None else round(max(0.0, when - now), 1)


def binding_table(views: Iterable[BindingView], now: float) -> dict[str, Any]:
    rows = []
    for b in sorted(views, key=lambda v: v.binding_id):
        ends = b.delete_at or b.expires_at  # set while de-registering (MinDelayBeforeBCEDelete)
        coas = " ".join(str(p.coa) if len(b.paths) == 1 else f"{p.bid}:{p.coa}" for p in b.paths)
        peers = " ".join(str(p.tunnel_peer_id) for p in b.paths)
        rows.append([b.binding_id, _mn(b.mn_id), " ".join(map(str, b.home_prefixes)), coas, peers, b.att,
                     b.handoff_indicator, b.state.value, int(b.lifetime), _left(ends, now)])
    return {"columns": BINDING_COLUMNS, "rows": rows}


def bul_table(views: Iterable[BulView], now: float) -> dict[str, Any]:
    rows = [[v.access_port, _mn(v.mn_id), v.state.value, " ".join(map(str, v.hnps)), str(v.lma_address),
             v.tunnel_peer_id if v.installed else None, v.last_sequence, _left(v.expires_at, now)]
            for v in sorted(views, key=lambda v: v.access_port)]
    return {"columns": BUL_COLUMNS, "rows": rows}


def peer_table(views: Iterable[TunnelPeerView]) -> dict[str, Any]:
    rows = [[v.tunnel_peer_id, str(v.local), str(v.remote), v.bindings]
            for v in sorted(views, key=lambda v: v.tunnel_peer_id)]
    return {"columns": PEER_COLUMNS, "rows": rows}


__all__ = ["BINDING_COLUMNS", "BUL_COLUMNS", "PEER_COLUMNS", "binding_table", "bul_table", "peer_table"]
