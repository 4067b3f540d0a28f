"""Classic BPF socket filters (SO_ATTACH_FILTER) for the mobile node's sockets.

Rule: the kernel drops in its own context what the daemon would drop anyway,
so unrelated traffic on an access interface never reaches Python nor fills
its queue. ``from_home_agent(ha6, ha4)``, for a SOCK_DGRAM packet socket
(offset 0 = the IP header): accept a frame addressed to this host
(PACKET_HOST) whose EtherType is IPv6 with source ``ha6`` or IPv4 with
source ``ha4``; everything else is dropped, including our own transmissions.
``DROP_ALL`` keeps a socket bound without queueing anything (the "sinks"
that stop the kernel answering tunnelled packets with ICMP errors).
Instructions are (code, jt, jf, k) as in linux/filter.h; jumps are relative.
"""
from __future__ import annotations

import ctypes
import socket
import struct
from ipaddress import IPv4Address, IPv6Address

SO_ATTACH_FILTER = 26
SKF_AD_OFF = -0x1000
SKF_AD_PROTOCOL, SKF_AD_PKTTYPE = 0, 4
PACKET_HOST = 0
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
_LD_W_ABS, _LD_H_ABS, _JEQ_K, _RET_K = 0x20, 0x28, 0x15, 0x06
ACCEPT_LEN = 0x40000  # bytes kept of an accepted packet (all of it)

_INSN = struct.Struct("=HBBI")
_FPROG = struct.Struct("@HP")  # unsigned short len; struct sock_filter *filter (native layout)

Insn = tuple[int, int, int, int]
DROP_ALL: list[Insn] = [(_RET_K, 0, 0, 0)]


def _anc(offset: int) -> int:
    return (SKF_AD_OFF + offset) & 0xFFFFFFFF


def from_home_agent(ha6: IPv6Address, ha4: IPv4Address | None) -> list[Insn]:
    words = [int.from_bytes(ha6.packed[i:i + 4], "big") for i in range(0, 16, 4)]
    v6: list[Insn] = []
    for n, w in enumerate(words):  # source address at IPv6 offset 8
        v6.append((_LD_W_ABS, 0, 0, 8 + 4 * n))
        v6.append((_JEQ_K, 0, 0, w))  # jf patched below: to DROP
    v4: list[Insn] = []
    if ha4 is not None:  # source address at IPv4 offset 12
        v4 = [(_LD_W_ABS, 0, 0, 12), (_JEQ_K, 0, 0, int(ha4))]
    head: list[Insn] = [(_LD_W_ABS, 0, 0, _anc(SKF_AD_PKTTYPE)), (_JEQ_K, 0, 0, PACKET_HOST),
                        (_LD_H_ABS, 0, 0, _anc(SKF_AD_PROTOCOL)), (_JEQ_K, 0, 0, ETH_P_IPV6),
                        (_JEQ_K, 0, 0, ETH_P_IP)]
    prog = head + v6 + v4 + [(_RET_K, 0, 0, ACCEPT_LEN), (_RET_K, 0, 0, 0)]
    accept, drop = len(prog) - 2, len(prog) - 1
    v6_at, v4_at = len(head), len(head) + len(v6)

    def jump(i: int, jt: int, jf: int) -> None:
        code, _, _, k = prog[i]
        prog[i] = (code, jt - i - 1, jf - i - 1, k)

    jump(1, 2, drop)  # PACKET_HOST or drop
    jump(3, v6_at, 4)
    jump(4, v4_at if v4 else drop, drop)
    for n in range(4):
        at = v6_at + 2 * n + 1
        jump(at, at + 1 if n < 3 else accept, drop)
    if v4:
        jump(v4_at + 1, accept, drop)
    return prog


def attach(sock: socket.socket, program: list[Insn]) -> None:
    """Install ``program`` on ``sock`` (the kernel copies it)."""
    code = b"".join(_INSN.pack(*insn) for insn in program)
    buf = ctypes.create_string_buffer(code, len(code))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, _FPROG.pack(len(program), ctypes.addressof(buf)))


__all__ = ["DROP_ALL", "from_home_agent", "attach", "Insn"]
