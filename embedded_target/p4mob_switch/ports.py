"""Ports: Linux interfaces through AF_PACKET, and in-process ports for tests.

Rule: a port only moves frames. Receive runs in the asyncio loop (add_reader)
and takes at most RX_BATCH frames per wake-up so gRPC stays responsive; frames
we sent ourselves are not delivered back (PACKET_IGNORE_OUTGOING, Linux 4.20)
and skipped if they are (PACKET_OUTGOING); a VLAN tag stripped by rx
offload is restored from PACKET_AUXDATA; frames longer than MAX_FRAME are
truncated by the kernel read and dropped here. Send errors are counted,
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
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
RX_BATCH = 64
MAX_FRAME = 16384
_AUX = struct.Struct("IIIHHHH")  # struct tpacket_auxdata


def enable_auxdata(sock: socket.socket) -> None:
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)


def recv_frame(sock: socket.socket, bufsize: int = MAX_FRAME + 1) -> tuple[bytes, int]:
    """One frame and its packet type; a VLAN tag the kernel moved into
    metadata (rx VLAN offload) is put back, as libpcap does for bmv2."""
    frame, anc, _flags, addr = sock.recvmsg(bufsize, socket.CMSG_SPACE(_AUX.size))
    for level, typ, data in anc:
        if level == SOL_PACKET and typ == PACKET_AUXDATA and len(data) >= _AUX.size:
            status, _l, _s, _m, _n, tci, tpid = _AUX.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID and len(frame) >= 12:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                frame = frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame, addr[2]


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
        sock = self.sock
        for _ in range(RX_BATCH):
            try:
                frame, pkttype = recv_frame(sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("%s: receive error %s", self.ifname, exc)
                return
            if pkttype == PACKET_OUTGOING:
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
