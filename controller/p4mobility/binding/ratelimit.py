"""Rate limits: MAX_UPDATE_RATE for senders, a token bucket for error messages.

Rule: ``UpdateRateLimiter``: at most N updates per second per key (RFC 6275
§11.8; RFC 5213 §6.9.4 for the MAG's PBUs; the LMA uses it per source to
bound a flood). ``defer_until(key, now)`` says when the next update for ``key``
may go (None: now); ``sent(key, now)`` records one. Only the last second of
times is kept per key, and keys quiet for a second are forgotten once they
outnumber ``2 * live + 64``, so memory stays bounded. ``TokenBucket``: error
messages (Binding Error, RFC 6275 §9.3.3) limited like ICMPv6 errors (RFC 4443
§2.4(f)): ``rate`` per second, bursts of ``max(1, rate)``. ``FloodGate``: at most
``limit`` messages per second per source get through (0: all); ``check`` also
says when a drop deserves a log line (the first, then one per ``log_interval``
per source, with the count dropped since), so a flood costs no log line each;
its per-source state is pruned once a second, so many (spoofed) sources cost
O(1) each and at most two seconds of them are held.
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


class TokenBucket:
    __slots__ = ("rate", "burst", "_tokens", "_last")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate)
        self._tokens = self.burst
        self._last: float | None = None

    def take(self, now: float) -> bool:
        """True (and one token spent) when a message may go at ``now``."""
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + max(0.0, now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class FloodGate:
    __slots__ = ("limit", "log_interval", "_times", "_logged", "_pruned")

    def __init__(self, limit: int, log_interval: float = 1.0) -> None:
        self.limit = limit
        self.log_interval = log_interval
        self._times: dict[Hashable, deque[float]] = {}  # source -> its pass times in the last WINDOW
        self._logged: dict[Hashable, tuple[float, int]] = {}  # source -> (last log line, dropped since)
        self._pruned = 0.0

    def check(self, source: Hashable, now: float) -> tuple[bool, int | None]:
        """(passes, None), or (False, drops to log now) / (False, None) when dropped quietly."""
        if not self.limit:
            return True, None
        if now - self._pruned >= WINDOW:  # at most once a window: many sources cost O(1) each
            self._prune(now)
        times = self._times.setdefault(source, deque())
        while times and now - times[0] >= WINDOW:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            return True, None
        last, dropped = self._logged.get(source, (None, 0))
        dropped += 1
        if last is not None and now - last < self.log_interval:
            self._logged[source] = (last, dropped)
            return False, None
        self._logged[source] = (now, 0)
        return False, dropped

    def _prune(self, now: float) -> None:
        self._pruned = now
        self._times = {s: t for s, t in self._times.items() if t and now - t[-1] < WINDOW}
        self._logged = {s: v for s, v in self._logged.items() if now - v[0] < 10 * self.log_interval}


__all__ = ["FloodGate", "TokenBucket", "UpdateRateLimiter"]
