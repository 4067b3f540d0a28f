"""Plain state values of the PMIPv6 cores: what views show and persistence saves.

Rule: a record is a frozen snapshot with typed fields (enums, addresses,
networks), built by the core and never referring back to it. Adapters read
records (``p4mob show``), persistence turns them into JSON and back
(lma_persist.py, mag_persist.py) and a core is rebuilt from them
(``from_state``); neither imports a core.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from p4mobility.binding import Path

from .bul import BulState
from .lma_state import BceState


@dataclass(frozen=True, slots=True)
class BindingView:
    """One LMA binding cache entry (RFC 5213 §5.1)."""

    binding_id: int
    mn_id: bytes
    mn_id_subtype: int
    mn_ll_id: bytes | None
    home_prefixes: tuple[IPv6Network, ...]
    paths: tuple[Path, ...]  # one: BID 0, the Proxy-CoA
    att: int
    handoff_indicator: int
    mag_link_local: IPv6Address | None
    timestamp: int | None
    sequence: int
    lifetime: float
    registered_at: float
    refreshed_at: float
    expires_at: float
    state: BceState
    delete_at: float | None

    @property
    def coa(self) -> IPv6Address:
        return self.paths[0].coa  # type: ignore[return-value]

    @property
    def tunnel_peer_id(self) -> int:
        return self.paths[0].tunnel_peer_id


@dataclass(frozen=True, slots=True)
class TunnelPeerView:
    tunnel_peer_id: int
    local: IPv6Address
    remote: IPv6Address
    bindings: int  # how many bindings use it


@dataclass(frozen=True, slots=True)
class BulView:
    """One MAG Binding Update List entry (RFC 5213 §6.1), with what a restore needs."""

    access_port: int
    mn_id: bytes
    mn_ll_id: bytes | None
    att: int
    lma_address: IPv6Address
    requested_hnps: tuple[IPv6Network, ...]
    requested_lifetime: float
    handoff_indicator: int
    state: BulState
    hnps: tuple[IPv6Network, ...]
    mag_link_local: IPv6Address | None
    tunnel_peer_id: int
    installed: bool  # forwarding programmed, RAs sent (after an accepted PBA)
    granted_lifetime: float
    bound_at: float | None
    expires_at: float | None
    last_sequence: int | None
    last_timestamp: int | None
    last_sent_at: float | None
    sending_lifetime: int
    retransmissions: int
    timeout: float
    awaiting_pba: bool = False  # its last PBU is outstanding
    timers: tuple[tuple[str, float], ...] = ()  # (kind, absolute deadline), sorted by kind


@dataclass(frozen=True, slots=True)
class MagCoreState:
    """MAG state outside the BUL: the last Sequence Number sent, the clock offset (§5.5)."""

    seq: int
    clock_offset: float


@dataclass(frozen=True, slots=True)
class MagState:
    core: MagCoreState
    bul: tuple[BulView, ...]


__all__ = ["BindingView", "TunnelPeerView", "BulView", "MagCoreState", "MagState"]
