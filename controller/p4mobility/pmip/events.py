"""Inputs to the PMIPv6 cores: frozen, slotted dataclasses.

Rule: an event is a fact that already happened (a decoded message arrived, an
MN attached or left); the adapter builds it and passes it with ``now`` to
``core.handle(event, now)``. Timers are not events: the adapter calls
``core.handle_timer(now)`` when ``core.next_deadline()`` is reached.
``now`` is POSIX seconds on an NTP-synchronised clock (RFC 5213 §5.5 compares
it with Timestamp options); tests may start it at 0.0.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address

from p4mobility.mh import BindingAck, BindingUpdate, HandoffIndicator


@dataclass(frozen=True, slots=True)
class PbuReceived:
    """A decoded (Proxy) Binding Update from ``src`` (the MAG) to ``dst`` (LMAA)."""

    message: BindingUpdate
    src: IPv6Address
    dst: IPv6Address


@dataclass(frozen=True, slots=True)
class PbaReceived:
    """A decoded (Proxy) Binding Acknowledgement from ``src`` (LMAA) to ``dst``."""

    message: BindingAck
    src: IPv6Address
    dst: IPv6Address


@dataclass(frozen=True, slots=True)
class MnAttached:
    """RFC 5213 §6.5/§6.6: an MN was detected on ``access_port`` and identified.

    ``handoff_hint`` is what the access network knows (RFC 5213 §5.4.1, §8.4):
    1 new interface, 2 moved between its interfaces, 3 moved from another MAG,
    4 unknown. ``mn_ll_id`` is the MN's link-layer identifier if known.
    """

    mn_id: bytes
    access_port: int
    att: int
    mn_ll_id: bytes | None = None
    link_local: IPv6Address | None = None  # the MN's link-local, if learned
    handoff_hint: int = HandoffIndicator.ATTACHMENT_OVER_NEW_INTERFACE


@dataclass(frozen=True, slots=True)
class MnDetached:
    """RFC 5213 §6.9.1.4/§6.13: the MN left ``access_port``."""

    mn_id: bytes
    access_port: int


@dataclass(frozen=True, slots=True)
class RouterSolicitationReceived:
    """An RS from the MN on ``access_port`` (RFC 5213 §6.9.2)."""

    access_port: int
    src: IPv6Address | None = None


Event = PbuReceived | PbaReceived | MnAttached | MnDetached | RouterSolicitationReceived

__all__ = ["PbuReceived", "PbaReceived", "MnAttached", "MnDetached",
           "RouterSolicitationReceived", "Event"]
