"""Home agent persistence: binding records (records.HomeBindingView) as JSON and back.

Rule: one JSON object per binding, keyed by binding id, holding every field
of the record, its paths in binding/statejson.py form and one care-of object
per BID. Loading reads the document as hostile input: every field is checked
(StateError names it, e.g. ``bindings[3].careofs[0].signal_port``), then the
records against each other and the configuration: one binding per id, per
home address and per IPv4 home address; home addresses inside the home
prefixes; the same BIDs in ``paths`` and ``careofs``; every path starting at
one of our addresses. The core rebuilds itself from the records
(``HomeAgent.from_state``), so nothing here imports it.
"""
from __future__ import annotations

from typing import Any, Mapping

from p4mobility.binding.statejson import (
    StateError,
    get_addr,
    get_bool,
    get_int,
    get_num,
    path_to_json,
    paths_from_json,
)

from .config import HaConfig
from .ha_state import HomeState
from .records import CareofView, HomeBindingView

VERSION = 1
MAX_PATHS = 64


def careof_to_json(c: CareofView) -> dict[str, Any]:
    return {"bid": c.bid, "coa": str(c.coa), "nat_detected": c.nat_detected, "signal_port": c.signal_port,
            "lifetime": c.lifetime, "registered_at": c.registered_at, "expires_at": c.expires_at}


def binding_to_json(v: HomeBindingView) -> dict[str, Any]:
    return {
        "binding_id": v.binding_id, "home_address": str(v.home_address),
        "ipv4_home_address": None if v.ipv4_home_address is None else str(v.ipv4_home_address),
        "paths": [path_to_json(p) for p in v.paths], "careofs": [careof_to_json(c) for c in v.careofs],
        "sequence": v.sequence, "lifetime": v.lifetime, "registered_at": v.registered_at,
        "refreshed_at": v.refreshed_at, "expires_at": v.expires_at, "state": v.state.value,
    }


def careof_from_json(d: Any, where: str) -> CareofView:
    if not isinstance(d, Mapping):
        raise StateError(where, "expected an object")
    return CareofView(
        bid=get_int(d, "bid", where, 0, 0xFFFF), coa=get_addr(d, "coa", where, version=None),
        nat_detected=get_bool(d, "nat_detected", where),
        signal_port=get_int(d, "signal_port", where, 1, 0xFFFF, none=True),
        lifetime=get_num(d, "lifetime", where, lo=0.0), registered_at=get_num(d, "registered_at", where),
        expires_at=get_num(d, "expires_at", where))


def binding_from_json(d: Any, where: str, config: HaConfig) -> HomeBindingView:
    if not isinstance(d, Mapping):
        raise StateError(where, "expected an object")
    try:
        state = HomeState(d.get("state"))
    except ValueError:
        raise StateError(f"{where}.state", f"unknown state {d.get('state')!r:.40}") from None
    if state in (HomeState.NONE, HomeState.DELETED):
        raise StateError(f"{where}.state", f"a saved binding cannot be {state.value}")
    hoa = get_addr(d, "home_address", where)
    if not config.serves(hoa):
        raise StateError(f"{where}.home_address", f"{hoa} is in no home prefix")
    paths = paths_from_json(d, "paths", where)
    ours = {config.ha_address, config.ha_address_v4}
    for i, p in enumerate(paths):
        if p.local not in ours:
            raise StateError(f"{where}.paths[{i}].local", f"{p.local} is not an address of this home agent")
    raw = d.get("careofs")
    if not isinstance(raw, list) or len(raw) > MAX_PATHS:
        raise StateError(f"{where}.careofs", f"expected a list of at most {MAX_PATHS} care-of objects")
    careofs = tuple(careof_from_json(c, f"{where}.careofs[{i}]") for i, c in enumerate(raw))
    if sorted(c.bid for c in careofs) != sorted(p.bid for p in paths):
        raise StateError(f"{where}.careofs", "BIDs differ from those of paths")
    by_bid = {p.bid: p for p in paths}
    return HomeBindingView(
        binding_id=get_int(d, "binding_id", where, 1, 2**32 - 1), home_address=hoa,
        ipv4_home_address=get_addr(d, "ipv4_home_address", where, none=True, version=4),
        paths=tuple(by_bid[b] for b in sorted(by_bid)), careofs=tuple(sorted(careofs, key=lambda c: c.bid)),
        sequence=get_int(d, "sequence", where, 0, 0xFFFF), lifetime=get_num(d, "lifetime", where, lo=0.0),
        registered_at=get_num(d, "registered_at", where), refreshed_at=get_num(d, "refreshed_at", where),
        expires_at=get_num(d, "expires_at", where), state=state)


def export_state(records: tuple[HomeBindingView, ...] | list[HomeBindingView]) -> dict[str, Any]:
    return {"version": VERSION, "bindings": {str(v.binding_id): binding_to_json(v) for v in records}}


def load_bindings(docs: Any, config: HaConfig) -> list[HomeBindingView]:
    """Records from ``{binding id: document}``; StateError when one is unusable or two conflict."""
    if not isinstance(docs, Mapping):
        raise StateError("bindings", "expected an object")
    out: list[HomeBindingView] = []
    seen: dict[Any, str] = {}
    for key, d in docs.items():
        where = f"bindings[{key!s:.20}]"
        v = binding_from_json(d, where, config)
        if str(key) != str(v.binding_id):
            raise StateError(where, f"stored under {key!r:.20} but is binding {v.binding_id}")
        for field, addr in (("home_address", v.home_address), ("ipv4_home_address", v.ipv4_home_address)):
            if addr is None:
                continue
            if addr in seen:
                raise StateError(f"{where}.{field}", f"{addr} also belongs to {seen[addr]}")
            seen[addr] = where
        out.append(v)
    return sorted(out, key=lambda v: v.binding_id)


def load_state(state: Any, config: HaConfig) -> list[HomeBindingView]:
    """Records from ``export_state()`` output."""
    version = state.get("version") if isinstance(state, Mapping) else None
    if version != VERSION:
        raise StateError("version", f"unsupported home agent state version {version!r:.20}")
    return load_bindings(state.get("bindings"), config)


__all__ = ["VERSION", "StateError", "careof_to_json", "careof_from_json", "binding_to_json", "binding_from_json",
           "export_state", "load_bindings", "load_state"]
