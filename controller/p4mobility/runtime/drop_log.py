"""Rate-limited drop lines for the packet paths (the crypto port's crypto_drop).

Rule: I/O adapter helper; one line per reason per interval, with how many were suppressed.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from p4mobility.runtime.logs import EventLog

LOG_INTERVAL = 1.0  # seconds between two lines of one reason


class DropLog:
    """``event`` lines (crypto_drop), at most one per reason per ``interval`` (with a suppressed count)."""

    def __init__(self, log: EventLog, interval: float = LOG_INTERVAL, event: str = "crypto_drop") -> None:
        self.log, self.interval, self.event = log, interval, event
        self._last: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def drop(self, now: float, reason: str, **fields: Any) -> None:
        last = self._last.get(reason)
        if last is not None and now - last < self.interval:
            self._suppressed[reason] += 1
            return
        self._last[reason] = now
        self.log.event(self.event, reason=reason, suppressed=self._suppressed.pop(reason, 0), **fields)


__all__ = ["DropLog", "LOG_INTERVAL"]
