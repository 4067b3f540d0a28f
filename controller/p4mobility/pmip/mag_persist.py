"""MAG persistence: the Binding Update List (RFC 5213 §6.1) as JSON and back.

Rule: exported state is JSON-able: {"version", "seq", "clock_offset",
"bul": {access port: entry}}; an entry holds every BulView field, whether
its PBU awaits a PBA, and its deadlines (retransmit, refresh, expire,
deferred send) as absolute times, so a restored core resumes exactly.
Loading checks every field (type, range, size) and the entries against each
other (one tunnel peer id per LMA, one entry per outstanding Sequence
Number); anything wrong raises ``MagStateError`` naming the field, before a
core is built (``MobileAccessGateway.from_state`` takes the checked
MagState; nothing here imports the core). The per-MN PBU rate history
(§6.9.4) is not kept.
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any, Mapping

from p4mobility.binding.statejson import (
    StateError,
    get_addr,
    get_bool,
    get_hex,
    get_int,
    get_nets,
    get_num,
)

from .bul import BulState
from .records import BulView, MagCoreState, MagState

VERSION = 1
MAX_PORT = 511  # v1model 9-bit ports
TIMER_KINDS = ("retransmit", "refresh", "expire", "send")  # = mag.TIMER_KINDS


class MagStateError(StateError):
    """A persisted MAG state document is unusable; ``where`` names the field."""


# --- export ------------------------------------------------------------------------

def core_doc(core: MagCoreState) -> dict[str, Any]:
    return {"version": VERSION, "seq": core.seq, "clock_offset": core.clock_offset}


def entry_doc(e: BulView) -> dict[str, Any]:
    return {
        "access_port": e.access_port, "mn_id": e.mn_id.hex(), "mn_ll_id": None if e.mn_ll_id is None
        else e.mn_ll_id.hex(), "att": e.att, "lma_address": str(e.lma_address),
        "requested_hnps": [str(n) for n in e.requested_hnps], "requested_lifetime": e.requested_lifetime,
        "handoff_indicator": e.handoff_indicator, "state": e.state.value, "hnps": [str(n) for n in e.hnps],
        "mag_link_local": None if e.mag_link_local is None else str(e.mag_link_local),
        "tunnel_peer_id": e.tunnel_peer_id, "installed": e.installed, "granted_lifetime": e.granted_lifetime,
        "bound_at": e.bound_at, "expires_at": e.expires_at, "last_sequence": e.last_sequence,
        "last_timestamp": e.last_timestamp, "last_sent_at": e.last_sent_at, "sending_lifetime": e.sending_lifetime,
        "retransmissions": e.retransmissions, "timeout": e.timeout, "awaiting_pba": e.awaiting_pba,
        "timers": dict(e.timers),
    }


def export_state(state: MagState) -> dict[str, Any]:
    return {**core_doc(state.core), "bul": {str(e.access_port): entry_doc(e) for e in state.bul}}


# --- checked reads -------------------------------------------------------------------

def _checked(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except MagStateError:
        raise
    except StateError as exc:
        raise MagStateError(exc.where, exc.problem) from None


def _entry(key: Any, d: Any) -> BulView:
    where = f"bul[{key!s:.20}]"
    if not isinstance(d, Mapping):
        raise MagStateError(where, "expected an object")
    port = get_int(d, "access_port", where, 0, MAX_PORT)
    if str(key) != str(port):
        raise MagStateError(where, f"stored under {key!r} but is for access port {port}")
    try:
        state = BulState(d.get("state"))
    except ValueError:
        raise MagStateError(f"{where}.state", f"unknown state {d.get('state')!r:.40}") from None
    raw = d.get("timers")
    if not isinstance(raw, Mapping) or any(k not in TIMER_KINDS for k in raw):
        raise MagStateError(f"{where}.timers", f"expected an object with keys among {TIMER_KINDS}")
    timers = tuple((k, get_num(raw, k, f"{where}.timers")) for k in TIMER_KINDS if k in raw)
    e = BulView(
        access_port=port, mn_id=get_hex(d, "mn_id", where), mn_ll_id=get_hex(d, "mn_ll_id", where, none=True) or None,
        att=get_int(d, "att", where, 0, 255), lma_address=get_addr(d, "lma_address", where),
        requested_hnps=get_nets(d, "requested_hnps", where),
        requested_lifetime=get_num(d, "requested_lifetime", where, lo=0.0),
        handoff_indicator=get_int(d, "handoff_indicator", where, 0, 255), state=state,
        hnps=get_nets(d, "hnps", where), mag_link_local=get_addr(d, "mag_link_local", where, none=True),
        tunnel_peer_id=get_int(d, "tunnel_peer_id", where, 0, 0xFFFF),
        installed=get_bool(d, "installed", where),
        granted_lifetime=get_num(d, "granted_lifetime", where, lo=0.0), bound_at=get_num(d, "bound_at", where, none=True),
        expires_at=get_num(d, "expires_at", where, none=True),
        last_sequence=get_int(d, "last_sequence", where, 0, 0xFFFF, none=True),
        last_timestamp=get_int(d, "last_timestamp", where, 0, 2**64 - 1, none=True),
        last_sent_at=get_num(d, "last_sent_at", where, none=True),
        sending_lifetime=get_int(d, "sending_lifetime", where, 0, 0xFFFF),
        retransmissions=get_int(d, "retransmissions", where, 0, 255), timeout=get_num(d, "timeout", where, lo=0.0),
        awaiting_pba=get_bool(d, "awaiting_pba", where), timers=timers)
    if e.installed and (state not in (BulState.BOUND, BulState.REFRESHING) or not e.hnps or not e.tunnel_peer_id
                        or e.expires_at is None):
        raise MagStateError(where, "installed without a bound state, prefixes, tunnel peer or expiry")
    if e.awaiting_pba and e.last_sequence is None:
        raise MagStateError(where, "awaiting a PBA without a Sequence Number")
    return e


def load_state(state: Any) -> MagState:
    """A checked MagState from ``export_state()`` output; MagStateError names what is wrong."""
    if not isinstance(state, Mapping):
        raise MagStateError("state", "expected an object")
    if state.get("version") != VERSION:
        raise MagStateError("version", f"unsupported MAG state version {state.get('version')!r:.20}")
    core = MagCoreState(_checked(get_int, state, "seq", "state", 0, 0xFFFF),
                        _checked(get_num, state, "clock_offset", "state"))
    bul = state.get("bul")
    if not isinstance(bul, Mapping) or len(bul) > MAX_PORT + 1:
        raise MagStateError("bul", f"expected an object of at most {MAX_PORT + 1} entries")
    entries = [_checked(_entry, k, d) for k, d in bul.items()]
    peers: dict[IPv6Address, int] = {}
    seqs: set[int] = set()
    for e in entries:
        if e.installed and peers.setdefault(e.lma_address, e.tunnel_peer_id) != e.tunnel_peer_id:
            raise MagStateError(f"bul[{e.access_port}].tunnel_peer_id", f"LMA {e.lma_address} has two peer ids")
        if e.awaiting_pba:
            if e.last_sequence in seqs:
                raise MagStateError(f"bul[{e.access_port}].last_sequence", "two entries await the same PBA")
            seqs.add(e.last_sequence)  # type: ignore[arg-type]
    if len(set(peers.values())) != len(peers):
        raise MagStateError("bul", "two LMAs share a tunnel peer id")
    return MagState(core, tuple(sorted(entries, key=lambda e: e.access_port)))


__all__ = ["MagStateError", "VERSION", "core_doc", "entry_doc", "export_state", "load_state"]
