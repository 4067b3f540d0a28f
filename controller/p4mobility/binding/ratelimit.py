"""MAX_UPDATE_RATE: at most N Binding Updates per second per mobile node
(RFC 6275 §11.8; RFC 5213 §6.9.4 for the MAG's PBUs).

Rule: ``defer_until(key, now)`` says when the next update for ``key`` may
leave (None: now); ``sent(key, now)`` records one that left. Only the last
second of send times is kept per key, and keys quiet for a second are
forgotten once they outnumber ``2 * live + 64``, so memory stays bounded.
"""
from __future__ import annotations

from collections import deque
from typing import Hashable

WINDOW = 1.0  # seconds


class UpdateRateLimiter:
    __slots__ = ("max_per_second", "_times")

    def __init__(self, max_per_second: int) -> None:
        self.max_per_second = max_per_second
        self._times: dict[Hashable, deque[float]] = {}

    def defer_until(self, key: Hashable, now: float, live: int = 0) -> float | None:
        times = self._times.get(key)
        if times is None:
            if len(self._times) > 2 * live + 64:  # forget keys quiet for a second
                self._times = {k: t for k, t in self._times.items() if t and now - t[-1] < WINDOW}
            return None
        while times and now - times[0] >= WINDOW:
            times.popleft()
        if len(times) >= self.max_per_second:
            return times[0] + WINDOW
        return None

    def sent(self, key: Hashable, now: float) -> None:
        self._times.setdefault(key, deque()).append(now)


__all__ = ["UpdateRateLimiter"]
