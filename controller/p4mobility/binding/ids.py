"""Small integer ids for P4 table indices (binding ids, tunnel peer ids).

Rule: ``allocate`` returns the smallest free id in 1..limit-1 (None when all
are taken), so ids fit the P4 index width and are reused after ``release``;
``reserve`` marks an id used when state is restored. O(log n) per call.
"""
from __future__ import annotations

import heapq


class IdAllocator:
    __slots__ = ("limit", "_next", "_free")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._next = 1
        self._free: list[int] = []

    def allocate(self) -> int | None:
        if self._free:
            return heapq.heappop(self._free)
        if self._next >= self.limit:
            return None
        self._next += 1
        return self._next - 1

    def available(self) -> bool:
        """True when ``allocate`` would return an id."""
        return bool(self._free) or self._next < self.limit

    def free_count(self) -> int:
        """How many ids ``allocate`` can still hand out."""
        return len(self._free) + self.limit - self._next

    def release(self, ident: int) -> None:
        heapq.heappush(self._free, ident)

    def reserve(self, ident: int) -> None:
        """Mark ``ident`` used (state restore); ValueError if out of range or taken."""
        if not 0 < ident < self.limit:
            raise ValueError(f"id {ident} outside 1..{self.limit - 1}")
        while self._next <= ident:
            heapq.heappush(self._free, self._next)
            self._next += 1
        try:
            self._free.remove(ident)
        except ValueError:
            raise ValueError(f"id {ident} already in use") from None
        heapq.heapify(self._free)


__all__ = ["IdAllocator"]
