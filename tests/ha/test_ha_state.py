"""The home binding life cycle table (ha_state.py, RFC 6275 §10.3, RFC 5648 §5)."""
from __future__ import annotations

import pytest
from p4mobility.ha.ha_state import (
    HOME_TRANSITIONS,
    HomeEvent,
    HomeState,
    HomeTransitionError,
    next_state,
)

S, E = HomeState, HomeEvent


@pytest.mark.parametrize("state, event, after", [
    (S.NONE, E.REGISTER, S.ACTIVE),  # RFC 6275 §10.3.1
    (S.ACTIVE, E.MOVE, S.ACTIVE),
    (S.ACTIVE, E.DEREGISTER_BIDS, S.ACTIVE),  # RFC 5648 §5.2
    (S.ACTIVE, E.REFRESH_DUE, S.REFRESH_REQUESTED),  # RFC 6275 §9.5.5
    (S.REFRESH_REQUESTED, E.REFRESH, S.ACTIVE),
    (S.REFRESH_REQUESTED, E.PATH_EXPIRED, S.REFRESH_REQUESTED),
    (S.ACTIVE, E.DEREGISTER, S.DELETED),  # RFC 6275 §10.3.2
    (S.REFRESH_REQUESTED, E.LIFETIME_EXPIRED, S.DELETED),
])
def test_rfc6275_10_3_moves(state, event, after):
    assert next_state(state, event) is after


@pytest.mark.parametrize("state, event", [
    (S.NONE, E.REFRESH), (S.NONE, E.DEREGISTER), (S.ACTIVE, E.REGISTER), (S.DELETED, E.REFRESH),
    (S.DELETED, E.LIFETIME_EXPIRED), (S.NONE, E.LIFETIME_EXPIRED)])
def test_missing_pairs_are_core_bugs(state, event):
    with pytest.raises(HomeTransitionError):
        next_state(state, event)


def test_no_move_leaves_deleted_and_only_register_leaves_none():
    assert all(s is not S.DELETED for s, _ in HOME_TRANSITIONS)
    assert {e for s, e in HOME_TRANSITIONS if s is S.NONE} == {E.REGISTER}
    assert all(HOME_TRANSITIONS[(s, E.DEREGISTER)] is S.DELETED for s in (S.ACTIVE, S.REFRESH_REQUESTED))
