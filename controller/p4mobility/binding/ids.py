"""Small integer ids for P4 table indices (binding ids, tunnel peer ids).

Rule: ``allocate`` returns the smallest free id in 1..limit-1 (None when all
are taken), so ids fit the P4 index width and are reused after ``release``;
``reserve`` marks an id used when state is restored. O(log n) per call, also
``reserve`` (a restart restores 100k bindings: no list scan per id).
"""
from __future__ import annotations

import heapq


class IdAllocator:
    __slots__ = ("limit", "_next", "_free", "_free_set", "_ahead")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._next = 1  # ids >= _next were never handed out
        self._free: list[int] = []  # released ids below _next (a heap; may hold stale copies)
        self._free_set: set[int] = set()  # the ids of _free that are really free
        self._ahead: set[int] = set()  # ids >= _next reserved by a restore

    def allocate(self) -> int | None:
        while self._free:
            ident = heapq.heappop(self._free)
            if ident in self._free_set:
                self._free_set.discard(ident)
                return ident
        while self._next in self._ahead:
            self._ahead.discard(self._next)
            self._next += 1
        if self._next >= self.limit:
            return None
        self._next += 1
        return self._next - 1

    def available(self) -> bool:
        """True when ``allocate`` would return an id."""
        return self.free_count() > 0

    def free_count(self) -> int:
        """How many ids ``allocate`` can still hand out."""
        return len(self._free_set) + self.limit - self._next - len(self._ahead)

    def in_use(self, ident: int) -> bool:
        return 0 < ident < self.limit and (ident in self._ahead if ident >= self._next
                                          else ident not in self._free_set)

    def release(self, ident: int) -> None:
        """Free ``ident`` (releasing a free id again changes nothing)."""
        if not self.in_use(ident):
            return
        if ident >= self._next:  # reserved ahead, never allocated
            self._ahead.discard(ident)
            return
        self._free_set.add(ident)
        heapq.heappush(self._free, ident)

    def reserve(self, ident: int) -> None:
        """Mark ``ident`` used (state restore); ValueError if out of range or taken."""
        if not 0 < ident < self.limit:
            raise ValueError(f"id {ident} outside 1..{self.limit - 1}")
        if self.in_use(ident):
            raise ValueError(f"id {ident} already in use")
        if ident >= self._next:
            self._ahead.add(ident)
        else:
            self._free_set.discard(ident)  # its heap copy is skipped by allocate


__all__ = ["IdAllocator"]
