"""Two NETLINK_ROUTE sockets of the mobile node: requests and notifications.

Rule: ``Rtnl`` sends one request at a time and waits (bounded) for its answer:
an ACK (errno 0), an error (``RtnlError`` with the errno), or a dump's
messages up to NLMSG_DONE; notifications are never read from it.
``open_events`` is bound to the link and address multicast groups and read
by the event loop; it is opened before the first dump so nothing that
changes during the dump is lost (the dump and the later notifications are
applied in order, and applying them is idempotent). Datagrams are bounded
by ``RECV_SIZE``; a malformed one is dropped by the caller.
"""
from __future__ import annotations

import errno
import os
import select
import socket
import time

from . import netlink as nl

RECV_SIZE = 1 << 16
RCVBUF = 1 << 20
TIMEOUT = 2.0


class RtnlError(OSError):
    """The kernel refused a request (errno) or did not answer in time."""


class Rtnl:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self._seq = int(time.time()) & 0x7FFFFFFF

    def close(self) -> None:
        self.sock.close()

    def _next(self) -> int:
        self._seq = (self._seq + 1) & 0x7FFFFFFF
        return self._seq

    def _receive(self, seq: int, dump: bool) -> list[nl.Message]:
        out: list[nl.Message] = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise RtnlError(errno.ETIMEDOUT, "no answer from the kernel (rtnetlink)")
            for msg in nl.parse(self.sock.recv(RECV_SIZE)):
                if getattr(msg, "seq", seq) != seq:
                    continue  # an answer to an earlier, abandoned request
                if isinstance(msg, nl.AckMsg):
                    if msg.error:
                        raise RtnlError(msg.error, os.strerror(msg.error))
                    if not dump:
                        return out
                elif isinstance(msg, nl.DoneMsg):
                    return out
                else:
                    out.append(msg)

    def dump(self, build) -> list[nl.Message]:
        """``build(seq=...)`` (a dump request), send it; the messages up to NLMSG_DONE."""
        seq = self._next()
        self.sock.send(build(seq=seq))
        return self._receive(seq, dump=True)

    def request(self, build, *args, ignore: tuple[int, ...] = ()) -> None:
        """``build(*args, seq=...)``, send it, wait for the ACK; errnos in ``ignore`` are not errors."""
        seq = self._next()
        self.sock.send(build(*args, seq=seq))
        try:
            self._receive(seq, dump=False)
        except RtnlError as exc:
            if exc.errno not in ignore:
                raise

    def dump_all(self) -> list[nl.Message]:
        """Every link, then every address (the state a watcher starts from)."""
        return self.dump(nl.dump_links) + self.dump(nl.dump_addresses)


def open_events(groups: int = nl.RTMGRP_LINK | nl.RTMGRP_IPV4_IFADDR | nl.RTMGRP_IPV6_IFADDR) -> socket.socket:
    """Non-blocking socket subscribed to ``groups``: link and IPv4/IPv6 address changes by default."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((0, groups))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


__all__ = ["Rtnl", "RtnlError", "open_events", "RECV_SIZE"]
