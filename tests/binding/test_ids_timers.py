"""Deadline heap (lazy deletion) and the small-id allocator used for P4 indices."""
from __future__ import annotations

import pytest

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


def test_release_of_a_free_id_does_not_hand_it_out_twice():
    ids = IdAllocator(5)
    a = ids.allocate()
    ids.release(a)
    ids.release(a)
    assert ids.allocate() == a and ids.allocate() != a


def test_reserve_below_and_ahead_then_release_keeps_smallest_first():
    ids = IdAllocator(100)
    for _ in range(10):
        ids.allocate()  # 1..10
    ids.release(5)
    ids.release(3)
    ids.reserve(5)  # a restored id that was free
    ids.reserve(50)  # ahead of everything handed out
    with pytest.raises(ValueError):
        ids.reserve(50)
    with pytest.raises(ValueError):
        ids.reserve(7)
    assert ids.free_count() == 99 - 10 + 1 - 1
    got = [ids.allocate() for _ in range(40)]
    assert got[0] == 3 and got[1:] == list(range(11, 50))
    assert ids.allocate() == 51  # 50 stays reserved
    ids.release(50)
    assert ids.allocate() == 50


def test_restoring_many_ids_in_any_order_gives_the_rest():
    import random

    n = 20_000
    kept = random.Random(7).sample(range(1, n), n // 2)
    ids = IdAllocator(n)
    for i in kept:
        ids.reserve(i)
    rest = [ids.allocate() for _ in range(n - 1 - len(kept))]
    assert sorted(rest + kept) == list(range(1, n)) and ids.allocate() is None
