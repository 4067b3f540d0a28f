"""Home registration life cycle (RFC 6275 §10.3, RFC 5648 §5): one table.

Rule: every legal move of a home binding (all care-of addresses of one home
address) is a ``(HomeState, HomeEvent) -> HomeState`` pair in
``HOME_TRANSITIONS``; a missing pair is a core bug and raises
``HomeTransitionError``. The core classifies an accepted BU or a timer into
a HomeEvent first (ha.py), then asks ``next_state``. A rejected or discarded
BU is no event: it changes nothing (§1 of the spec's decision table).

- NONE -> ACTIVE on an accepted first home registration (RFC 6275 §10.3.1).
- ACTIVE: REFRESH (same paths, new lifetime, §10.3.1) and MOVE (a care-of
  address changed, a BID was added or replaced, or a NAT mapping changed,
  RFC 6275 §10.3.1, RFC 5648 §5.2, RFC 5555 §4.2) stay ACTIVE;
  DEREGISTER_BIDS (lifetime 0 naming some BIDs while others stay, RFC 5648
  §5.2) stays ACTIVE; PATH_EXPIRED (one BID's lifetime ran out, others left,
  RFC 5648 §5) stays ACTIVE; REFRESH_DUE (a Binding Refresh Request was sent
  before expiry, RFC 6275 §9.5.5 / RFC 5648 §5.4) -> REFRESH_REQUESTED.
- REFRESH_REQUESTED: any accepted registration (REFRESH, MOVE,
  DEREGISTER_BIDS) -> ACTIVE; PATH_EXPIRED and REFRESH_DUE stay.
- DEREGISTER (lifetime 0 or care-of address = home address, for the whole
  binding, RFC 6275 §10.3.2) and LIFETIME_EXPIRED (the last path's lifetime
  ran out) delete the binding from ACTIVE or REFRESH_REQUESTED.
"""
from __future__ import annotations

from enum import Enum


class HomeTransitionError(RuntimeError):
    """A (HomeState, HomeEvent) pair missing from HOME_TRANSITIONS: a core bug."""


class HomeState(Enum):
    NONE = "none"
    ACTIVE = "active"
    REFRESH_REQUESTED = "refresh_requested"  # BRR sent, waiting for a BU
    DELETED = "deleted"


class HomeEvent(Enum):
    REGISTER = "register"  # first accepted home registration (RFC 6275 §10.3.1)
    REFRESH = "refresh"  # same paths, lifetime renewed
    MOVE = "move"  # paths changed (CoA, BIDs, NAT mapping)
    DEREGISTER_BIDS = "deregister_bids"  # RFC 5648 §5.2: some BIDs removed, others stay
    DEREGISTER = "deregister"  # RFC 6275 §10.3.2: the whole binding removed
    REFRESH_DUE = "refresh_due"  # Binding Refresh Request sent
    PATH_EXPIRED = "path_expired"  # one BID's lifetime ran out, others remain
    LIFETIME_EXPIRED = "lifetime_expired"  # the last path's lifetime ran out


_S, _E = HomeState, HomeEvent

HOME_TRANSITIONS: dict[tuple[HomeState, HomeEvent], HomeState] = {
    (_S.NONE, _E.REGISTER): _S.ACTIVE,
    (_S.ACTIVE, _E.REFRESH): _S.ACTIVE,
    (_S.ACTIVE, _E.MOVE): _S.ACTIVE,
    (_S.ACTIVE, _E.DEREGISTER_BIDS): _S.ACTIVE,
    (_S.ACTIVE, _E.PATH_EXPIRED): _S.ACTIVE,
    (_S.ACTIVE, _E.REFRESH_DUE): _S.REFRESH_REQUESTED,
    (_S.ACTIVE, _E.DEREGISTER): _S.DELETED,
    (_S.ACTIVE, _E.LIFETIME_EXPIRED): _S.DELETED,
    (_S.REFRESH_REQUESTED, _E.REFRESH): _S.ACTIVE,
    (_S.REFRESH_REQUESTED, _E.MOVE): _S.ACTIVE,
    (_S.REFRESH_REQUESTED, _E.DEREGISTER_BIDS): _S.ACTIVE,
    (_S.REFRESH_REQUESTED, _E.PATH_EXPIRED): _S.REFRESH_REQUESTED,
    (_S.REFRESH_REQUESTED, _E.REFRESH_DUE): _S.REFRESH_REQUESTED,  # another BID nears its expiry
    (_S.REFRESH_REQUESTED, _E.DEREGISTER): _S.DELETED,
    (_S.REFRESH_REQUESTED, _E.LIFETIME_EXPIRED): _S.DELETED,
}


def next_state(state: HomeState, event: HomeEvent) -> HomeState:
    """The state after ``event``; raises HomeTransitionError for an illegal pair."""
    try:
        return HOME_TRANSITIONS[(state, event)]
    except KeyError:
        raise HomeTransitionError(f"no transition from {state.name} on {event.name}") from None


__all__ = ["HomeState", "HomeEvent", "HOME_TRANSITIONS", "HomeTransitionError", "next_state"]
