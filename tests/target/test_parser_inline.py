"""The inlined parser (acyclic parse graphs, parser.py) against the state loop on
the same frames: same stop offset, error, fields and validity. A parser with
loops (header stacks) keeps the loop."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from p4mob_switch import parser
from p4mob_switch.pipeline import Ctx, Pipeline
from p4mob_switch.program import Program

from .tlib import BUILD, CPU_PORT

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = {"mobility": REPO / "p4src/build/mobility.json", "features": BUILD / "features.json",
            "stacks": BUILD / "stacks.json"}
_BUILT: dict = {}


def _is_inline(prog: Program) -> bool:
    return "budget" not in prog.parse.__code__.co_varnames


def _pair(name: str) -> tuple[Pipeline, Pipeline]:
    if name not in _BUILT:
        path = PROGRAMS[name]
        if not path.exists():
            pytest.skip(f"{path} not built")
        parser.INLINE = False
        try:
            loop = Pipeline(Program(path.read_bytes()), CPU_PORT)
        finally:
            parser.INLINE = True
        _BUILT[name] = (Pipeline(Program(path.read_bytes()), CPU_PORT), loop)
    return _BUILT[name]


def _parse(pl: Pipeline, frame: bytes, port: int) -> tuple:
    F, V, X = pl.F0[:], pl.V0[:], Ctx(len(frame))
    F[pl.i_ingress_port] = port
    pos, err = pl.program.parse(frame, F, V, X)
    return pos, err, F, V


def test_which_parsers_are_inlined() -> None:
    inline, loop = _pair("mobility")
    assert _is_inline(inline.program) and not _is_inline(loop.program)
    assert not _is_inline(_pair("stacks")[0].program)  # its stacks loop


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@settings(max_examples=200, deadline=None)
@given(tail=st.binary(max_size=160), port=st.sampled_from([1, 2, 254, CPU_PORT]),
       kind=st.sampled_from([0x0800, 0x86DD, 0x88B5, 0x8100, 0x9100, 0x1234]))
def test_inline_parser_matches_state_loop(name: str, tail: bytes, port: int, kind: int) -> None:
    inline, loop = _pair(name)
    frame = bytes.fromhex("00005e005301020000000002") + kind.to_bytes(2, "big") + tail
    assert _parse(inline, frame, port) == _parse(loop, frame, port)
    if port == CPU_PORT:  # the packet_out header first, then the frame
        frame = b"\x00\x01\x00" + frame
        assert _parse(inline, frame, port) == _parse(loop, frame, port)


def test_crafted_frames_and_every_cut_of_the_bench_frames_agree() -> None:
    import importlib.util

    from .test_differential import frames
    crafted = list(frames(seed=11, n_random=40))
    spec = importlib.util.spec_from_file_location("bench_embedded", REPO / "bench" / "bench_embedded.py")
    be = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(be)
    bench = [f for _i, _o, f in be.cases(be._bench_bmv2()).values()]
    cuts = [f[:n] for f in bench for n in range(len(f) + 1)]
    for name in PROGRAMS:
        inline, loop = _pair(name)
        for f in crafted + cuts:
            for port in (1, 254, CPU_PORT):
                assert _parse(inline, f, port) == _parse(loop, f, port)
