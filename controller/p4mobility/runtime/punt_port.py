"""A node's punts and packet-outs on a dedicated port instead of the P4Runtime stream (issue 15).

Rule: I/O only, no protocol rule. With `[node] punt_interface = "IFNAME"` the
switch runs with that veth's other end as port CPU_PORT (255) and without
`--cpu-port` (bmv2 and the embedded target alike): what the pipeline sends to
CPU_PORT leaves as a frame (the packet_in controller header, then the Ethernet
frame), and a frame written here enters as if from the controller (the
packet_out header first: the P4 parser reads it on CPU_PORT). The switch still
classifies: its punt rules decide what comes here. One AF_PACKET socket
(runtime/crypto_port.open_packet_socket), drained in batches by a loop reader,
as the crypto path does: no gRPC message per packet either way. Both ends of the
veth carry no IPv6 (the kernel's own ND frames would enter the pipeline) and have an
MTU above a full frame plus its header (9000: a held 1,500-byte downlink packet goes
both ways).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import finsy

from p4mobility.runtime.crypto_port import MAX_FRAME, open_packet_socket
from p4mobility.runtime.logs import EventLog

BATCH = 256  # frames drained per wakeup


class ControllerHeader:
    """The bit layout of one @controller_header (P4Info controller_packet_metadata), in order."""

    def __init__(self, fields: list[tuple[str, int]]) -> None:
        self.fields = fields
        bits = sum(bw for _, bw in fields)
        self.pad = -bits % 8
        self.nbytes = (bits + self.pad) // 8

    @classmethod
    def of(cls, schema: Any, name: str) -> "ControllerHeader":
        return cls([(m.name, m.bitwidth) for m in schema.controller_packet_metadata[name].metadata])

    def unpack(self, data: bytes) -> dict[str, int]:
        acc = int.from_bytes(data[:self.nbytes], "big") >> self.pad
        out = {}
        for name, bw in reversed(self.fields):
            out[name] = acc & ((1 << bw) - 1)
            acc >>= bw
        return out

    def pack(self, values: dict[str, Any]) -> bytes:
        acc = 0
        for name, bw in self.fields:
            acc = (acc << bw) | (int(values.get(name, 0)) & ((1 << bw) - 1))
        return (acc << self.pad).to_bytes(self.nbytes, "big")


class PortPacket:
    """A punt read from the port: what the roles read of finsy's P4PacketIn."""

    __slots__ = ("payload", "metadata")

    def __init__(self, payload: bytes, metadata: dict[str, int]) -> None:
        self.payload, self.metadata = payload, metadata

    def __getitem__(self, name: str) -> int:
        return self.metadata[name]


class PuntPort:
    """The node's end of the punt veth: ``on_packet(PortPacket)`` per punt, ``send`` for packet-outs."""

    def __init__(self, ifname: str, p4info: Path | str, on_packet: Callable[[PortPacket], None],
                 log: EventLog) -> None:
        schema = finsy.P4Schema(Path(p4info))
        self.packet_in = ControllerHeader.of(schema, "packet_in")
        self.packet_out = ControllerHeader.of(schema, "packet_out")
        self.ifname, self.on_packet, self.log = ifname, on_packet, log
        self.received = self.sent = self.short = self.send_errors = 0
        self._sock: Any = None

    def open(self) -> None:
        """CryptoPortError when the interface cannot be opened (missing, not root)."""
        self._sock, ignores_outgoing = open_packet_socket(self.ifname)
        if not ignores_outgoing:  # a kernel before 4.20 would hand us our own packet-outs
            self.close()
            raise OSError(f"{self.ifname}: the kernel cannot keep our own frames out (PACKET_IGNORE_OUTGOING)")
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)

    def close(self) -> None:
        if self._sock is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            except RuntimeError:  # no loop running any more
                pass
            self._sock.close()
            self._sock = None

    def _readable(self) -> None:
        recv, n, unpack, deliver = self._sock.recv, self.packet_in.nbytes, self.packet_in.unpack, self.on_packet
        for _ in range(BATCH):
            try:
                frame = recv(MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # the interface went away: the next wakeup tries again
                self.log.event("punt_port_error", interface=self.ifname, error=exc.strerror)
                return
            if len(frame) < n + 14:
                self.short += 1
                continue
            self.received += 1
            deliver(PortPacket(frame[n:], unpack(frame)))

    def send(self, outs: list[Any]) -> None:
        """finsy P4PacketOuts (payload, metadata by name) as frames on the port; a failed
        send is counted and logged, not retried (the peers' retransmission covers it)."""
        sock, pack = self._sock, self.packet_out.pack
        if sock is None:
            return
        for p in outs:
            try:
                sock.send(pack(p.metadata) + bytes(p.payload))
                self.sent += 1
            except OSError as exc:
                self.send_errors += 1
                self.log.event("packet_out_failed", interface=self.ifname, error=exc.strerror)


__all__ = ["ControllerHeader", "PortPacket", "PuntPort"]
