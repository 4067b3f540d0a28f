"""Target control_request: the control socket's request parser (runtime/control.py
``_answer``) and the node's commands behind it (runtime/node_control.py).

Oracle: every line gets a dict answer that serialises as the socket sends it
(``json.dumps(..., default=str)``); nothing raises. The node is a stand-in with
the attributes ``handle_control`` reads (a real node needs a switch).
"""
from __future__ import annotations

import json

MAX_LEN = 64 * 1024  # control.MAX_LINE
INSTRUMENT = ("p4mobility.runtime.control", "p4mobility.runtime.node_control")


class NoAnswer(AssertionError):
    """The parser gave something that is not a JSON object to send back."""


class _Entries:
    desired: dict = {}

    def __len__(self) -> int:
        return 0


class _Queue:
    def qsize(self) -> int:
        return 0


class StandInNode:
    role, switch, entries, queue = "lma", None, _Entries(), _Queue()

    async def read_counters(self) -> list[list]:
        return []

    async def show_sas(self) -> dict:
        return {"ok": True, "sas": []}

    def show(self, what: str) -> dict:
        return {"ok": False, "error": f"nothing to show as {what!r}"}


def run(coro):
    """Drive a coroutine that never waits (the stand-in answers at once)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise NoAnswer("the request waited on something")


def setup():
    from p4mobility.runtime.control import _answer
    from p4mobility.runtime.node_control import handle_control

    node = StandInNode()

    def check(data: bytes) -> None:
        answer = run(_answer(lambda req: handle_control(node, req), data))
        if not isinstance(answer, dict):
            raise NoAnswer(f"answer {answer!r} is not an object")
        json.dumps(answer, default=str)

    return check
