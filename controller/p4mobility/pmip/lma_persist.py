"""LMA persistence: binding cache records (records.BindingView) as JSON and back.

Rule: one JSON object per binding, keyed by binding id; it holds every
field of the record and its paths in binding/statejson.py form. Loading
checks every field (StateError names it) and the records against each other
(one binding per id and per prefix); the LMA core rebuilds itself from the
records (``LocalMobilityAnchor.from_state``), so nothing here imports it.
Documents written before paths existed (``proxy_coa``, ``tunnel_peer_id``)
load as one IPv6-in-IPv6 path from ``local`` (the LMA address).
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any, Mapping

from p4mobility.binding import Path, TunnelEndpoints
from p4mobility.binding.statejson import (
    StateError,
    get_addr,
    get_hex,
    get_int,
    get_nets,
    get_num,
    path_to_json,
    paths_from_json,
)

from .lma_state import BceState
from .records import BindingView

VERSION = 1


def binding_to_json(v: BindingView) -> dict[str, Any]:
    return {
        "binding_id": v.binding_id, "mn_id": v.mn_id.hex(), "mn_id_subtype": v.mn_id_subtype,
        "mn_ll_id": None if v.mn_ll_id is None else v.mn_ll_id.hex(),
        "hnps": [str(n) for n in v.home_prefixes], "paths": [path_to_json(p) for p in v.paths],
        "att": v.att, "handoff_indicator": v.handoff_indicator,
        "mag_link_local": None if v.mag_link_local is None else str(v.mag_link_local),
        "timestamp": v.timestamp, "sequence": v.sequence, "lifetime": v.lifetime,
        "registered_at": v.registered_at, "refreshed_at": v.refreshed_at, "expires_at": v.expires_at,
        "state": v.state.value, "delete_at": v.delete_at,
    }


def binding_from_json(d: Any, where: str, local: IPv6Address) -> BindingView:
    if not isinstance(d, Mapping):
        raise StateError(where, "expected an object")
    try:
        state = BceState(d.get("state"))
    except ValueError:
        raise StateError(f"{where}.state", f"unknown state {d.get('state')!r:.40}") from None
    if state in (BceState.NONE, BceState.DELETED):
        raise StateError(f"{where}.state", f"a saved binding cannot be {state.value}")
    if "paths" in d:
        paths = paths_from_json(d, "paths", where)
    else:  # written before paths: one Proxy-CoA
        coa = get_addr(d, "proxy_coa", where)
        paths = (Path(0, TunnelEndpoints(local, coa), get_int(d, "tunnel_peer_id", where, 1, 2**32 - 1)),)
    if len(paths) != 1 or paths[0].bid != 0 or paths[0].local != local:
        raise StateError(f"{where}.paths", f"expected one path (BID 0) from {local}")
    hnps = get_nets(d, "hnps", where)
    if not hnps:
        raise StateError(f"{where}.hnps", "no prefix")
    return BindingView(
        binding_id=get_int(d, "binding_id", where, 1, 2**32 - 1), mn_id=get_hex(d, "mn_id", where),
        mn_id_subtype=get_int(d, "mn_id_subtype", where, 0, 255),
        mn_ll_id=get_hex(d, "mn_ll_id", where, none=True) or None, home_prefixes=hnps, paths=paths,
        att=get_int(d, "att", where, 0, 255), handoff_indicator=get_int(d, "handoff_indicator", where, 0, 255),
        mag_link_local=get_addr(d, "mag_link_local", where, none=True),
        timestamp=get_int(d, "timestamp", where, 0, 2**64 - 1, none=True),
        sequence=get_int(d, "sequence", where, 0, 0xFFFF), lifetime=get_num(d, "lifetime", where, lo=0.0),
        registered_at=get_num(d, "registered_at", where), refreshed_at=get_num(d, "refreshed_at", where),
        expires_at=get_num(d, "expires_at", where), state=state,
        delete_at=get_num(d, "delete_at", where, none=True))


def export_state(records: list[BindingView]) -> dict[str, Any]:
    return {"version": VERSION, "bindings": {str(v.binding_id): binding_to_json(v) for v in records}}


def load_bindings(docs: Mapping[str, Any], local: IPv6Address) -> list[BindingView]:
    """Records from ``{binding id: document}``; StateError when one is unusable or two conflict."""
    if not isinstance(docs, Mapping):
        raise StateError("bindings", "expected an object")
    out = []
    prefixes: set = set()
    for key, d in docs.items():
        where = f"bindings[{key!s:.20}]"
        v = binding_from_json(d, where, local)
        if str(key) != str(v.binding_id):
            raise StateError(where, f"stored under {key!r:.20} but is binding {v.binding_id}")
        if prefixes & set(v.home_prefixes):
            raise StateError(f"{where}.hnps", "a prefix belongs to two bindings")
        prefixes |= set(v.home_prefixes)
        out.append(v)
    return sorted(out, key=lambda v: v.binding_id)


def load_state(state: Any, local: IPv6Address) -> list[BindingView]:
    """Records from ``export_state()`` output."""
    if not isinstance(state, Mapping) or state.get("version") != VERSION:
        raise StateError("version", f"unsupported LMA state version {getattr(state, 'get', dict().get)('version')!r:.20}")
    return load_bindings(state.get("bindings"), local)


__all__ = ["VERSION", "StateError", "binding_to_json", "binding_from_json", "export_state", "load_bindings",
           "load_state"]
