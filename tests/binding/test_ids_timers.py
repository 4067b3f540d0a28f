"""Deadline heap (lazy deletion) and the small-id allocator used for P4 indices."""
from __future__ import annotations

from p4mobility.binding import DeadlineHeap, IdAllocator


def test_deadline_heap_replaces_cancels_and_orders():
    h = DeadlineHeap()
    h.set("a", 5.0)
    h.set("b", 3.0)
    h.set("a", 1.0)  # replaces: the old 5.0 entry is stale
    h.set("c", 4.0)
    h.cancel("c")
    assert h.peek() == 1.0 and len(h) == 2
    assert h.pop_due(0.5) == []
    assert h.pop_due(10.0) == ["a", "b"]
    assert h.peek() is None and len(h) == 0


def test_deadline_heap_stays_bounded_under_rescheduling():
    h = DeadlineHeap()
    for i in range(10_000):
        h.set(i % 10, float(i))
    assert len(h) == 10 and len(h._heap) <= 2 * 10 + 64 + 1
    assert h.pop_due(1e9) == sorted(range(10), key=lambda k: 9990 + k)


def test_ids_are_smallest_free_within_the_limit():
    ids = IdAllocator(4)  # 1..3
    assert [ids.allocate() for _ in range(4)] == [1, 2, 3, None]
    ids.release(2)
    ids.release(1)
    assert ids.allocate() == 1 and ids.allocate() == 2 and ids.allocate() is None


def test_reserved_ids_are_skipped():
    ids = IdAllocator(10)
    ids.reserve(3)
    ids.reserve(1)
    assert [ids.allocate() for _ in range(3)] == [2, 4, 5]


def test_free_count_follows_allocate_release_and_reserve():
    ids = IdAllocator(5)  # 1..4
    assert ids.free_count() == 4
    a, b = ids.allocate(), ids.allocate()
    assert ids.free_count() == 2
    ids.release(a)
    assert ids.free_count() == 3
    ids.reserve(4)
    assert ids.free_count() == 2 and ids.available()
    ids.allocate(), ids.allocate()
    assert ids.free_count() == 0 and not ids.available() and b == 2
