"""The MAG's Binding Update List entry (RFC 5213 §6.1, RFC 6275 §11.1).

Rule: one entry per access port (point-to-point access links, RFC 5213 §6.3);
its ``state`` changes only along ``BUL_TRANSITIONS``:
REGISTERING -(PBA accepted)-> BOUND -(refresh due)-> REFRESHING -(PBA
accepted)-> BOUND; BOUND/REFRESHING -(detach)-> DEREGISTERING; the entry is
dropped on a rejection, on giving up, on lifetime expiry, or when the
de-registration is answered. An entry is "installed" (data plane programmed,
RAs sent) only after an accepted PBA (RFC 5213 §6.9.1.2).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv6Address, IPv6Network

from .errors import BceTransitionError


class BulState(Enum):
    REGISTERING = "registering"  # initial/handoff PBU in flight, nothing installed
    BOUND = "bound"
    REFRESHING = "refreshing"  # installed, re-registration PBU in flight
    DEREGISTERING = "deregistering"  # detached, lifetime-0 PBU in flight


class BulEvent(Enum):
    ACCEPTED = "accepted"
    REFRESH_DUE = "refresh_due"
    DETACH = "detach"
    GAVE_UP = "gave_up"  # retransmissions exhausted


_S, _E = BulState, BulEvent
BUL_TRANSITIONS: dict[tuple[BulState, BulEvent], BulState | None] = {
    (_S.REGISTERING, _E.ACCEPTED): _S.BOUND,
    (_S.REGISTERING, _E.GAVE_UP): None,  # entry dropped, MN not served
    (_S.REGISTERING, _E.DETACH): None,
    (_S.BOUND, _E.REFRESH_DUE): _S.REFRESHING,
    (_S.BOUND, _E.DETACH): _S.DEREGISTERING,
    (_S.REFRESHING, _E.ACCEPTED): _S.BOUND,
    (_S.REFRESHING, _E.GAVE_UP): _S.BOUND,  # keeps forwarding until the lifetime ends
    (_S.REFRESHING, _E.DETACH): _S.DEREGISTERING,
    (_S.DEREGISTERING, _E.ACCEPTED): None,
    (_S.DEREGISTERING, _E.GAVE_UP): None,
}


def bul_next(state: BulState, event: BulEvent) -> BulState | None:
    """Next state, None = drop the entry; illegal pairs raise."""
    try:
        return BUL_TRANSITIONS[(state, event)]
    except KeyError:
        raise BceTransitionError(f"BUL: no transition from {state.name} on {event.name}") from None


@dataclass(slots=True, eq=False)
class BulEntry:
    """RFC 5213 §6.1 fields plus the RFC 6275 §11.1 retransmission state."""

    access_port: int
    mn_id: bytes
    mn_ll_id: bytes | None
    att: int
    lma_address: IPv6Address
    requested_hnps: tuple[IPv6Network, ...]
    requested_lifetime: float
    handoff_indicator: int
    state: BulState = BulState.REGISTERING
    hnps: tuple[IPv6Network, ...] = ()
    mag_link_local: IPv6Address | None = None
    tunnel_peer_id: int = 0
    installed: bool = False
    granted_lifetime: float = 0.0
    bound_at: float | None = None
    expires_at: float | None = None
    last_sequence: int | None = None
    last_timestamp: int | None = None
    last_sent_at: float | None = None
    sending_lifetime: int = 0  # 4 s units of the PBU in flight (0 = de-registration)
    retransmissions: int = 0
    timeout: float = 0.0


__all__ = ["BulState", "BulEvent", "BUL_TRANSITIONS", "bul_next", "BulEntry"]
