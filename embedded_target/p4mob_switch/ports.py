"""Ports: Linux interfaces through AF_PACKET, and in-process ports for tests.

Rule: a port only moves frames. Receive runs in the asyncio loop (add_reader)
and takes at most RX_BATCH frames per wake-up so gRPC stays responsive; frames
we sent ourselves are not delivered back (PACKET_IGNORE_OUTGOING, Linux 4.20)
and skipped if they are (PACKET_OUTGOING); a VLAN tag stripped by rx
offload is restored from PACKET_AUXDATA; frames longer than MAX_FRAME are
truncated by the kernel read and dropped here. Frames sent while a receive
batch runs leave together when it ends, and a batch is read with one
recvmmsg (mmsg.py).
Send errors are counted, never raised into the pipeline.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import socket
import struct
import sys
from typing import Callable

from .mmsg import MmsgBatch

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
RX_BATCH = 64
MAX_FRAME = 16384
_AUX = struct.Struct("IIIHHHH")  # struct tpacket_auxdata
_ANC_SPACE = socket.CMSG_SPACE(_AUX.size)
_BUFSIZE = MAX_FRAME + 1
_STATUS_LOW = 0 if sys.byteorder == "little" else 3  # the byte of tp_status holding VLAN_VALID


def enable_auxdata(sock: socket.socket) -> None:
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)


def _restore_vlan(frame: bytes, anc: list) -> bytes:
    """Put back a VLAN tag the kernel moved into metadata (rx VLAN offload), as
    libpcap does for bmv2."""
    for level, typ, data in anc:
        if level == SOL_PACKET and typ == PACKET_AUXDATA and len(data) >= _AUX.size:
            status, _l, _s, _m, _n, tci, tpid = _AUX.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID and len(frame) >= 12:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                frame = frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def recv_frame(sock: socket.socket, bufsize: int = MAX_FRAME + 1) -> tuple[bytes, int]:
    """One frame and its packet type, its VLAN tag restored."""
    frame, anc, _flags, addr = sock.recvmsg(bufsize, _ANC_SPACE)
    return _restore_vlan(frame, anc), addr[2]


class AfPacketPort:
    def __init__(self, port: int, ifname: str, on_rx: Callable[[int, bytes], None],
                 mmsg_batch: MmsgBatch | None = None) -> None:
        self.port = port
        self.ifname = ifname
        self.on_rx = on_rx
        self.batch = mmsg_batch if mmsg_batch is not None and mmsg_batch.enabled else None
        self.rxbufs = mmsg_batch.rx if mmsg_batch is not None else None
        self.queued: list[bytes] = []  # frames waiting for the end of the receive batch
        self.rx = self.tx = self.tx_errors = self.rx_oversize = 0
        self.tap: Callable[[str, str, bytes], None] | None = None
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((ifname, ETH_P_ALL))
        ifindex = socket.if_nametoindex(ifname)
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
        s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        enable_auxdata(s)
        try:  # one syscall and one wake-up less per frame sent
            s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass
        s.setblocking(False)
        self.sock = s
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        batch = self.batch
        if batch is None:
            self._receive()
            return
        batch.active = True
        try:
            if self.rxbufs is not None:
                self._receive_mmsg()
            else:
                self._receive()
        finally:
            batch.active = False
            batch.flush()

    def _receive_mmsg(self) -> None:
        frames = self.rxbufs.receive(self.sock, PACKET_OUTGOING, TP_STATUS_VLAN_VALID, _restore_vlan)
        if frames is None:
            log.warning("%s: receive error %s", self.ifname, os.strerror(ctypes.get_errno()))
            return
        on_rx, port, tap = self.on_rx, self.port, self.tap
        n = 0
        for frame in frames:
            if len(frame) > MAX_FRAME:
                self.rx_oversize += 1
                continue
            n += 1
            if tap:
                tap(self.ifname, "in", frame)
            on_rx(port, frame)
        self.rx += n

    def _receive(self) -> None:
        # recv_frame inlined: this loop runs once per frame (docs/performance.md)
        recvmsg, on_rx, port, tap = self.sock.recvmsg, self.on_rx, self.port, self.tap
        ancsize = _ANC_SPACE
        n = 0
        for _ in range(RX_BATCH):
            try:
                frame, anc, _flags, addr = recvmsg(_BUFSIZE, ancsize)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.warning("%s: receive error %s", self.ifname, exc)
                break
            if addr[2] == PACKET_OUTGOING:
                continue
            if anc:  # only auxdata is enabled: look closer only when its status says VLAN
                d = anc[0][2]
                if len(anc) > 1 or len(d) < _AUX.size or d[_STATUS_LOW] & TP_STATUS_VLAN_VALID:
                    frame = _restore_vlan(frame, anc)
            if len(frame) > MAX_FRAME:
                self.rx_oversize += 1
                continue
            n += 1
            if tap:
                tap(self.ifname, "in", frame)
            on_rx(port, frame)
        self.rx += n

    def send(self, frame: bytes) -> None:
        if self.tap:
            self.tap(self.ifname, "out", frame)
        batch = self.batch
        if batch is not None and batch.active:
            if not self.queued:
                batch.waiting.append(self)
            self.queued.append(frame if type(frame) is bytes else bytes(frame))
            return
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
