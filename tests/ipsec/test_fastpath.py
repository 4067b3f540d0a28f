"""The fused AES-GCM fast path (fastpath.py) against the reference path.

Same packets, same order: verdicts, outputs, window and counters must agree
with ``Sa._open_ref`` / ``Sa._seal_ref`` (RFC 4303 §3.3-§3.4 semantics).
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p4mobility.ipsec import IpsecError, Lifetime, Sa, SaExpired

from .conftest import ALGOS, HA, HOA


def _sa(direction: str, **kw) -> Sa:
    return Sa(0x1000, HOA, HA, dir=direction, **ALGOS["gcm"], **kw)


def test_fast_path_is_used_only_for_gcm_without_esn():
    assert "open" in vars(_sa("in")) and "seal" in vars(_sa("out"))
    assert "open" not in vars(_sa("in", esn=True))
    assert "open" not in vars(Sa(0x1000, HOA, HA, **ALGOS["cbc"]))


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=20))
def test_rfc4303_3_3_fast_seal_equals_reference(sizes):
    fast, ref = _sa("out"), _sa("out")
    for n in sizes:
        payload = bytes(range(256))[: n % 256] * (1 + n // 256)
        assert fast.seal(payload, 135, 1.0) == ref._seal_ref(payload, 135, 1.0)
    assert (fast.oseq, fast.counters) == (ref.oseq, ref.counters)


@settings(max_examples=150, deadline=None)
@given(order=st.lists(st.tuples(st.integers(0, 79), st.sampled_from(["ok", "flip", "cut"])),
                      min_size=1, max_size=60),
       window=st.sampled_from([0, 32, 64]))
def test_rfc4303_3_4_fast_open_equals_reference(order, window):
    out = _sa("out")
    wires = [out.seal(bytes([i]) * (i % 40), 135, 0.0) for i in range(80)]
    fast, ref = _sa("in", replay_window=window), _sa("in", replay_window=window)
    for i, how in order:
        w = wires[i]
        if how == "flip":
            w = w[:-3] + bytes([w[-3] ^ 4]) + w[-2:]
        elif how == "cut":
            w = w[: 8 + i % 30]
        results = []
        for fn in (fast.open, ref._open_ref):
            try:
                results.append(fn(w, 0.0))
            except IpsecError as exc:
                results.append(type(exc))
        assert results[0] == results[1]
    assert fast.window.top == ref.window.top and fast.window._bits == ref.window._bits
    assert fast.counters == ref.counters


def test_fast_path_defers_to_reference_for_lifetimes():
    sa = _sa("out", lifetime=Lifetime(packet_soft=1, time_hard=5))
    sa.seal(b"x", 135, 0.0)
    assert [type(e).__name__ for e in sa.drain()] == ["RekeySoft"]
    with pytest.raises(SaExpired):
        sa.seal(b"x", 135, 5.0)
    assert [type(e).__name__ for e in sa.drain()] == ["RekeyHard"]
