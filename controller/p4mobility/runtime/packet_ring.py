"""AF_PACKET with PACKET_MMAP rings (TPACKET_V2): frames in and out without a syscall each.

Rule: I/O only, self-contained (Linux packet(7), Documentation/networking/packet_mmap.rst).
One socket on one interface holds an RX ring and a TX ring in one mmap. ``recv_batch``
copies the frames the kernel marked TP_STATUS_USER and hands each slot back;
``queue`` writes a frame into the next TP_STATUS_AVAILABLE TX slot and marks it
TP_STATUS_SEND_REQUEST; ``flush`` is one send() for every queued frame. Our own
transmissions are kept out of the RX ring by PACKET_IGNORE_OUTGOING (Linux >= 4.20);
where that or a ring is refused, ``RingUnavailable`` tells the caller to use a
plain packet socket. Slots are sized from the interface MTU, so a frame the link
can carry always fits.
"""
from __future__ import annotations

import fcntl
import mmap
import socket
import struct

SOL_PACKET = 263  # linux/socket.h
PACKET_RX_RING, PACKET_VERSION, PACKET_TX_RING = 5, 10, 13  # linux/if_packet.h
PACKET_QDISC_BYPASS, PACKET_IGNORE_OUTGOING = 20, 23
TPACKET_V2 = 1
TP_STATUS_KERNEL = TP_STATUS_AVAILABLE = 0
TP_STATUS_USER = TP_STATUS_SEND_REQUEST = 1
TX_DATA_OFFSET = 32  # TPACKET_ALIGN(sizeof(struct tpacket2_hdr)): where the kernel reads a TX frame
ETH_P_ALL = 0x0003
SIOCGIFMTU = 0x8921  # linux/sockios.h
DEFAULT_FRAMES = 2048  # as many as RING_BYTES allows: about the plain socket's 4 MB queue
RING_BYTES = 4 << 20  # per ring, at most (fewer slots when the MTU is large)

_REQ = struct.Struct("IIII")  # struct tpacket_req: block size, block count, frame size, frame count
_U32 = struct.Struct("I")  # host order, as the kernel writes the header
_SNAP_MAC = struct.Struct("IH")  # struct tpacket2_hdr: tp_snaplen at +8, tp_mac at +12
_ZERO = bytes(4)
_SEND_REQUEST = _U32.pack(TP_STATUS_SEND_REQUEST)


class RingUnavailable(OSError):
    """The kernel refused a ring (or PACKET_IGNORE_OUTGOING): use a plain packet socket."""


def slot_size(mtu: int) -> int:
    """Power-of-two slot holding the V2 header (+ sockaddr_ll, aligned) and an MTU-sized frame."""
    need = 32 + 32 + 14 + 4 + mtu  # header, sockaddr_ll and the 16-byte mac alignment, Ethernet, VLAN
    size = 2048
    while size < need:
        size <<= 1
    return size


def interface_mtu(sock: socket.socket, ifname: str) -> int:
    """SIOCGIFMTU through ``sock``: the MTU in the socket's own network namespace."""
    req = struct.pack("16si20x", ifname.encode()[:15], 0)
    return struct.unpack_from("16si", fcntl.ioctl(sock.fileno(), SIOCGIFMTU, req))[1]


class PacketRing:
    """RX + TX rings on one AF_PACKET socket bound to ``ifname`` (non-blocking)."""

    def __init__(self, ifname: str, frames: int = DEFAULT_FRAMES) -> None:
        self.ifname = ifname
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock = sock
        self._mm: mmap.mmap | None = None
        try:
            self.slot = slot_size(interface_mtu(sock, ifname))  # OSError ENODEV: no such interface
            block = max(self.slot, mmap.PAGESIZE)
            per_block = block // self.slot
            frames = max(per_block, min(frames, RING_BYTES // self.slot))  # jumbo MTUs: fewer slots
            blocks = max(1, frames // per_block)
            self.frames = blocks * per_block
            self.max_frame = self.slot - TX_DATA_OFFSET
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError as exc:
                raise RingUnavailable(exc.errno, f"PACKET_IGNORE_OUTGOING: {exc.strerror}") from None
            try:
                sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
                req = _REQ.pack(block, blocks, self.slot, self.frames)
                sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
                sock.setsockopt(SOL_PACKET, PACKET_TX_RING, req)
            except OSError as exc:
                raise RingUnavailable(exc.errno, f"packet ring: {exc.strerror}") from None
            try:  # veth has no queue worth keeping: straight to the driver (Linux >= 3.14)
                sock.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
            except OSError:
                pass
            sock.bind((ifname, 0))
            sock.setblocking(False)
            size = 2 * self.frames * self.slot
            self._mm = mmap.mmap(sock.fileno(), size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            self.close()
            raise
        self._rx = [i * self.slot for i in range(self.frames)]
        self._tx = [(self.frames + i) * self.slot for i in range(self.frames)]
        self._ri = self._ti = 0
        self.queued = 0  # TX slots marked since the last flush
        self.tx_full = 0  # frames not sent: no TX slot free after a flush

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv_batch(self, limit: int) -> list[bytes]:
        """Up to ``limit`` frames waiting in the RX ring (copies), oldest first."""
        mm, rx, n = self._mm, self._rx, self.frames
        i = self._ri
        out: list[bytes] = []
        append = out.append
        snap_mac = _SNAP_MAC.unpack_from
        while len(out) < limit:
            off = rx[i]
            if not mm[off] & TP_STATUS_USER:
                break
            snaplen, mac = snap_mac(mm, off + 8)
            start = off + mac
            append(mm[start:start + snaplen])
            mm[off:off + 4] = _ZERO  # TP_STATUS_KERNEL: the slot is the kernel's again
            i = i + 1 if i + 1 < n else 0
        self._ri = i
        return out

    def queue(self, frame: bytes) -> bool:
        """Put ``frame`` in the next TX slot; False if it is too long or no slot is free."""
        size = len(frame)
        if size > self.max_frame:
            return False
        mm = self._mm
        off = self._tx[self._ti]
        if mm[off:off + 4] != _ZERO:  # still being sent: push what is queued, look again
            self.flush()
            if mm[off:off + 4] != _ZERO:
                self.tx_full += 1
                return False
        data = off + TX_DATA_OFFSET
        mm[data:data + size] = frame
        _U32.pack_into(mm, off + 4, size)  # tp_len
        mm[off:off + 4] = _SEND_REQUEST
        self._ti = self._ti + 1 if self._ti + 1 < self.frames else 0
        self.queued += 1
        return True

    def flush(self) -> None:
        """One send(): the kernel transmits every TP_STATUS_SEND_REQUEST slot (OSError passes up)."""
        if self.queued:
            self.queued = 0
            self.sock.send(b"")

    def take_error(self) -> int:
        """The socket's pending error (ENETDOWN when the link went down), cleared: a ring
        socket is never read with recv(), so nothing else clears it and poll() would keep
        reporting it."""
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None
        self.sock.close()


__all__ = ["PacketRing", "RingUnavailable", "slot_size"]
