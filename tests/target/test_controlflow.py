"""Compiled control flow (controlflow.py) against the reference interpreter
(Pipeline.run_control) on the same program, entries and frames."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from p4mob_switch.pipeline import Pipeline

from .test_differential import entries, frames
from .tlib import CPU_PORT, Rig, require_features


_PAIR: list = []


def _pair() -> tuple[Rig, Rig]:
    """One compiled and one reference rig, shared by the examples (their state
    evolves identically, so sharing keeps the comparison exact)."""
    if _PAIR:
        return _PAIR[0]
    a, b = Rig(4), Rig(4)
    b.device.pipeline = Pipeline(b.device.pipeline.program, CPU_PORT, reference=True)
    for ent in entries():
        a.write(ent)
    for ent in entries():
        b.write(ent)
    _PAIR.append((a, b))
    return a, b


def _same(a: Rig, b: Rig, frame: bytes, port: int) -> None:
    a.packet_ins.clear()
    b.packet_ins.clear()
    assert a.send(port, frame) == b.send(port, frame)
    assert a.packet_ins == b.packet_ins


def test_crafted_and_random_frames_agree() -> None:
    require_features()
    a, b = _pair()
    for f in frames(seed=7, n_random=60):
        _same(a, b, f, 1)
    assert a.stats.faults == b.stats.faults == 0


@settings(max_examples=150, deadline=None)
@given(tail=st.binary(max_size=120), port=st.integers(1, 4), kind=st.sampled_from([0x0800, 0x86DD, 0x88B5, 0x8100]))
def test_hypothesis_frames_agree(tail: bytes, port: int, kind: int) -> None:
    require_features()
    a, b = _pair()
    frame = bytes.fromhex("020000000001020000000002") + kind.to_bytes(2, "big") + tail
    _same(a, b, frame, port)


_MOB: list = []


def _mobility_pair():
    from pathlib import Path

    import pytest

    from p4mob_switch.device import Device, load_p4info
    repo = Path(__file__).resolve().parents[2]
    js, info = repo / "p4src/build/mobility.json", repo / "p4src/build/mobility.p4info.txtpb"
    if not js.exists() or not info.exists():
        pytest.skip("p4src/build/mobility.{json,p4info.txtpb} not built")
    if not _MOB:
        out = []
        for ref in (False, True):
            d = Device(1, CPU_PORT)
            d.load(js.read_bytes(), load_p4info(info.read_bytes()))
            d.pipeline = Pipeline(d.pipeline.program, CPU_PORT, reference=ref)
            out.append(d.pipeline)
        _MOB.append(tuple(out))
    return _MOB[0]


@settings(max_examples=150, deadline=None)
@given(tail=st.binary(max_size=120), port=st.integers(1, 255),
       kind=st.sampled_from([0x0800, 0x86DD, 0x88B5, 0x1234]))
def test_mobility_program_compiled_matches_reference(tail: bytes, port: int, kind: int) -> None:
    a, b = _mobility_pair()
    frame = bytes.fromhex("00005e005301020000000002") + kind.to_bytes(2, "big") + tail
    assert a.process(frame, port) == b.process(frame, port)
    assert a.stats.faults == b.stats.faults == 0
