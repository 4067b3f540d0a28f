"""Ports: Linux interfaces through AF_PACKET, and in-process ports for tests.

Rule: a port only moves frames. Receive runs in the asyncio loop (add_reader)
and takes at most RX_BATCH frames per wake-up so gRPC stays responsive; frames
we sent ourselves (PACKET_OUTGOING) are skipped; frames longer than MAX_FRAME
are truncated by the kernel read and dropped here. Send errors are counted,
never raised into the pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Callable

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
RX_BATCH = 64
MAX_FRAME = 16384


class AfPacketPort:
    def __init__(self, port: int, ifname: str, on_rx: Callable[[int, bytes], None]) -> None:
        self.port = port
        self.ifname = ifname
        self.on_rx = on_rx
        self.rx = self.tx = self.tx_errors = self.rx_oversize = 0
        self.tap: Callable[[str, str, bytes], None] | None = None
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((ifname, ETH_P_ALL))
        ifindex = socket.if_nametoindex(ifname)
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
        s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setblocking(False)
        self.sock = s
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        recv = self.sock.recvfrom
        for _ in range(RX_BATCH):
            try:
                frame, addr = recv(MAX_FRAME + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("%s: receive error %s", self.ifname, exc)
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            if len(frame) > MAX_FRAME:
                self.rx_oversize += 1
                continue
            self.rx += 1
            if self.tap:
                self.tap(self.ifname, "in", frame)
            self.on_rx(self.port, frame)

    def send(self, frame: bytes) -> None:
        if self.tap:
            self.tap(self.ifname, "out", frame)
        try:
            self.sock.send(frame)
            self.tx += 1
        except OSError:
            self.tx_errors += 1

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


class MemoryPort:
    """In-process port: `inject()` feeds the switch, `sent` collects output."""

    def __init__(self, port: int, on_rx: Callable[[int, bytes], None]) -> None:
        self.port = port
        self.on_rx = on_rx
        self.sent: list[bytes] = []

    def inject(self, frame: bytes) -> None:
        self.on_rx(self.port, frame)

    def send(self, frame: bytes) -> None:
        self.sent.append(frame)

    def take(self) -> list[bytes]:
        out, self.sent = self.sent, []
        return out
