"""runtime/heap.py: the node's long-lived objects are frozen out of the cyclic collector."""
from __future__ import annotations

import gc

import pytest

from p4mobility.runtime.heap import HeapKeeper


@pytest.fixture(autouse=True)
def unfrozen():
    yield
    gc.unfreeze()  # the test process keeps collecting what these tests froze
    gc.enable()


def test_paused_turns_the_collector_off_inside_and_back_on():
    keeper = HeapKeeper()
    with keeper.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    with keeper.paused():
        pass
    assert not gc.isenabled()  # it was off before: stays off


def test_settle_freezes_what_lives():
    keeper = HeapKeeper()
    kept = [[i] for i in range(1000)]
    before = gc.get_freeze_count()
    keeper.settle(len(kept))
    assert gc.get_freeze_count() >= before + len(kept)
    assert keeper.frozen_at == 1000 and keeper.freezes == 1


def test_after_batch_freezes_again_after_a_tenth_or_min_growth():
    keeper = HeapKeeper(growth=0.1, min_growth=100)
    keeper.settle(2000)
    assert not keeper.after_batch(2150)  # grew less than a tenth of 2000
    kept = [[i] for i in range(500)]
    before = gc.get_freeze_count()
    assert keeper.after_batch(2200)
    assert gc.get_freeze_count() >= before + len(kept) and keeper.frozen_at == 2200
    assert not keeper.after_batch(2250)
    assert not keeper.after_batch(500)  # shrank (bindings deleted): grows from there
    assert keeper.frozen_at == 500
    assert not keeper.after_batch(599) and keeper.after_batch(600)  # min_growth


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_garbage_cycles_are_collected_before_each_freeze_not_kept_forever():
    import weakref

    keeper = HeapKeeper(growth=0.1, min_growth=100)
    keeper.settle(1000)
    gc.disable()  # as under a load whose collections have not reached the cycle yet
    cycle = _Node()
    gone = weakref.ref(cycle)
    del cycle
    assert gone() is not None  # garbage, not yet collected
    assert keeper.after_batch(2000)
    gc.collect()  # skips the permanent generation: a frozen cycle would outlive this
    assert gone() is None
