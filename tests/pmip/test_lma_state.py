"""The BCE transition table (RFC 5213 §5.3.2-§5.3.5, §5.4.1) tested directly."""
from __future__ import annotations

import pytest
from p4mobility.pmip.bul import BUL_TRANSITIONS, BulEvent, BulState, bul_next
from p4mobility.pmip.errors import BceTransitionError
from p4mobility.pmip.lma_state import BCE_TRANSITIONS, BceEvent, BceState, next_state

S, E = BceState, BceEvent


@pytest.mark.parametrize("pair,expected", sorted(BCE_TRANSITIONS.items(), key=lambda kv: (kv[0][0].value, kv[0][1].value)))
def test_table_entries_are_returned(pair, expected):
    assert next_state(*pair) is expected


def test_rfc5213_5_3_2_only_register_creates_an_entry():
    from_none = {e for (s, e) in BCE_TRANSITIONS if s is S.NONE}
    assert from_none == {E.REGISTER}
    assert next_state(S.NONE, E.REGISTER) is S.ACTIVE


def test_rfc5213_5_3_5_deregistration_starts_the_delete_delay():
    assert next_state(S.ACTIVE, E.DEREGISTER) is S.DEREGISTERING
    assert next_state(S.DEREGISTERING, E.DELETE_DELAY_EXPIRED) is S.DELETED


def test_rfc5213_5_3_5_new_registration_during_delete_delay_revives():
    assert next_state(S.DEREGISTERING, E.HANDOFF) is S.ACTIVE
    assert next_state(S.DEREGISTERING, E.REFRESH) is S.ACTIVE


def test_rfc5213_5_3_5_stale_deregistration_changes_nothing():
    for state in (S.ACTIVE, S.HANDOFF_PENDING, S.DEREGISTERING):
        assert next_state(state, E.STALE_DEREGISTER) is state


def test_rfc5213_5_4_1_unknown_handoff_waits_then_falls_back():
    assert next_state(S.ACTIVE, E.HANDOFF_UNKNOWN) is S.HANDOFF_PENDING
    assert next_state(S.HANDOFF_PENDING, E.DEREGISTER) is S.DEREGISTERING
    assert next_state(S.HANDOFF_PENDING, E.NEW_BCE_ASSIGN_EXPIRED) is S.ACTIVE


def test_deleted_is_terminal_and_missing_pairs_raise():
    assert not [k for k in BCE_TRANSITIONS if k[0] is S.DELETED]
    with pytest.raises(BceTransitionError):
        next_state(S.DELETED, E.REFRESH)
    with pytest.raises(BceTransitionError):
        next_state(S.NONE, E.DEREGISTER)
    # lifetime does not run while de-registering: MinDelayBeforeBCEDelete governs
    with pytest.raises(BceTransitionError):
        next_state(S.DEREGISTERING, E.LIFETIME_EXPIRED)


def test_every_live_state_can_reach_deleted():
    graph: dict = {}
    for (s, _e), t in BCE_TRANSITIONS.items():
        graph.setdefault(s, set()).add(t)
    for start in (S.ACTIVE, S.HANDOFF_PENDING, S.DEREGISTERING):
        seen, todo = set(), [start]
        while todo:
            s = todo.pop()
            if s in seen:
                continue
            seen.add(s)
            todo += graph.get(s, ())
        assert S.DELETED in seen


def test_bul_table_drops_entries_only_where_stated():
    assert bul_next(BulState.REGISTERING, BulEvent.ACCEPTED) is BulState.BOUND
    assert bul_next(BulState.BOUND, BulEvent.DETACH) is BulState.DEREGISTERING
    assert bul_next(BulState.DEREGISTERING, BulEvent.ACCEPTED) is None
    assert bul_next(BulState.REFRESHING, BulEvent.GAVE_UP) is BulState.BOUND
    assert (BulState.BOUND, BulEvent.ACCEPTED) not in BUL_TRANSITIONS
    with pytest.raises(BceTransitionError):
        bul_next(BulState.BOUND, BulEvent.ACCEPTED)
