"""Inputs to the PMIPv6 cores: frozen, slotted dataclasses.

Rule: an event is a fact that already happened (a decoded message arrived, an
MN attached or left); the adapter builds it and passes it with ``now`` to
``core.handle(event, now)``. Timers are not events: the adapter calls
``core.handle_timer(now)`` when ``core.next_deadline()`` is reached.
``now`` is POSIX seconds on an NTP-synchronised clock (RFC 5213 §5.5 compares
it with Timestamp options); tests may start it at 0.0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Any

from p4mobility.mh import BindingAck, BindingUpdate, HandoffIndicator, MhDecodeError


@dataclass(frozen=True, slots=True)
class PbuReceived:
    """A decoded (Proxy) Binding Update from ``src`` (the MAG) to ``dst`` (LMAA)."""

    message: BindingUpdate
    src: IPv6Address
    dst: IPv6Address


@dataclass(frozen=True, slots=True)
class MhUndecodable:
    """LMA: a Mobility Header from ``src`` to ``dst`` that ``decode_mh`` refused with
    ``error`` (its class attributes carry the RFC 6275 §9.2 action); ``packet`` is the
    IPv6 packet that carried it (empty: unknown) with the MH at ``mh_offset``;
    ``in_esp``: it was decrypted by the crypto path (no ICMP quotes it in the clear)."""

    error: MhDecodeError
    src: IPv6Address
    dst: IPv6Address
    packet: bytes = field(default=b"", repr=False)
    mh_offset: int = 0
    in_esp: bool = False


@dataclass(frozen=True, slots=True)
class OtherMhReceived:
    """LMA: a Mobility Header that decoded but is not a Binding Update (a BA, a BRR, a HoTI...)."""

    message: Any
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
    """RFC 5213 §6.9.1.4/§6.13: the MN left ``access_port``. ``mn_id`` None:
    whichever MN the port serves (carrier loss, idle timeout)."""

    mn_id: bytes | None
    access_port: int


@dataclass(frozen=True, slots=True)
class RouterSolicitationReceived:
    """An RS on ``access_port`` (RFC 5213 §6.9.2), from source ``src``. When the
    access network identified the sender (``mn_id``, its MAC as ``mn_ll_id``,
    the port's ``att``), the MAG core decides whether it is an attachment
    (§6.9.1.1) or a solicitation of an MN it already serves."""

    access_port: int
    src: IPv6Address | None = None
    mn_id: bytes | None = None
    mn_ll_id: bytes | None = None
    att: int = 0


@dataclass(frozen=True, slots=True)
class MnTrafficSeen:
    """MAG: ``frame``, a packet from the identified MN ``mn_id`` on
    ``access_port``, reached the controller because the port is not forwarding
    for it (RFC 5213 §6.9.1.1: a link-layer handoff sends no RS)."""

    access_port: int
    mn_id: bytes
    mn_ll_id: bytes | None
    att: int
    frame: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class AccessLinkUp:
    """MAG: the carrier of ``access_port`` came up, a link-layer attach event
    (RFC 5213 §6.9.1.1). ``mn_id``/``mn_ll_id``: the MN the access network says
    is on that link (the port's configured MN, §6.6), None when it cannot say:
    then the MN's RS or first frame identifies it."""

    access_port: int
    att: int
    mn_id: bytes | None = None
    mn_ll_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class DownlinkPunted:
    """LMA: the switch punted ``frame``, a downlink packet to ``dst`` whose
    binding does not forward (de-registering, RFC 5213 §5.3.5)."""

    dst: IPv6Address
    frame: bytes = field(repr=False)


LmaEvent = PbuReceived | MhUndecodable | OtherMhReceived | DownlinkPunted
MagEvent = PbaReceived | MnAttached | MnDetached | RouterSolicitationReceived | MnTrafficSeen | AccessLinkUp
Event = LmaEvent | MagEvent

__all__ = ["PbuReceived", "MhUndecodable", "OtherMhReceived", "PbaReceived", "MnAttached", "MnDetached",
           "RouterSolicitationReceived", "MnTrafficSeen", "AccessLinkUp", "DownlinkPunted", "LmaEvent", "MagEvent",
           "Event"]
