"""Events and results of the IPsec core, returned as values.

Rule: the core never logs, sleeps or calls back; every outcome an adapter
must act on is one of these dataclasses. Events are frozen; the per-packet
results (Accepted, Protected, Bypassed, Dropped) are slotted but not frozen,
because a frozen constructor costs more than the packet framing: treat them
as read-only. Rekey events follow RFC 4301
§4.4.2.1 (soft lifetime: start rekeying; hard lifetime: SA unusable) and RFC
4303 §3.3.3 (counter about to cycle: rekey, never wrap). Drop events mirror
the auditable events of RFC 4303 §3.4.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import IpsecError


@dataclass(frozen=True, slots=True)
class RekeySoft:
    """Soft lifetime reached (reason: bytes, packets or time); keep using the SA."""

    sa_index: int
    spi: int
    reqid: int
    reason: str


@dataclass(frozen=True, slots=True)
class RekeyHard:
    """Hard lifetime reached (bytes, packets, time or sequence): the SA is dead."""

    sa_index: int
    spi: int
    reqid: int
    reason: str


@dataclass(frozen=True, slots=True)
class SequenceOverflowEvent:
    """RFC 4303 §3.3.3: a send would cycle the counter; packet refused."""

    sa_index: int
    spi: int
    reqid: int


@dataclass(frozen=True, slots=True)
class ReplayDrop:
    """RFC 4303 §3.4.3: duplicate or too-old sequence number dropped."""

    sa_index: int
    spi: int
    seq: int


@dataclass(frozen=True, slots=True)
class IcvFailure:
    """RFC 4303 §3.4.4: integrity check failed; window left unchanged."""

    sa_index: int
    spi: int
    seq: int


Event = RekeySoft | RekeyHard | SequenceOverflowEvent | ReplayDrop | IcvFailure


@dataclass(slots=True)
class Accepted:
    """Inbound packet verified and decrypted; ``packet`` is the IP packet to deliver."""

    packet: bytes
    sa_index: int
    next_header: int
    seq: int
    events: tuple[Event, ...] = ()


@dataclass(slots=True)
class Protected:
    """Outbound packet with ESP applied, ready to send."""

    packet: bytes
    sa_index: int
    seq: int
    events: tuple[Event, ...] = ()


@dataclass(slots=True)
class Bypassed:
    """The SPD said BYPASS: the packet goes on unchanged."""

    packet: bytes


@dataclass(slots=True)
class Dropped:
    """The packet is dropped; ``error`` is the typed reason (class = RFC action)."""

    error: IpsecError
    sa_index: int | None = None
    events: tuple[Event, ...] = ()

    @property
    def reason(self) -> type[IpsecError]:
        return type(self.error)
