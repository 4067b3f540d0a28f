"""Meters: two-rate three-color (RFC 2698 trTCM), as bmv2 meters.cpp.

Rule: an unconfigured meter marks GREEN (0). A configured one refills a peak
and a committed bucket (full at configuration) at PIR/CIR units per second,
capped at PBS/CBS; a packet (1 unit, or its ingress length in bytes) that
exceeds the peak bucket is RED (2), else one that exceeds the committed bucket
is YELLOW (1) (RFC 2698 §3). The clock is injected for tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

GREEN, YELLOW, RED = 0, 1, 2


@dataclass(slots=True)
class MeterConfig:
    cir: int
    cburst: int
    pir: int
    pburst: int


@dataclass(slots=True)
class _State:
    cfg: MeterConfig
    tc: float
    tp: float
    last: float


@dataclass
class MeterArray:
    name: str
    size: int
    packets: bool  # True: packets, False: bytes
    direct: bool = False
    binding: str | None = None
    result_target: int | None = None  # F index for direct meters
    clock: Callable[[], float] = time.monotonic
    _state: dict = field(default_factory=dict)  # index or entry id -> _State

    def configure(self, key, cfg: MeterConfig | None) -> None:
        if cfg is None:
            self._state.pop(key, None)
        else:
            self._state[key] = _State(cfg, float(cfg.cburst), float(cfg.pburst), self.clock())

    def config(self, key) -> MeterConfig | None:
        st = self._state.get(key)
        return st.cfg if st is not None else None

    def execute(self, key, nbytes: int) -> int:
        st = self._state.get(key)
        if st is None:
            return GREEN
        now = self.clock()
        dt = max(0.0, now - st.last)
        st.last = now
        c = st.cfg
        st.tp = min(float(c.pburst), st.tp + dt * c.pir)
        st.tc = min(float(c.cburst), st.tc + dt * c.cir)
        size = 1 if self.packets else nbytes
        if st.tp < size:
            return RED
        st.tp -= size
        if st.tc < size:
            return YELLOW
        st.tc -= size
        return GREEN
