"""PBU frames and the generator's AF_PACKET socket (the load of `make soak` and the benches).

Rule: packing and a receiver thread, no load policy: `pbu()` builds a Proxy
Binding Update as a MAG sends it (RFC 5213 §6.9.1.5: A and P flags, MN-ID,
HNP, HI, ATT, Timestamp), `PbuSocket` sends Ethernet frames on one interface
and hands every PBA it reads to a callback from its own thread.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from ipaddress import IPv6Address, IPv6Network
from typing import Callable

from p4mobility.mh import (AccessTechnologyTypeOption, BindingAck, BindingUpdate, HandoffIndicatorOption,
                           HomeNetworkPrefix, MnIdentifier, Timestamp)
from p4mobility.runtime.frames import FrameError, mh_frame, parse_mh_frame

ALL_ZERO = HomeNetworkPrefix(0, IPv6Address("::"))  # RFC 5213 §8.3: the LMA assigns one
PACKET_IGNORE_OUTGOING = 23


def pbu(mn_id: bytes, seq: int, hi: int, lifetime_units: int, hnp: IPv6Network | None = None,
        now: float | None = None) -> BindingUpdate:
    prefix = ALL_ZERO if hnp is None else HomeNetworkPrefix(hnp.prefixlen, hnp.network_address)
    return BindingUpdate(seq & 0xFFFF, lifetime_units, ack=True, proxy=True, options=(
        MnIdentifier(mn_id), prefix, HandoffIndicatorOption(hi), AccessTechnologyTypeOption(4),
        Timestamp.from_seconds(time.time() if now is None else now)))


def ether(frame: bytes, dst_mac: str, src_mac: str) -> bytes:
    """mh_frame's zero MACs replaced."""
    return bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + frame[12:]


def pbu_frame(msg: BindingUpdate, src: IPv6Address, dst: IPv6Address, dst_mac: str, src_mac: str) -> bytes:
    return ether(mh_frame(msg, src, dst), dst_mac, src_mac)


class PbuSocket:
    """One AF_PACKET socket on ``ifname``: `send(frame)`, and ``on_pba(msg, t)`` called from a
    receiver thread for every Binding Acknowledgement read (t: perf_counter at receipt),
    after ``unwrap(frame)`` when given."""

    def __init__(self, ifname: str, on_pba: Callable[[BindingAck, float], None],
                 unwrap: Callable[[bytes], bytes | None] | None = None) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
        self.sock.bind((ifname, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        with contextlib.suppress(OSError):  # our own PBUs are not read back
            self.sock.setsockopt(263, PACKET_IGNORE_OUTGOING, 1)
        self.on_pba = on_pba
        self.unwrap = unwrap  # e.g. ESP removed (None from it: dropped)
        self.send_errors = 0
        self._stop = False
        self._t = threading.Thread(target=self._recv, daemon=True, name=f"pba-{ifname}")
        self._t.start()

    def send(self, frame: bytes) -> None:
        try:
            self.sock.send(frame)
        except OSError:  # a full queue: the PBU is lost like on a wire, retransmission recovers
            self.send_errors += 1

    def _recv(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            t = time.perf_counter()
            if self.unwrap is not None:
                data = self.unwrap(data)
                if data is None:
                    continue
            try:
                msg, _, _ = parse_mh_frame(data)
            except FrameError:
                continue
            if isinstance(msg, BindingAck):
                self.on_pba(msg, t)

    def close(self) -> None:
        self._stop = True
        self._t.join(1)
        self.sock.close()


__all__ = ["ALL_ZERO", "pbu", "ether", "pbu_frame", "PbuSocket"]
