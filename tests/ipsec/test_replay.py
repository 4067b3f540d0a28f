"""RFC 4303 §3.4.3 and Appendix A: anti-replay window, with ESN inference.

A plain set-of-seen-numbers model (independent of the bitmask code) gives
the expected verdicts.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p4mobility.ipsec import DuplicateSequence, ReplayWindow, StaleSequence


def _accept(w: ReplayWindow, seq: int) -> bool:
    try:
        w.check(seq)
    except (DuplicateSequence, StaleSequence):
        return False
    w.update(seq)
    return True


def test_rfc4303_3_4_3_default_window_is_64():
    w = ReplayWindow()
    assert w.size == 64
    assert _accept(w, 100)
    assert _accept(w, 100 - 63)  # right edge of a 64-wide window
    with pytest.raises(StaleSequence):
        w.check(100 - 64)


def test_rfc4303_3_4_3_duplicate_rejected():
    w = ReplayWindow(64)
    assert _accept(w, 5)
    with pytest.raises(DuplicateSequence):
        w.check(5)
    assert _accept(w, 4) and not _accept(w, 4)


def test_rfc4303_3_3_3_sequence_zero_never_valid():
    with pytest.raises(StaleSequence):
        ReplayWindow(64).check(0)


def test_rfc4303_3_4_3_check_does_not_mutate():
    w = ReplayWindow(64)
    w.check(10)  # preliminary check only: an ICV failure must leave no trace
    assert w.top == 0
    assert _accept(w, 10)


@pytest.mark.parametrize("size", [1024, 4096])
def test_rfc4303_3_4_3_large_windows(size):
    w = ReplayWindow(size)
    assert _accept(w, size * 3)
    assert _accept(w, size * 2 + 1)  # size-1 behind the top: inside
    assert not _accept(w, size * 2)  # exactly size behind: outside
    assert not _accept(w, size * 2 + 1)


def test_window_zero_disables_replay_check():
    w = ReplayWindow(0)
    assert _accept(w, 3) and _accept(w, 3) and _accept(w, 1)


@settings(max_examples=200, deadline=None)
@given(size=st.sampled_from([32, 64, 1024]), seqs=st.lists(st.integers(1, 3000), max_size=200))
def test_rfc4303_3_4_3_window_matches_set_model(size, seqs):
    w = ReplayWindow(size)
    seen: set[int] = set()
    top = 0
    for s in seqs:
        expected = s not in seen and s > top - size
        assert _accept(w, s) == expected
        if expected:
            seen.add(s)
            top = max(top, s)


def test_rfc4303_appendix_a2_esn_inference_across_2_32():
    w = ReplayWindow(64, esn=True)
    below = (1 << 32) - 3
    w.update(below)
    # low half wrapped to 2: next subspace (Case A)
    assert w.infer(2) == (1 << 32) | 2
    w.update((1 << 32) | 2)
    # a late packet from the old subspace inside the window (Case B)
    assert w.infer(below & 0xFFFFFFFF) == below
    assert _accept(w, w.infer((below + 1) & 0xFFFFFFFF))
    with pytest.raises(DuplicateSequence):
        w.check(w.infer(below & 0xFFFFFFFF))


@settings(max_examples=200, deadline=None)
@given(top=st.integers(64, (1 << 40)), delta=st.integers(-63, 1 << 20))
def test_rfc4303_appendix_a2_inference_recovers_full_number(top, delta):
    """Any number within the window or ahead (< 2^32 - W) is inferred exactly."""
    w = ReplayWindow(64, esn=True)
    w.update(top)
    seq = top + delta
    assert w.infer(seq & 0xFFFFFFFF) == seq
