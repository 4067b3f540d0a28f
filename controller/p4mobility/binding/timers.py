"""Deadlines for sans-I/O cores: a heap with lazy deletion.

Rule: a key has at most one live deadline; ``set`` replaces it, ``cancel``
forgets it, and stale heap entries are skipped when popped. The heap is
rebuilt when stale entries outnumber live ones, so memory stays O(live).
"""
from __future__ import annotations

import heapq
import itertools
from typing import Hashable


class DeadlineHeap:
    __slots__ = ("_heap", "_live", "_counter")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._live: dict[Hashable, float] = {}
        self._counter = itertools.count()

    def set(self, key: Hashable, when: float) -> None:
        self._live[key] = when
        heapq.heappush(self._heap, (when, next(self._counter), key))
        if len(self._heap) > 2 * len(self._live) + 64:
            self._compact()

    def cancel(self, key: Hashable) -> None:
        self._live.pop(key, None)

    def get(self, key: Hashable) -> float | None:
        return self._live.get(key)

    def peek(self) -> float | None:
        heap, live = self._heap, self._live
        while heap:
            when, _, key = heap[0]
            if live.get(key) == when:
                return when
            heapq.heappop(heap)
        return None

    def pop_due(self, now: float) -> list[Hashable]:
        """Keys whose deadline is <= now, earliest first; they are forgotten."""
        due = []
        heap, live = self._heap, self._live
        while heap and heap[0][0] <= now:
            when, _, key = heapq.heappop(heap)
            if live.get(key) == when:
                del live[key]
                due.append(key)
        return due

    def __len__(self) -> int:
        return len(self._live)

    def _compact(self) -> None:
        self._heap = [(w, next(self._counter), k) for k, w in self._live.items()]
        heapq.heapify(self._heap)
