"""Binding cache entry life cycle (RFC 5213 §5.3.2-§5.3.5, §5.4.1): one table.

Rule: every legal move of a BCE is a ``(BceState, BceEvent) -> BceState`` pair
in ``BCE_TRANSITIONS``; a pair that is missing is a core bug and raises
``BceTransitionError``. The LMA classifies each PBU or timer into a BceEvent
first (lma.py), then asks ``next_state``.

- NONE -> ACTIVE on an accepted initial registration (§5.3.2).
- ACTIVE: REFRESH (same Proxy-CoA, §5.3.3) and HANDOFF (other Proxy-CoA,
  §5.3.4) stay ACTIVE; DEREGISTER (lifetime 0 from the current Proxy-CoA) starts
  MinDelayBeforeBCEDelete (§5.3.5); a lifetime-0 PBU from another MAG is a
  STALE_DEREGISTER and changes nothing; HANDOFF_UNKNOWN (HI=4 with one
  candidate BCE, §5.4.1.2/3) parks the new PBU: HANDOFF_PENDING.
- HANDOFF_PENDING: the old MAG's DEREGISTER arrives -> DEREGISTERING (the
  parked PBU then applies as HANDOFF); NEW_BCE_ASSIGN_EXPIRED (no
  de-registration within MaxDelayBeforeNewBCEAssign) -> ACTIVE again and the
  parked PBU becomes a new session.
- DEREGISTERING: a valid registration (REFRESH or HANDOFF) revives the entry;
  DELETE_DELAY_EXPIRED deletes it.
- LIFETIME_EXPIRED deletes an ACTIVE or HANDOFF_PENDING entry.
"""
from __future__ import annotations

from enum import Enum

from .errors import BceTransitionError


class BceState(Enum):
    NONE = "none"
    ACTIVE = "active"
    HANDOFF_PENDING = "handoff_pending"  # MaxDelayBeforeNewBCEAssign running
    DEREGISTERING = "deregistering"  # MinDelayBeforeBCEDelete running
    DELETED = "deleted"


class BceEvent(Enum):
    REGISTER = "register"  # new mobility session accepted (§5.3.2)
    REFRESH = "refresh"  # lifetime > 0, same Proxy-CoA (§5.3.3)
    HANDOFF = "handoff"  # lifetime > 0, different Proxy-CoA (§5.3.4)
    DEREGISTER = "deregister"  # lifetime 0, same Proxy-CoA (§5.3.5)
    STALE_DEREGISTER = "stale_deregister"  # lifetime 0, other Proxy-CoA (§5.3.5)
    HANDOFF_UNKNOWN = "handoff_unknown"  # HI=4, wait for de-registration (§5.4.1)
    NEW_BCE_ASSIGN_EXPIRED = "new_bce_assign_expired"  # MaxDelayBeforeNewBCEAssign
    DELETE_DELAY_EXPIRED = "delete_delay_expired"  # MinDelayBeforeBCEDelete
    LIFETIME_EXPIRED = "lifetime_expired"  # binding lifetime ran out


_S, _E = BceState, BceEvent

BCE_TRANSITIONS: dict[tuple[BceState, BceEvent], BceState] = {
    (_S.NONE, _E.REGISTER): _S.ACTIVE,
    (_S.ACTIVE, _E.REFRESH): _S.ACTIVE,
    (_S.ACTIVE, _E.HANDOFF): _S.ACTIVE,
    (_S.ACTIVE, _E.DEREGISTER): _S.DEREGISTERING,
    (_S.ACTIVE, _E.STALE_DEREGISTER): _S.ACTIVE,
    (_S.ACTIVE, _E.HANDOFF_UNKNOWN): _S.HANDOFF_PENDING,
    (_S.ACTIVE, _E.LIFETIME_EXPIRED): _S.DELETED,
    (_S.HANDOFF_PENDING, _E.REFRESH): _S.HANDOFF_PENDING,
    (_S.HANDOFF_PENDING, _E.HANDOFF_UNKNOWN): _S.HANDOFF_PENDING,  # retransmitted parked PBU
    (_S.HANDOFF_PENDING, _E.STALE_DEREGISTER): _S.HANDOFF_PENDING,
    (_S.HANDOFF_PENDING, _E.DEREGISTER): _S.DEREGISTERING,
    (_S.HANDOFF_PENDING, _E.HANDOFF): _S.ACTIVE,
    (_S.HANDOFF_PENDING, _E.NEW_BCE_ASSIGN_EXPIRED): _S.ACTIVE,
    (_S.HANDOFF_PENDING, _E.LIFETIME_EXPIRED): _S.DELETED,
    (_S.DEREGISTERING, _E.REFRESH): _S.ACTIVE,
    (_S.DEREGISTERING, _E.HANDOFF): _S.ACTIVE,
    (_S.DEREGISTERING, _E.DEREGISTER): _S.DEREGISTERING,  # retransmitted de-registration
    (_S.DEREGISTERING, _E.STALE_DEREGISTER): _S.DEREGISTERING,
    (_S.DEREGISTERING, _E.DELETE_DELAY_EXPIRED): _S.DELETED,
}


def next_state(state: BceState, event: BceEvent) -> BceState:
    """The state after ``event``; raises BceTransitionError for an illegal pair."""
    try:
        return BCE_TRANSITIONS[(state, event)]
    except KeyError:
        raise BceTransitionError(f"no transition from {state.name} on {event.name}") from None


__all__ = ["BceState", "BceEvent", "BCE_TRANSITIONS", "next_state"]
