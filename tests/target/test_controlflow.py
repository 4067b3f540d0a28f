"""Compiled control flow (controlflow.py: one structured function per control,
structured.py, and the per-node fallback) against the reference interpreter
(Pipeline.run_control) on the same program, entries and frames."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from p4mob_switch.pipeline import Pipeline

from .test_differential import entries, frames
from .tlib import CPU_PORT, Rig, require_features


_PAIR: list = []


def _pair() -> tuple[Rig, Rig]:
    """One compiled and one reference rig, shared by the examples (their state
    evolves identically, so sharing keeps the comparison exact); a third rig
    runs the per-node functions (_same compares it too)."""
    from p4mob_switch import controlflow
    if _PAIR:
        return _PAIR[0]
    a, b = Rig(4), Rig(4)
    controlflow.WHOLE = False
    try:
        c = Rig(4)
    finally:
        controlflow.WHOLE = True
    _PER_NODE.append(c)
    assert _is_structured(a) and not _is_structured(c)
    b.device.pipeline = Pipeline(b.device.pipeline.program, CPU_PORT, reference=True)
    for r in (a, b, c):
        for ent in entries():
            r.write(ent)
    _PAIR.append((a, b))
    return a, b


_PER_NODE: list = []


def _is_structured(rig_or_pipeline) -> bool:
    pl = getattr(rig_or_pipeline, "device", None)
    pl = pl.pipeline if pl is not None else rig_or_pipeline
    return pl.program.controls["ingress"].run.__code__.co_filename == "<p4mob:run>"


def _same(a: Rig, b: Rig, frame: bytes, port: int) -> None:
    c = _PER_NODE[0]
    for r in (a, b, c):
        r.packet_ins.clear()
    assert a.send(port, frame) == b.send(port, frame) == c.send(port, frame)
    assert a.packet_ins == b.packet_ins == c.packet_ins


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


_MOB_ENTRIES: list = []


def _mobility_with_entries():
    """Structured, per-node and reference pipelines of mobility.p4 holding the
    entries of bench/bench_bmv2.py (so table hits, the action profile and the
    encap/decap paths run), and the bench's frames."""
    import importlib.util
    from pathlib import Path

    from p4mob_switch import controlflow
    repo = Path(__file__).resolve().parents[2]
    _mobility_pair()  # skips when mobility.p4 is not built
    if not _MOB_ENTRIES:
        spec = importlib.util.spec_from_file_location("bench_embedded", repo / "bench" / "bench_embedded.py")
        be = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(be)
        bb = be._bench_bmv2()
        pipes = []
        for whole, ref in ((True, False), (False, False), (True, True)):
            controlflow.WHOLE = whole
            try:
                d = be.Device(1, CPU_PORT)
                d.load(be.MOBILITY_JSON.read_bytes(), be.load_p4info(be.MOBILITY_P4INFO.read_bytes()))
            finally:
                controlflow.WHOLE = True
            bb.program_mobility(be._DeviceClient(d))
            d.pipeline.reference = ref
            pipes.append(d.pipeline)
        assert _is_structured(pipes[0]) and not _is_structured(pipes[1])
        _MOB_ENTRIES.append((pipes, [f for _i, _o, f in be.cases(bb).values()]))
    return _MOB_ENTRIES[0]


def test_mobility_bench_frames_agree_structured_per_node_reference() -> None:
    pipes, frames_ = _mobility_with_entries()
    for f in frames_:
        outs = [p.process(f, 2) for p in pipes]
        assert outs[0] and outs[0] == outs[1] == outs[2]
    assert all(p.stats.faults == 0 for p in pipes)


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 200), flip=st.integers(0, 200 * 8), port=st.integers(1, 255))
def test_mobility_with_entries_mutated_frames_agree(cut: int, flip: int, port: int) -> None:
    pipes, frames_ = _mobility_with_entries()
    for f in frames_:
        g = bytearray(f[:max(cut, 14)])
        if flip // 8 < len(g):
            g[flip // 8] ^= 1 << (flip % 8)
        outs = [p.process(bytes(g), port) for p in pipes]
        assert outs[0] == outs[1] == outs[2]
    assert all(p.stats.faults == 0 for p in pipes)
