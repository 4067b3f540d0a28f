"""The mobile-node daemon's control socket answers (runtime/control.py serves them).

Rule: read-only views of the node and its core, plus one request that feeds
the core an event (``prefixes`` with ``solicit``: PrefixSolicitationRequested,
RFC 6275 §11.4.2); nothing here decides a protocol question. Requests:
``status``; ``show bindings|counters|sas``; ``prefixes`` (the home prefixes the
home agent advertised, and the outstanding solicitation).
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from p4mobility.mip import HomePrefix, PrefixSolicitationRequested
from p4mobility.mip.path import Path as MipPath

from .crypto_port import SA_COLUMNS, sa_row

BINDING_COLUMNS = ["bid", "state", "interface", "coa", "tunnel", "pending_coa", "expires_in", "keepalive"]
PREFIX_COLUMNS = ["prefix", "valid_for", "preferred_for", "on_link", "autonomous", "holds_home_address"]


def path_fields(p: MipPath | None) -> dict | None:
    if p is None:
        return None
    out = {"interface": p.interface, "encapsulation": p.encapsulation.value, "coa": str(p.coa), "ha": str(p.ha)}
    if p.mn_port is not None:
        out["mn_port"] = p.mn_port
    return out


def prefix_row(p: HomePrefix, now: float, home_address: IPv6Address) -> dict:
    """One advertised home prefix; lifetimes left in seconds (None: infinite)."""
    def left(t: float | None) -> float | None:
        return None if t is None else round(t - now, 1)
    return {"prefix": str(p.prefix), "valid_for": left(p.valid_until), "preferred_for": left(p.preferred_until),
            "on_link": p.on_link, "autonomous": p.autonomous, "holds_home_address": home_address in p.prefix}


def status(node: Any) -> dict:
    path = node.tunnels.path()
    return {"ok": True, "role": node.role, "name": node.cfg.node.name,
            "home_address": str(node.cfg.mn.home_address),
            "ipv4_home_address": str(node._ipv4[0]) if node._ipv4 else None,
            "registered": path is not None, "tunnel": path_fields(path), "sequence": node.mn.sequence,
            "interfaces": node.watch.snapshot(), "ports": sorted(node.ports), "stopping": node.stopping,
            "counters": dict(node.datapath.counters)}


def answer(node: Any, req: dict) -> dict:
    cmd, what = req.get("cmd"), req.get("what")
    if cmd == "status":
        return status(node)
    if cmd == "show" and what == "bindings":
        now = node.now()
        rows = [[b.bid, b.state.value, b.interface, None if b.coa is None else str(b.coa),
                 None if b.tunnel is None else f"{b.tunnel.encapsulation.value} {b.tunnel.coa} -> {b.tunnel.ha}",
                 None if b.pending_coa is None else str(b.pending_coa),
                 None if b.expires_at is None else round(b.expires_at - now, 1), b.keepalive]
                for b in node.mn.bindings()]
        return {"ok": True, "columns": BINDING_COLUMNS, "rows": rows}
    if cmd == "show" and what == "counters":
        return {"ok": True, "columns": ["counter", "value"], "rows": sorted(map(list, node.datapath.counters.items()))}
    if cmd == "show" and what == "sas":
        return {"ok": True, "columns": list(SA_COLUMNS), "rows": [sa_row(sa) for sa in node.crypto.sad]}
    if cmd == "prefixes":
        if req.get("solicit"):  # RFC 6275 §11.4.2: the core decides whether and how to ask
            node.feed(PrefixSolicitationRequested())
        now = node.now()
        rows = [list(prefix_row(p, now, node.cfg.mn.home_address).values()) for p in node.mn.home_prefixes()]
        return {"ok": True, "columns": PREFIX_COLUMNS, "rows": rows, "pending": node.mn.pending_solicitation}
    return {"ok": False, "error": f"unknown request {cmd!r} {what or ''} (status; prefixes; show bindings|counters|sas)"}


__all__ = ["BINDING_COLUMNS", "PREFIX_COLUMNS", "path_fields", "prefix_row", "status", "answer"]
