"""SA lifetimes and what is counted against them (RFC 4301 §4.4.2.1).

Rule: ``Lifetime`` is the configuration (ip-xfrm `limit` words, None =
unlimited); ``SaCounters`` is what an SA has processed; ``SaLimits`` holds the
next thresholds at which the SA must look at its lifetimes again: a count at
or above ``packets``/``bytes``, or ``now`` at or above ``time``. ``counted`` is
False when neither count has a threshold. After the hard limit ``time`` is
-inf, so every packet takes the reference path to ``SaExpired``. ``Sa``
(sa.py) owns and updates one ``SaLimits``; the fused AES-GCM path
(fastpath.py) only reads it, so neither of the two imports the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import inf


@dataclass(frozen=True)
class Lifetime:
    """ip-xfrm `limit` words; ``None`` = unlimited (RFC 4301 §4.4.2.1)."""

    byte_soft: int | None = None
    byte_hard: int | None = None
    packet_soft: int | None = None
    packet_hard: int | None = None
    time_soft: float | None = None
    time_hard: float | None = None


@dataclass(slots=True)
class SaCounters:
    """Per-SA counters (payload bytes, as Linux xfrm counts them)."""

    packets: int = 0
    bytes: int = 0
    replay_drops: int = 0
    icv_failures: int = 0
    padding_errors: int = 0
    dummy_packets: int = 0
    policy_drops: int = 0
    expired_drops: int = 0
    overflow_drops: int = 0
    malformed: int = 0
    unknown_spi: int = 0
    no_sa: int = 0


def _lim(v: int | float | None) -> float:
    return inf if v is None else v


class SaLimits:
    """The next packet, byte and time thresholds of one SA (``inf`` = none)."""

    __slots__ = ("packets", "bytes", "time", "counted")

    def __init__(self) -> None:
        self.packets = self.bytes = self.time = inf
        self.counted = False

    def set(self, lifetime: Lifetime, added: float, soft: bool) -> None:
        """Thresholds from ``lifetime`` for an SA installed at ``added``; the soft ones only
        while ``soft`` (the soft event fires once)."""
        self.packets = min(_lim(lifetime.packet_soft) if soft else inf, _lim(lifetime.packet_hard))
        self.bytes = min(_lim(lifetime.byte_soft) if soft else inf, _lim(lifetime.byte_hard))
        self.counted = self.packets != inf or self.bytes != inf
        t_soft = _lim(lifetime.time_soft) if soft else inf
        self.time = added + min(t_soft, _lim(lifetime.time_hard))

    def expire(self) -> None:
        """Past the hard limit: no count checks; every packet sees ``now >= time``."""
        self.packets = self.bytes = inf
        self.counted = False
        self.time = -inf
