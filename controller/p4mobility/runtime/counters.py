"""The switch counters a node reads: drop reasons for the metrics, and `show counters`.

Rule: reads only. The poller reads ``drop_counter`` every interval while the
switch is connected and sets the ``switch_drops`` gauge per drop reason; a
read that fails is skipped until the next round. ``counter_rows`` gives the
non-zero drop reasons and the per-binding counters of the live bindings only.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from finsy import P4CounterEntry

from p4mobility.runtime.metrics import NodeMetrics

DROP_COUNTER = "drop_counter"
BINDING_COUNTERS = ("binding_uplink_counter", "binding_downlink_counter")
COLUMNS = ["counter", "index", "packets", "bytes"]


async def poll_drop_counters(current_switch: Callable[[], Any], metrics: NodeMetrics, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        switch = current_switch()
        if switch is None:
            continue
        with contextlib.suppress(Exception):
            async for c in switch.read(P4CounterEntry(DROP_COUNTER)):
                if c.index is not None and c.packet_count:
                    metrics.switch_drops.labels(str(c.index)).set(c.packet_count)


async def counter_rows(switch: Any, binding_indices: Callable[[], Iterable[int]]) -> list[list]:
    """Rows of COLUMNS; empty while the switch is away. Read errors propagate. ``binding_indices``
    is asked after the drop counters are read, so it names the bindings live by then."""
    if switch is None:
        return []
    rows = []
    async for c in switch.read(P4CounterEntry(DROP_COUNTER)):
        if c.packet_count or c.byte_count:
            rows.append([DROP_COUNTER, c.index, c.packet_count, c.byte_count])
    for index in binding_indices():  # per-binding counters: only the live ones
        for name in BINDING_COUNTERS:
            async for c in switch.read(P4CounterEntry(name, index=index)):
                rows.append([name, c.index, c.packet_count, c.byte_count])
    return rows


__all__ = ["BINDING_COUNTERS", "COLUMNS", "DROP_COUNTER", "counter_rows", "poll_drop_counters"]
