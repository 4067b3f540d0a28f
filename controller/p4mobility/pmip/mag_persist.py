"""MAG persistence: the Binding Update List (RFC 5213 §6.1) as plain dicts,
its validated restore, and the actions that rebuild the data plane.

Rule: exported state is JSON-able: {"version", "seq", "clock_offset",
"bul": {access port: entry}}; an entry holds every BulEntry field, whether its
PBU awaits a PBA, and its deadlines (retransmit, refresh, expire, deferred
send) as absolute times, so a restored core resumes exactly: no new PBU for a
bound MN before its refresh is due, a PBA for the PBU in flight is still
taken. Loading checks every field (type, range, size) and the entries against
each other (one tunnel peer id per LMA, one entry per outstanding Sequence
Number); anything wrong raises `MagStateError` naming the field, before the
core is touched. The per-MN PBU rate history (§6.9.4) is not kept.
"""
from __future__ import annotations

import math
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any, Mapping

from .actions import MagBindingInstalled, TunnelPeerAdded
from .bul import BulEntry, BulState

if TYPE_CHECKING:
    from .mag import MobileAccessGateway

VERSION = 1
MAX_PORT = 511  # v1model 9-bit ports
MAX_ID_BYTES = 255  # MN-ID / MN-LL-ID option payloads fit one option length byte
MAX_HNPS = 16
MAX_SECONDS = 1e12  # absolute times and durations beyond this are corrupt
TIMER_KINDS = ("retransmit", "refresh", "expire", "send")  # = mag.RETRANSMIT, REFRESH, EXPIRE, SEND


class MagStateError(ValueError):
    """A persisted MAG state document is unusable; ``where`` names the field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


# --- export ------------------------------------------------------------------------

def core_doc(mag: "MobileAccessGateway") -> dict[str, Any]:
    return {"version": VERSION, "seq": mag._seq, "clock_offset": mag.clock_offset}


def entry_doc(mag: "MobileAccessGateway", e: BulEntry) -> dict[str, Any]:
    timers = {k: mag._timers.get((k, e.access_port)) for k in TIMER_KINDS}
    return {
        "access_port": e.access_port, "mn_id": e.mn_id.hex(), "mn_ll_id": None if e.mn_ll_id is None
        else e.mn_ll_id.hex(), "att": e.att, "lma_address": str(e.lma_address),
        "requested_hnps": [str(n) for n in e.requested_hnps], "requested_lifetime": e.requested_lifetime,
        "handoff_indicator": e.handoff_indicator, "state": e.state.value, "hnps": [str(n) for n in e.hnps],
        "mag_link_local": None if e.mag_link_local is None else str(e.mag_link_local),
        "tunnel_peer_id": e.tunnel_peer_id, "installed": e.installed, "granted_lifetime": e.granted_lifetime,
        "bound_at": e.bound_at, "expires_at": e.expires_at, "last_sequence": e.last_sequence,
        "last_timestamp": e.last_timestamp, "last_sent_at": e.last_sent_at, "sending_lifetime": e.sending_lifetime,
        "retransmissions": e.retransmissions, "timeout": e.timeout,
        "awaiting_pba": e.last_sequence is not None and mag._by_seq.get(e.last_sequence) == e.access_port,
        "timers": {k: v for k, v in timers.items() if v is not None},
    }


def export_state(mag: "MobileAccessGateway") -> dict[str, Any]:
    return {**core_doc(mag), "bul": {str(p): entry_doc(mag, e) for p, e in sorted(mag._bul.items())}}


# --- checked reads -------------------------------------------------------------------

def _int(d: Mapping, k: str, where: str, lo: int, hi: int, none: bool = False) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise MagStateError(f"{where}.{k}", f"expected an integer in {lo}..{hi}, got {v!r:.60}")
    return v


def _num(d: Mapping, k: str, where: str, none: bool = False, lo: float = -MAX_SECONDS) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not lo <= v <= MAX_SECONDS:
        raise MagStateError(f"{where}.{k}", f"expected a finite number, got {v!r:.60}")
    return float(v)


def _hex(d: Mapping, k: str, where: str, none: bool = False) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    try:
        if not isinstance(v, str) or len(v) > 2 * MAX_ID_BYTES:
            raise ValueError
        b = bytes.fromhex(v)
    except ValueError:
        raise MagStateError(f"{where}.{k}", f"expected hex of at most {MAX_ID_BYTES} bytes") from None
    if not b and not none:
        raise MagStateError(f"{where}.{k}", "empty")
    return b


def _addr(d: Mapping, k: str, where: str, none: bool = False) -> Any:
    v = d.get(k)
    if v is None and none:
        return None
    try:
        return IPv6Address(v if isinstance(v, str) else "")
    except ValueError:
        raise MagStateError(f"{where}.{k}", f"expected an IPv6 address, got {v!r:.60}") from None


def _nets(d: Mapping, k: str, where: str) -> tuple[IPv6Network, ...]:
    v = d.get(k)
    if not isinstance(v, list) or len(v) > MAX_HNPS:
        raise MagStateError(f"{where}.{k}", f"expected a list of at most {MAX_HNPS} prefixes")
    try:
        return tuple(IPv6Network(n if isinstance(n, str) else "") for n in v)
    except ValueError:
        raise MagStateError(f"{where}.{k}", "not an IPv6 prefix") from None


def _entry(key: Any, d: Any) -> tuple[BulEntry, bool, dict[str, float]]:
    where = f"bul[{key!s:.20}]"
    if not isinstance(d, Mapping):
        raise MagStateError(where, "expected an object")
    port = _int(d, "access_port", where, 0, MAX_PORT)
    if str(key) != str(port):
        raise MagStateError(where, f"stored under {key!r} but is for access port {port}")
    try:
        state = BulState(d.get("state"))
    except ValueError:
        raise MagStateError(f"{where}.state", f"unknown state {d.get('state')!r:.40}") from None
    e = BulEntry(
        access_port=port, mn_id=_hex(d, "mn_id", where), mn_ll_id=_hex(d, "mn_ll_id", where, none=True) or None,
        att=_int(d, "att", where, 0, 255), lma_address=_addr(d, "lma_address", where),
        requested_hnps=_nets(d, "requested_hnps", where),
        requested_lifetime=_num(d, "requested_lifetime", where, lo=0.0),
        handoff_indicator=_int(d, "handoff_indicator", where, 0, 255), state=state,
        hnps=_nets(d, "hnps", where), mag_link_local=_addr(d, "mag_link_local", where, none=True),
        tunnel_peer_id=_int(d, "tunnel_peer_id", where, 0, 0xFFFF), granted_lifetime=_num(
            d, "granted_lifetime", where, lo=0.0), bound_at=_num(d, "bound_at", where, none=True),
        expires_at=_num(d, "expires_at", where, none=True),
        last_sequence=_int(d, "last_sequence", where, 0, 0xFFFF, none=True),
        last_timestamp=_int(d, "last_timestamp", where, 0, 2**64 - 1, none=True),
        last_sent_at=_num(d, "last_sent_at", where, none=True),
        sending_lifetime=_int(d, "sending_lifetime", where, 0, 0xFFFF),
        retransmissions=_int(d, "retransmissions", where, 0, 255), timeout=_num(d, "timeout", where, lo=0.0))
    installed, awaiting = d.get("installed"), d.get("awaiting_pba")
    if not isinstance(installed, bool) or not isinstance(awaiting, bool):
        raise MagStateError(where, "installed and awaiting_pba must be true or false")
    if installed and (state not in (BulState.BOUND, BulState.REFRESHING) or not e.hnps or not e.tunnel_peer_id
                      or e.expires_at is None):
        raise MagStateError(where, "installed without a bound state, prefixes, tunnel peer or expiry")
    if awaiting and e.last_sequence is None:
        raise MagStateError(where, "awaiting a PBA without a Sequence Number")
    raw = d.get("timers")
    if not isinstance(raw, Mapping) or any(k not in TIMER_KINDS for k in raw):
        raise MagStateError(f"{where}.timers", f"expected an object with keys among {TIMER_KINDS}")
    timers = {k: _num(raw, k, f"{where}.timers") for k in raw}
    e.installed = installed
    return e, awaiting, timers


# --- restore -------------------------------------------------------------------------

def restore(mag: "MobileAccessGateway", state: Any) -> None:
    """Load ``export_state()`` output into a fresh core; MagStateError leaves it untouched."""
    if not isinstance(state, Mapping):
        raise MagStateError("state", "expected an object")
    if state.get("version") != VERSION:
        raise MagStateError("version", f"unsupported MAG state version {state.get('version')!r:.20}")
    seq = _int(state, "seq", "state", 0, 0xFFFF)
    offset = _num(state, "clock_offset", "state")
    bul = state.get("bul")
    if not isinstance(bul, Mapping) or len(bul) > MAX_PORT + 1:
        raise MagStateError("bul", f"expected an object of at most {MAX_PORT + 1} entries")
    entries = [_entry(k, d) for k, d in bul.items()]
    peers: dict[IPv6Address, int] = {}
    by_seq: dict[int, int] = {}
    for e, awaiting, _ in entries:
        if e.installed:
            if peers.setdefault(e.lma_address, e.tunnel_peer_id) != e.tunnel_peer_id:
                raise MagStateError(f"bul[{e.access_port}].tunnel_peer_id", f"LMA {e.lma_address} has two peer ids")
        if awaiting:
            if e.last_sequence in by_seq:
                raise MagStateError(f"bul[{e.access_port}].last_sequence", "two entries await the same PBA")
            by_seq[e.last_sequence] = e.access_port
    if len(set(peers.values())) != len(peers):
        raise MagStateError("bul", "two LMAs share a tunnel peer id")
    # checked: now change the core
    mag._seq, mag.clock_offset = seq, offset
    for addr, ident in sorted(peers.items(), key=lambda kv: kv[1]):
        mag._peer_ids.reserve(ident)
        mag._peers[addr] = [ident, sum(1 for e, _, _ in entries if e.installed and e.lma_address == addr)]
    mag._by_seq.update(by_seq)
    for e, _, timers in entries:
        mag._bul[e.access_port] = e
        for kind, when in timers.items():
            mag._timers.set((kind, e.access_port), when)


def snapshot_actions(mag: "MobileAccessGateway") -> list:
    """Actions that rebuild the data plane from scratch (after a restore)."""
    cfg = mag.config
    actions: list = [TunnelPeerAdded(ident, cfg.proxy_coa, addr) for addr, (ident, _) in sorted(
        mag._peers.items(), key=lambda kv: kv[1][0])]
    for e in sorted(mag._bul.values(), key=lambda e: e.access_port):
        if e.installed:
            actions.append(MagBindingInstalled(
                e.access_port, e.mn_id, e.mn_ll_id, e.hnps, e.lma_address, cfg.proxy_coa, e.tunnel_peer_id,
                e.mag_link_local or cfg.own_link_local, e.granted_lifetime, cfg.enable_mag_local_routing))
    return actions


__all__ = ["MagStateError", "VERSION", "core_doc", "entry_doc", "export_state", "restore", "snapshot_actions"]
