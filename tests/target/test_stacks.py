"""Header stacks, a header union and exit-in-action (tests/target/p4/stacks.p4).

Frames are eth / tag(kind, op, idx, res) / [union member] / stack bytes, where
the parser extracts stack elements until one is 0. Expected outputs follow
the P4 spec (push_front/pop_front §8.18, unions §8.20) and bmv2 (a write to a
field of an invalid stack element leaves it invalid).
"""

from __future__ import annotations

import pytest

from .tlib import BUILD, Rig

ETH = bytes.fromhex("020000000001020000000002") + b"\x88\xb6"
JSON, INFO = BUILD / "stacks.json", BUILD / "stacks.p4info.txtpb"


@pytest.fixture
def rig() -> Rig:
    if not JSON.exists():
        pytest.skip("tests/target/p4/build/stacks.json not built")
    return Rig(2, JSON, INFO)


def frame(kind: int, op: int, idx: int, body: bytes, res: int = 0) -> bytes:
    return ETH + bytes([kind, op, idx, res]) + body


STACK_CASES = [
    (0, 0, 0, b"\x03\x00", b"\x03\x00", 1),                      # plain: res + 1
    (0, 1, 0, b"\x07\x00", b"\x5a\x07\x00", 1),                  # push_front(1) + setValid(st[0])
    (0, 1, 0, b"\x01\x02\x03\x00", b"\x5a\x01\x02\x03", 1),      # push on a full stack drops the last
    (0, 2, 0, b"\x07\x08\x00", b"\x08\x00", 1),                  # pop_front(1)
    (0, 3, 0, b"\x09\x00", b"\x09\x00", 0x77),                   # exit inside an action: no res + 1
    (0, 4, 1, b"\x01\x02\x03\x00", b"\x01\x42\x03\x00", 1),      # st[idx] with a run-time index
    (0, 4, 3, b"\x05\x00", b"\x05\x00", 1),                      # write to an invalid element: not emitted
    (1, 0, 0, b"\x33\x04\x00", b"\x01\x33\x04\x00", 1),          # union: b set valid, a invalid
    (2, 0, 0, b"\xbe\xef\x00", b"\xbe\xef\x00", 1),              # union member b untouched
]


@pytest.mark.parametrize("kind, op, idx, body, out_body, res", STACK_CASES)
def test_stack_and_union_semantics(rig: Rig, kind, op, idx, body, out_body, res) -> None:
    out = rig.send(1, frame(kind, op, idx, body) + b"tail")
    assert out == {2: [frame(kind, op, idx, out_body, res) + b"tail"]}


def test_stack_overflow_is_a_parser_error_handled_in_ingress(rig: Rig) -> None:
    body = b"\x01\x02\x03\x04\x05\x00"
    out = rig.send(1, frame(0, 0, 0, body))
    # StackOutOfBounds after 4 elements: they stay valid, the rest is payload
    assert out == {2: [frame(0, 0, 0, body, 0xEE)]}
    assert rig.stats.parser_errors == 1
