"""rtnetlink (NETLINK_ROUTE) messages as values: parsing and building, no socket.

Rule: ``parse(buffer)`` reads every message of one datagram (netlink(7),
rtnetlink(7); layouts of linux/netlink.h, if_link.h, if_addr.h, rtnetlink.h,
host byte order) and returns ``LinkMsg``, ``AddrMsg``, ``AckMsg`` (NLMSG_ERROR,
errno 0 = ACK) and ``DoneMsg``; other message types are skipped. Every length
is checked before it is read; a truncated or inconsistent message raises
``NetlinkError`` (the caller drops the datagram). An address is IFA_LOCAL if
present (IPv4; the peer is in IFA_ADDRESS on point-to-point links), else
IFA_ADDRESS; its flags are IFA_FLAGS when present (32 bits) else ifa_flags.
The builders (``seq`` by keyword) make the few requests the mobile node sends: dumps, an
address, a default route, link up/MTU.
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

# linux/netlink.h
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x300, 0x100, 0x200, 0x400
# linux/rtnetlink.h
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x10, 0x100
RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RTN_UNICAST = 254, 4, 0, 253, 1
RTA_DST, RTA_OIF, RTA_PRIORITY, RTA_PREFSRC = 1, 4, 6, 7
# linux/if_link.h, linux/if.h
IFLA_IFNAME, IFLA_MTU = 3, 4
IFF_UP, IFF_LOOPBACK, IFF_LOWER_UP = 0x1, 0x8, 0x10000
# linux/if_addr.h
IFA_ADDRESS, IFA_LOCAL, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 6, 8
IFA_F_NODAD, IFA_F_DADFAILED, IFA_F_HOMEADDRESS, IFA_F_TENTATIVE = 0x02, 0x08, 0x10, 0x40
INFINITY_LIFE_TIME = 0xFFFFFFFF

_NLMSG = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_RTA = struct.Struct("=HH")
_CACHEINFO = struct.Struct("=IIII")  # preferred, valid, cstamp, tstamp
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")


class NetlinkError(ValueError):
    """A malformed netlink datagram."""


@dataclass(frozen=True, slots=True)
class LinkMsg:
    new: bool  # RTM_NEWLINK (else RTM_DELLINK)
    index: int
    name: str | None
    flags: int

    @property
    def up(self) -> bool:
        """Administratively up with a carrier (IFF_UP and IFF_LOWER_UP)."""
        return self.new and self.flags & (IFF_UP | IFF_LOWER_UP) == IFF_UP | IFF_LOWER_UP


@dataclass(frozen=True, slots=True)
class AddrMsg:
    new: bool  # RTM_NEWADDR (else RTM_DELADDR)
    index: int
    address: IPv4Address | IPv6Address
    prefixlen: int
    flags: int
    scope: int
    valid_lifetime: int | None  # seconds left; None = forever


@dataclass(frozen=True, slots=True)
class AckMsg:
    seq: int
    error: int  # 0 = ACK, else a positive errno


@dataclass(frozen=True, slots=True)
class DoneMsg:
    seq: int


Message = LinkMsg | AddrMsg | AckMsg | DoneMsg


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attrs(data: bytes, off: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + _RTA.size <= end:
        alen, atype = _RTA.unpack_from(data, off)
        if alen < _RTA.size or off + alen > end:
            raise NetlinkError(f"attribute length {alen} at {off} runs past the message")
        out[atype & 0x3FFF] = data[off + _RTA.size:off + alen]  # without NLA_F_NESTED/NET_BYTEORDER
        off += _align(alen)
    return out


def parse(data: bytes) -> list[Message]:
    out: list[Message] = []
    off = 0
    while off + _NLMSG.size <= len(data):
        mlen, mtype, _, seq, _ = _NLMSG.unpack_from(data, off)
        if mlen < _NLMSG.size or off + mlen > len(data):
            raise NetlinkError(f"message length {mlen} at {off} with {len(data) - off} bytes left")
        body, end = off + _NLMSG.size, off + mlen
        if mtype in (RTM_NEWLINK, RTM_DELLINK):
            out.append(_link(data, body, end, mtype == RTM_NEWLINK))
        elif mtype in (RTM_NEWADDR, RTM_DELADDR):
            msg = _addr(data, body, end, mtype == RTM_NEWADDR)
            if msg is not None:
                out.append(msg)
        elif mtype == NLMSG_ERROR:
            if end - body < 4:
                raise NetlinkError("NLMSG_ERROR truncated")
            out.append(AckMsg(seq, -_I32.unpack_from(data, body)[0]))
        elif mtype == NLMSG_DONE:
            out.append(DoneMsg(seq))
        off += _align(mlen)
    return out


def _link(data: bytes, body: int, end: int, new: bool) -> LinkMsg:
    if end - body < _IFINFO.size:
        raise NetlinkError("ifinfomsg truncated")
    _, _, index, flags, _ = _IFINFO.unpack_from(data, body)
    attrs = _attrs(data, body + _IFINFO.size, end)
    name = attrs.get(IFLA_IFNAME)
    text = name.split(b"\0", 1)[0].decode("utf-8", "replace") if name else None
    return LinkMsg(new, index, text, flags)


def _addr(data: bytes, body: int, end: int, new: bool) -> AddrMsg | None:
    if end - body < _IFADDR.size:
        raise NetlinkError("ifaddrmsg truncated")
    family, prefixlen, flags, scope, index = _IFADDR.unpack_from(data, body)
    attrs = _attrs(data, body + _IFADDR.size, end)
    raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
    want = {socket.AF_INET: 4, socket.AF_INET6: 16}.get(family)
    if want is None:
        return None  # another family (e.g. AF_UNSPEC from a stranger): not an IP address
    if raw is None or len(raw) != want:
        raise NetlinkError(f"address attribute of {0 if raw is None else len(raw)} bytes for family {family}")
    if IFA_FLAGS in attrs:
        if len(attrs[IFA_FLAGS]) < 4:
            raise NetlinkError("IFA_FLAGS truncated")
        flags = _U32.unpack_from(attrs[IFA_FLAGS])[0]
    valid = None
    cache = attrs.get(IFA_CACHEINFO)
    if cache is not None:
        if len(cache) < _CACHEINFO.size:
            raise NetlinkError("IFA_CACHEINFO truncated")
        v = _CACHEINFO.unpack_from(cache)[1]
        valid = None if v == INFINITY_LIFE_TIME else v
    return AddrMsg(new, index, ip_address(raw), prefixlen, flags, scope, valid)


# --- requests ----------------------------------------------------------------------------

def _msg(mtype: int, flags: int, seq: int, body: bytes) -> bytes:
    return _NLMSG.pack(_NLMSG.size + len(body), mtype, flags, seq, 0) + body


def _attr(atype: int, value: bytes) -> bytes:
    n = _RTA.size + len(value)
    return _RTA.pack(n, atype) + value + bytes(_align(n) - n)


def dump_links(*, seq: int) -> bytes:
    return _msg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0))


def dump_addresses(*, seq: int) -> bytes:
    return _msg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, _IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0))


def address_request(new: bool, index: int, address: IPv4Address | IPv6Address, prefixlen: int,
                    flags: int = 0, *, seq: int) -> bytes:
    """RTM_NEWADDR (create or replace) / RTM_DELADDR, with an ACK asked for."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    body = _IFADDR.pack(family, prefixlen, flags & 0xFF, RT_SCOPE_UNIVERSE, index)
    body += _attr(IFA_LOCAL, address.packed) + _attr(IFA_ADDRESS, address.packed) + _attr(IFA_FLAGS, _U32.pack(flags))
    mflags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE | NLM_F_REPLACE if new else 0)
    return _msg(RTM_NEWADDR if new else RTM_DELADDR, mflags, seq, body)


def default_route_request(new: bool, family: int, index: int, metric: int,
                          prefsrc: IPv4Address | IPv6Address | None = None, *, seq: int) -> bytes:
    """A default route through interface ``index`` (no gateway: a point-to-point
    device), metric ``metric``, preferred source ``prefsrc``, main table."""
    scope = RT_SCOPE_LINK if family == socket.AF_INET else RT_SCOPE_UNIVERSE
    body = _RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, scope, RTN_UNICAST, 0)
    body += _attr(RTA_OIF, _U32.pack(index)) + _attr(RTA_PRIORITY, _U32.pack(metric))
    if prefsrc is not None:
        body += _attr(RTA_PREFSRC, prefsrc.packed)
    mflags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE | NLM_F_REPLACE if new else 0)
    return _msg(RTM_NEWROUTE if new else RTM_DELROUTE, mflags, seq, body)


def link_request(index: int, up: bool, mtu: int | None, *, seq: int) -> bytes:
    body = _IFINFO.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP)
    if mtu is not None:
        body += _attr(IFLA_MTU, _U32.pack(mtu))
    return _msg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, body)


__all__ = ["NetlinkError", "LinkMsg", "AddrMsg", "AckMsg", "DoneMsg", "Message", "parse", "dump_links",
           "dump_addresses", "address_request", "default_route_request", "link_request",
           "RTMGRP_LINK", "RTMGRP_IPV4_IFADDR", "RTMGRP_IPV6_IFADDR", "IFA_F_NODAD", "IFA_F_TENTATIVE",
           "IFA_F_DADFAILED", "IFA_F_HOMEADDRESS", "IFF_LOOPBACK"]
