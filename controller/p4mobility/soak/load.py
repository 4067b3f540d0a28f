"""The soak's load model, sans-I/O: MNs, the PBU mix, RFC 5213 §6.9.4 retransmissions.

Rule: no sockets, no clock of its own (``now`` is passed in). N MNs, each
unregistered or registered at one of two MAGs (the generator plays both) with
the HNP its last accepted PBA gave. `next_op` picks an MN without a PBU in
flight: the first pass registers every MN (HI=1, HNP ALL_ZERO); then, per pick,
an unregistered MN registers, a registered one refreshes (HI=5, same MAG),
hands over (HI=3 from the other MAG, RFC 5213 §5.4.2) or de-registers
(lifetime 0) by the weights of ``Mix``. A PBU without an answer is sent again
with a new Sequence Number and Timestamp after InitialBindackTimeoutFirstReg,
doubling up to MAX_BINDACK_TIMEOUT (RFC 5213 §6.9.4, RFC 6275 §12), without a
limit (the soak measures recovery). `expected()` is what the LMA must hold:
the MNs whose last answered PBU registered them and that have none in flight.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv6Network

INITIAL_BINDACK_TIMEOUT = 1.0  # s, RFC 6275 §12 (InitialBindackTimeoutFirstReg, RFC 5213 §6.9.4)
MAX_BINDACK_TIMEOUT = 32.0  # s, RFC 6275 §12
TIMESTAMP_MISMATCH = 156  # RFC 5213 §8.9: outside TimestampValidityWindow (a queue longer than it)
GONE = (133, 155)  # for a de-registration: no binding (RFC 6275 §6.1.8), prefix now another MN's


class OpKind(str, Enum):
    REGISTER = "register"
    REFRESH = "refresh"
    HANDOVER = "handover"
    DEREGISTER = "deregister"


HI = {OpKind.REGISTER: 1, OpKind.REFRESH: 5, OpKind.HANDOVER: 3, OpKind.DEREGISTER: 5}  # RFC 5213 §8.4


@dataclass(frozen=True)
class Mix:
    """Weights of what a registered MN does next (an unregistered one registers)."""

    refresh: float = 0.6
    handover: float = 0.3
    deregister: float = 0.1


@dataclass
class Op:
    kind: OpKind
    mn: int
    mag: int  # 0 or 1: which of the generator's MAG addresses sends it
    hnp: IPv6Network | None
    seq: int = 0
    first_sent: float = 0.0
    sent_at: float = 0.0
    timeout: float = INITIAL_BINDACK_TIMEOUT
    tries: int = 0

    @property
    def lifetime_zero(self) -> bool:
        return self.kind is OpKind.DEREGISTER


@dataclass
class Mn:
    mag: int | None = None  # None: not registered (as far as acknowledged)
    hnp: IPv6Network | None = None
    pending: Op | None = None
    doubt: bool = False  # a rejected PBU left its state unknown: not picked, not expected
    version: int = 0  # PBUs started for it so far (a snapshot is still true while this holds)


@dataclass
class LoadStats:
    offered: int = 0  # first transmissions
    retransmitted: int = 0
    acked: int = 0  # accepted PBAs that matched a PBU in flight
    rejected: dict[int, int] = field(default_factory=dict)  # status -> count
    answered_156: int = 0  # 156 answers: the PBU goes again at its retransmission time
    unmatched: int = 0  # PBAs for nothing in flight (late answers to a retransmitted PBU)
    by_kind: dict[str, int] = field(default_factory=dict)


class LoadModel:
    def __init__(self, count: int, mix: Mix = Mix(), seed: int = 1) -> None:
        self.mns = [Mn() for _ in range(count)]
        self.mix = mix
        self.rng = random.Random(seed)
        self.stats = LoadStats()
        self._seq = 0
        self._fill = 0  # next MN of the first registration pass
        self._timers: list[tuple[float, int, int]] = []  # (deadline, mn, seq) heap, stale ones skipped

    @property
    def in_flight(self) -> int:
        return sum(1 for m in self.mns if m.pending is not None)

    def oldest_in_flight(self) -> float | None:
        """first_sent of the oldest PBU still unanswered (None: none)."""
        return min((m.pending.first_sent for m in self.mns if m.pending is not None), default=None)

    def next_op(self, now: float) -> Op | None:
        """The next PBU to send (seq assigned, in flight), or None if every MN picked is busy."""
        while self._fill < len(self.mns):
            i = self._fill
            self._fill += 1
            if self.mns[i].pending is None and self.mns[i].mag is None:
                return self._start(Op(OpKind.REGISTER, i, i % 2, None), now)
        for _ in range(8):
            i = self.rng.randrange(len(self.mns))
            mn = self.mns[i]
            if mn.pending is not None or mn.doubt:
                continue
            if mn.mag is None:
                return self._start(Op(OpKind.REGISTER, i, self.rng.randrange(2), None), now)
            r = self.rng.random() * (self.mix.refresh + self.mix.handover + self.mix.deregister)
            if r < self.mix.refresh:
                op = Op(OpKind.REFRESH, i, mn.mag, mn.hnp)
            elif r < self.mix.refresh + self.mix.handover:
                op = Op(OpKind.HANDOVER, i, 1 - mn.mag, mn.hnp)
            else:
                op = Op(OpKind.DEREGISTER, i, mn.mag, mn.hnp)
            return self._start(op, now)
        return None

    def _start(self, op: Op, now: float) -> Op:
        op.first_sent = now
        self.stats.offered += 1
        self.stats.by_kind[op.kind.value] = self.stats.by_kind.get(op.kind.value, 0) + 1
        self.mns[op.mn].pending = op
        self.mns[op.mn].version += 1
        return self._send(op, now)

    def _send(self, op: Op, now: float) -> Op:
        self._seq = (self._seq + 1) & 0xFFFF
        op.seq, op.sent_at = self._seq, now
        op.tries += 1
        heapq.heappush(self._timers, (now + op.timeout, op.mn, op.seq))
        return op

    def due(self, now: float) -> list[Op]:
        """PBUs to send again now: new Sequence Number and Timestamp, timeout doubled (§6.9.4)."""
        out = []
        while self._timers and self._timers[0][0] <= now:
            _, i, seq = heapq.heappop(self._timers)
            op = self.mns[i].pending
            if op is None or op.seq != seq:
                continue  # answered, or already sent again
            op.timeout = min(op.timeout * 2, MAX_BINDACK_TIMEOUT)
            self.stats.retransmitted += 1
            out.append(self._send(op, now))
        return out

    def on_pba(self, mn_index: int, seq: int, status: int, hnp: IPv6Network | None) -> Op | None:
        """A PBA for MN ``mn_index``; the op it answers, or None (stale or unknown)."""
        mn = self.mns[mn_index] if 0 <= mn_index < len(self.mns) else None
        op = mn.pending if mn is not None else None
        if op is None or op.seq != seq:
            self.stats.unmatched += 1
            return None
        mn.pending = None
        if status >= 128:  # RFC 5213 §5.3: rejected
            self.stats.rejected[status] = self.stats.rejected.get(status, 0) + 1
            if status == TIMESTAMP_MISMATCH:  # queued past TimestampValidityWindow: sent again
                mn.pending = op  # when its retransmission timer fires (§6.9.4 backoff; at once
                self.stats.answered_156 += 1  # would keep the LMA's queue long: all stale)
                return op
            if op.kind is OpKind.DEREGISTER and status in GONE:  # a retransmitted de-registration
                mn.mag, mn.hnp = None, None  # after the BCE was deleted (133), or after its prefix
                return op  # went to another MN (155, RFC 5213 §5.4.1.1): the binding is gone
            mn.doubt = True
            return op
        self.stats.acked += 1
        if op.kind is OpKind.DEREGISTER:
            mn.mag, mn.hnp = None, None
        else:
            mn.mag, mn.hnp = op.mag, hnp or op.hnp
        return op

    def expected(self) -> dict[int, tuple[int, IPv6Network | None]]:
        """MN -> (MAG, HNP) the LMA must hold: last answer registered it, nothing in flight."""
        return {i: (m.mag, m.hnp) for i, m in enumerate(self.mns)
                if m.mag is not None and m.pending is None and not m.doubt}

    def snapshot(self) -> dict[int, tuple[int, IPv6Network | None, int]]:
        """expected() with each MN's version: compare later only those whose version held."""
        return {i: (mag, hnp, self.mns[i].version) for i, (mag, hnp) in self.expected().items()}

    def unchanged(self, snap: dict[int, tuple[int, IPv6Network | None, int]]) -> list[int]:
        """MNs of ``snap`` with no PBU started since (their binding must still be as it was)."""
        return [i for i, (_, _, v) in snap.items() if self.mns[i].version == v]

    def in_doubt(self) -> int:
        """MNs whose state the LMA may hold either way (a PBU unanswered, or rejected)."""
        return sum(1 for m in self.mns if m.pending is not None or m.doubt)


__all__ = ["LoadModel", "Mix", "Op", "OpKind", "HI", "LoadStats", "INITIAL_BINDACK_TIMEOUT",
           "MAX_BINDACK_TIMEOUT"]
