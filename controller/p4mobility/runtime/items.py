"""What a node's worker queue carries: one frozen value per kind of input.

Rule: producers (the packet-in stream in node.py, the MAG's link and idle
watchers) put these on ``NodeRuntime.queue``; the worker hands each to the
role's ``on_item`` in arrival order. They carry observations only: what they
mean for the protocol is the core's business.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PacketIn:
    """A frame the switch punted: finsy's P4PacketIn (``payload``, metadata by name)."""

    packet: Any
    via: int = 0  # which of an LMA's [[switches]] punted it (0: the node's own)


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """Carrier of an access interface went up or down (RFC 5213 §6.9.1.4: down = the MN left)."""

    port: int
    up: bool


@dataclass(frozen=True, slots=True)
class IdleTimeout:
    """No uplink packet from the MN on ``port`` for the configured detach timeout."""

    port: int


QueueItem = PacketIn | LinkChanged | IdleTimeout

__all__ = ["IdleTimeout", "LinkChanged", "PacketIn", "QueueItem"]
