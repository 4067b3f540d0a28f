"""The node's long-lived objects kept out of CPython's cyclic garbage collector.

Rule: a full collection walks every object the collector tracks. With 100,000
bindings (their core records, desired entries and the MN profiles: millions of
objects) one pass took seconds, long enough for PBUs to wait past the 5 s
Timestamp window (RFC 5213 §5.5) in bench/bench_bindings.py, and restoring
100,000 bindings spent more than half its time in collections. So: the
restore runs with the collector paused, then one collection and
`gc.freeze()` move what survived into the permanent generation (the collector
skips it); after that, each time the desired entries grew by a tenth (at
least MIN_GROWTH) since the last freeze, the worker collects and freezes again
between batches. That collection walks only what is not frozen yet (the tenth
that grew), and it runs before the freeze so that no garbage cycle of the
moment goes into the permanent generation, where nothing would free it.
Reference counting still frees a frozen object that is dropped (a deleted
binding); only a reference cycle among frozen objects would stay, and
bindings and entries make none.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

GROWTH = 0.1
MIN_GROWTH = 4096  # desired entries (an LMA binding is three)


class HeapKeeper:
    def __init__(self, growth: float = GROWTH, min_growth: int = MIN_GROWTH) -> None:
        self.growth = growth
        self.min_growth = min_growth
        self.frozen_at = 0  # size at the last freeze
        self.freezes = 0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No collection inside (a bulk load: every object it makes survives)."""
        was = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if was:
                gc.enable()

    def settle(self, size: int) -> None:
        """After the start: collect once, freeze what is left."""
        self._freeze(size)

    def after_batch(self, size: int) -> bool:
        """Freeze when ``size`` (desired entries) grew enough since the last freeze; True if it did."""
        if size < self.frozen_at:  # shrank: grow from here
            self.frozen_at = size
        if size - self.frozen_at < max(self.min_growth, self.frozen_at * self.growth):
            return False
        self._freeze(size)
        return True

    def _freeze(self, size: int) -> None:
        gc.collect()  # the frozen generation is skipped: this walks what grew since the last freeze
        gc.freeze()
        self.frozen_at = size
        self.freezes += 1


__all__ = ["GROWTH", "MIN_GROWTH", "HeapKeeper"]
