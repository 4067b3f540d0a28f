"""Batched AF_PACKET I/O: recvmmsg(2) for a receive batch, one sendmmsg(2) per
port for the frames it produced.

Rule (receive): one recvmmsg takes up to MAX_MSGS frames into buffers shared by
the switch's ports (one thread), with their sockaddr_ll (packet type) and
PACKET_AUXDATA; the per-frame recvmsg it replaces also cost an ioctl
(SIOCGIFNAME: CPython names the interface of every address it returns).
Rule (send): while a port's receive batch runs, frames for AF_PACKET ports are queued
per port (order kept) and sent when the batch ends, in chunks of MAX_MSGS,
through libc's sendmmsg via ctypes; each failed frame counts as a tx error and
sending goes on with the next, as per-frame send() did. Why: a send that wakes
the reader on the other veth end (the peer's process) is followed by a switch
to that process at the syscall's return: one send per frame cost a context
switch per frame (perf: 18% of the switch's CPU in finish_task_switch after
send). Where libc or the CPython bytes layout check is missing, frames go one
recvmsg / send() each (ports.py).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import socket
import struct
import sys
from typing import Callable

log = logging.getLogger(__name__)

MAX_MSGS = 64  # messages per sendmmsg call


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(_Iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint)]


_BYTES_DATA = bytes.__basicsize__ - 1  # offset of a bytes object's data from id() (CPython)


def _libc(name: str, argtypes: list) -> Callable | None:
    """libc's `name`, if present and the bytes layout is the one assumed."""
    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    probe = b"p4mob"
    if ctypes.cast(ctypes.c_char_p(probe), ctypes.c_void_p).value != id(probe) + _BYTES_DATA:
        return None
    fn.argtypes = argtypes
    fn.restype = ctypes.c_int
    return fn


_SENDMMSG = _libc("sendmmsg", [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int])
_RECVMMSG = _libc("recvmmsg", [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p])
MSG_DONTWAIT = 0x40
_NAME = 20  # sizeof(struct sockaddr_ll); sll_pkttype at byte 10
_CTRL = socket.CMSG_SPACE(20)  # one cmsghdr + struct tpacket_auxdata
_CMSG_HDR = socket.CMSG_LEN(0)  # the auxdata follows the cmsghdr
_STATUS_LOW = 0 if sys.byteorder == "little" else 3  # the byte of tp_status holding VLAN_VALID
_LEVEL_TYPE = struct.Struct("ii")  # cmsg_level, cmsg_type after cmsg_len (size_t)


class RxBuffers:
    """MAX_MSGS receive slots of `bufsize` bytes for recvmmsg, shared by the ports."""

    def __init__(self, bufsize: int) -> None:
        n = MAX_MSGS
        self.bufsize = bufsize
        self.data = bytearray(n * bufsize)
        self.view = memoryview(self.data)
        self.names = bytearray(n * _NAME)
        self.ctrl = bytearray(n * _CTRL)
        self._keep = [(ctypes.c_char * len(b)).from_buffer(b) for b in (self.data, self.names, self.ctrl)]
        data, names, ctrl = (ctypes.addressof(k) for k in self._keep)
        self._iov = (_Iovec * n)()
        self._msgs = (_Mmsghdr * n)()
        self._hdrs = []
        for i in range(n):
            self._iov[i].iov_base = data + i * bufsize
            self._iov[i].iov_len = bufsize
            h = self._msgs[i].msg_hdr
            h.msg_name, h.msg_namelen = names + i * _NAME, _NAME
            h.msg_iov, h.msg_iovlen = ctypes.pointer(self._iov[i]), 1
            h.msg_control, h.msg_controllen = ctrl + i * _CTRL, _CTRL
            self._hdrs.append(h)
        self._used = 0  # slots whose lengths the last call overwrote
        self._base = ctypes.addressof(self._msgs)

    def receive(self, sock: socket.socket, outgoing: int, vlan_valid: int,
                restore: Callable[[bytes, list], bytes]) -> list[bytes] | None:
        """The frames waiting on `sock` (at most MAX_MSGS), without those of
        packet type `outgoing`, VLAN tags restored by `restore(frame, ancdata)`;
        None when the call failed for another reason than an empty queue."""
        hdrs = self._hdrs
        for h in hdrs[:self._used]:
            h.msg_namelen = _NAME
            h.msg_controllen = _CTRL
        r = _RECVMMSG(sock.fileno(), self._base, MAX_MSGS, MSG_DONTWAIT, None)
        if r < 0:
            self._used = 0
            err = ctypes.get_errno()
            return [] if err in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR) else None
        self._used = r
        msgs, view, names, ctrl, size = self._msgs, self.view, self.names, self.ctrl, self.bufsize
        out = []
        for i in range(r):
            if names[i * _NAME + 10] == outgoing:
                continue
            o = i * size
            frame = view[o:o + msgs[i].msg_len].tobytes()
            c = i * _CTRL
            if ctrl[c + _CMSG_HDR + _STATUS_LOW] & vlan_valid:  # maybe stale: checked in full below
                n = hdrs[i].msg_controllen
                if n >= _CMSG_HDR:
                    level, typ = _LEVEL_TYPE.unpack_from(ctrl, c + ctypes.sizeof(ctypes.c_size_t))
                    frame = restore(frame, [(level, typ, bytes(ctrl[c + _CMSG_HDR:c + n]))])
            out.append(frame)
        return out


class MmsgBatch:
    """Shared by the ports of one switch; `active` while a receive batch runs;
    `rx`: the receive buffers (rx_bufsize > 0 and recvmmsg present)."""

    def __init__(self, rx_bufsize: int = 0) -> None:
        self.active = False
        self.enabled = _SENDMMSG is not None
        self.rx = RxBuffers(rx_bufsize) if rx_bufsize and _RECVMMSG is not None else None
        self.waiting: list = []  # ports with queued frames
        self._iov = (_Iovec * MAX_MSGS)()
        self._msgs = (_Mmsghdr * MAX_MSGS)()
        for i in range(MAX_MSGS):
            h = self._msgs[i].msg_hdr
            h.msg_iov = ctypes.pointer(self._iov[i])
            h.msg_iovlen = 1
        self._base = ctypes.addressof(self._msgs)

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        for port in waiting:
            frames, port.queued = port.queued, []
            sent, errors = self.send_all(port.sock, frames)
            port.tx += sent
            port.tx_errors += errors

    def send_all(self, sock: socket.socket, frames: list[bytes]) -> tuple[int, int]:
        """(frames sent, frames failed)."""
        iov, fd, size = self._iov, sock.fileno(), ctypes.sizeof(_Mmsghdr)
        sent = errors = 0
        for start in range(0, len(frames), MAX_MSGS):
            chunk = frames[start:start + MAX_MSGS]
            for i, f in enumerate(chunk):  # `chunk` keeps each frame alive during the call
                v = iov[i]
                v.iov_base = id(f) + _BYTES_DATA
                v.iov_len = len(f)
            i, n = 0, len(chunk)
            while i < n:
                r = _SENDMMSG(fd, self._base + i * size, n - i, 0)
                if r <= 0:  # this frame failed (full queue, too big, link down): count it, go on
                    errors += 1
                    i += 1
                else:
                    sent += r
                    i += r
        return sent, errors
