"""Anti-replay window with ESN inference (RFC 4303 §3.4.3, Appendix A).

Rule: ``check`` runs before any crypto and changes nothing; ``update`` runs
only after the ICV verified. The window is a bitmask int (bit i = T - i was
received, T = highest authenticated sequence number), so sizes of 1024 or
more cost a shift, not a loop. With ESN the high half of an arriving number
is inferred from T (App. A2.2) before the check. Sequence number 0 is never
valid (the first packet of an SA is 1, §3.3.3).
"""
from __future__ import annotations

from .errors import DuplicateSequence, StaleSequence

MAX_WINDOW = 1 << 16
_LOW = 0xFFFFFFFF


class ReplayWindow:
    """Receiver state of one SA. ``size`` 0 disables the check (§3.4.3)."""

    __slots__ = ("size", "esn", "top", "_bits", "_mask")

    def __init__(self, size: int = 64, esn: bool = False, top: int = 0) -> None:
        if not 0 <= size <= MAX_WINDOW:
            raise ValueError(f"replay window must be 0..{MAX_WINDOW}")
        self.size = size
        self.esn = esn
        self.top = top  # T: highest authenticated sequence number (64-bit with ESN)
        self._bits = 1 if top else 0
        self._mask = (1 << size) - 1

    def infer(self, seq_low: int) -> int:
        """Full sequence number for a received low half (App. A2.2)."""
        if not self.esn:
            return seq_low
        w = max(self.size, 1)
        th, tl = self.top >> 32, self.top & _LOW
        if tl >= w - 1:  # Case A: window within one subspace
            seq_high = th if seq_low >= tl - w + 1 else th + 1
        else:  # Case B: window spans two subspaces
            seq_high = th - 1 if seq_low >= (tl - w + 1) & _LOW else th
            if seq_high < 0:  # no subspace below 0: it is ahead, not behind
                seq_high = 0
        return (seq_high << 32) | seq_low

    def check(self, seq: int) -> None:
        """Preliminary check before integrity; raises, never mutates."""
        if self.size == 0:
            return
        if seq == 0:
            raise StaleSequence("sequence number 0 is never sent")
        if seq > self.top:
            return
        offset = self.top - seq
        if offset >= self.size:
            raise StaleSequence(f"sequence {seq} left of window (top {self.top})")
        if self._bits >> offset & 1:
            raise DuplicateSequence(f"sequence {seq} already received")

    def update(self, seq: int) -> None:
        """Record an authenticated sequence number (after the ICV passed)."""
        if seq > self.top:
            shift = seq - self.top
            self._bits = ((self._bits << shift) | 1) & self._mask if shift < self.size else 1
            self.top = seq
        elif self.size:
            self._bits |= 1 << (self.top - seq)
