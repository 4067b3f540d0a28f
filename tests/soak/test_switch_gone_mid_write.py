"""The LMA node when its switch is killed in the middle of a write, found by the soak (issue 14):
gRPC cancels the pending Write call when the channel closes, the CancelledError went through
the worker and the controller exited with a traceback. Now the write counts as interrupted:
the entries stay planned (reconcile writes them on reconnect), the PBAs are held until then.

The switch here is a stand-in whose Write raises what grpc.aio raises at that moment (the
kill -9 cannot be timed into the middle of one call); everything else is the real node."""
from __future__ import annotations

import asyncio
import time

from finsy import P4Schema

from p4mobility.p4rt.apply import Writer
from p4mobility.runtime.logs import read_events
from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO
from tests.soak.test_lma_store_full import _node, _pbu_in


class KilledSwitch:
    """A switch whose connection closes under every call (grpc.aio: CancelledError)."""

    def __init__(self) -> None:
        self.p4info = P4Schema(DEFAULT_P4INFO)
        self.writes = 0

    async def write(self, msgs, **_):
        self.writes += 1
        raise asyncio.CancelledError()


def test_switch_killed_mid_write_keeps_the_node_running(tmp_path):
    node = _node(tmp_path)
    sw = KilledSwitch()
    node.outbox.learn_fields(sw.p4info)

    async def go():
        node.switch, node.writer = sw, Writer(sw, node.entries)
        now = time.time()
        await node.apply(node.on_item(_pbu_in(1, now), now))
        return asyncio.current_task().cancelling()

    assert asyncio.run(go()) == 0  # the node's task was not cancelled, and nothing raised
    assert sw.writes == 1
    held = node.outbox.take_held()
    assert len(held) == 1  # the PBA waits for the reconcile after reconnect
    assert len(node.core.binding_ids()) == 1 and len(node.store.load("bce")) == 1
    keys = {k[0] for k, _ in node.entries.items()}  # (with the entries made from the core: entry_set.py)
    assert "bindings" in keys  # planned: reconcile writes what the switch lacks
    events = [e["event"] for e in read_events(str(tmp_path / "lma.log"))]
    assert "write_interrupted" in events


def test_packet_out_on_a_closed_stream_is_logged_not_raised(tmp_path):
    node = _node(tmp_path)
    sw = KilledSwitch()
    node.outbox.learn_fields(sw.p4info)
    asyncio.run(node.send_packets(sw, [node.make_packet_out(b"\0" * 60)]))
    assert "packet_out_failed" in [e["event"] for e in read_events(str(tmp_path / "lma.log"))]


def test_a_cancel_of_the_node_itself_still_cancels(tmp_path):
    node = _node(tmp_path)

    class SlowSwitch(KilledSwitch):
        async def write(self, msgs, **_):
            await asyncio.sleep(10)

    sw = SlowSwitch()

    async def go():
        node.switch, node.writer = sw, Writer(sw, node.entries)
        now = time.time()
        task = asyncio.create_task(node.apply(node.on_item(_pbu_in(1, now), now)))
        await asyncio.sleep(0.05)
        task.cancel()  # the node stopping (SIGTERM)
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        return "swallowed"

    assert asyncio.run(go()) == "cancelled"
