"""A node's packet-outs: built complete, sent one stream write at a time, held while the switch is away.

Rule: every packet-out carries every packet_out metadata field of the P4Info
(padding 0), so one built before the switch connects is complete. grpc.aio
allows one write at a time on the stream (a second concurrent write fails the
call and finsy then sends on a new, unarbitrated stream), so every send takes
one lock; a failed send is logged, not retried. Packet-outs made while
disconnected (PBU/PBA/RA) are held, at most MAX_HELD_PACKETS with the oldest
dropped first (retransmission timers cover them), until the next reconcile.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import finsy
from finsy import P4PacketOut

from p4mobility.p4rt.apply import Writer
from p4mobility.runtime.logs import EventLog

MAX_HELD_PACKETS = 1024


class PacketOuts:
    """Builder, sender and hold queue of one node's packet-outs."""

    def __init__(self, p4info: Any, log: EventLog, current_writer: Callable[[], Writer | None]) -> None:
        self.log = log
        self.fields: tuple[str, ...] = packet_out_fields(p4info)
        self._current_writer = current_writer
        self._lock = asyncio.Lock()
        self._held: list[P4PacketOut] = []  # signaling made while the switch is away

    def make(self, frame: bytes, egress_port: int = 0, through_pipeline: bool = True) -> P4PacketOut:
        """PacketOut with every packet_out metadata field of the P4Info set (padding 0)."""
        meta = dict.fromkeys(self.fields, 0)
        meta.update(egress_port=egress_port, through_pipeline=int(through_pipeline))
        return P4PacketOut(frame, **meta)

    def learn_fields(self, p4info: Any) -> None:
        """Take the packet_out fields from the switch's P4Info (kept when it has none)."""
        try:
            self.fields = tuple(m.name for m in p4info.controller_packet_metadata["packet_out"].metadata)
        except (KeyError, ValueError):
            pass

    def hold(self, outs: list[P4PacketOut]) -> None:
        """Keep packet-outs made while disconnected, up to MAX_HELD_PACKETS (the oldest go first)."""
        if not outs:
            return
        self._held.extend(outs)
        excess = len(self._held) - MAX_HELD_PACKETS
        if excess > 0:
            del self._held[:excess]
            self.log.event("held_packets_dropped", packets=excess)

    def take_held(self) -> list[P4PacketOut]:
        held, self._held = self._held, []
        return held

    async def send(self, switch: Any, outs: list[P4PacketOut]) -> None:
        """Every packet-out goes through here, one stream write at a time."""
        if not outs:
            return
        async with self._lock:
            try:
                writer = self._current_writer()
                if writer is not None and writer.switch is switch:  # fastenc: finsy's bytes, less CPU
                    outs = [writer.encoder.encode(p) for p in outs]
                await switch.write(outs)
            except Exception as exc:  # noqa: BLE001 - the switch went away: nothing to resend
                self.log.event("packet_out_failed", error=str(exc)[:300])
            except asyncio.CancelledError:  # the stream closed under the write (kill -9 of the switch)
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # we are being cancelled
                self.log.event("packet_out_failed", error="cancelled: the switch connection closed")


def packet_out_fields(p4info: Any) -> tuple[str, ...]:
    """packet_out metadata names of the P4Info file (padding included), so a packet-out
    built before the switch connects is complete."""
    try:
        schema = finsy.P4Schema(Path(p4info))
        return tuple(m.name for m in schema.controller_packet_metadata["packet_out"].metadata)
    except Exception:  # noqa: BLE001 - unreadable here: learn_fields() takes them from the switch
        return ("egress_port", "through_pipeline")


__all__ = ["MAX_HELD_PACKETS", "PacketOuts", "packet_out_fields"]
