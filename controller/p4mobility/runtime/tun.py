"""The tunnel interface of draft-laganier-mext-dsmipv6-ipsec §3: a TUN device.

Rule: the device (``/dev/net/tun``, IFF_TUN | IFF_NO_PI: whole IP packets,
no extra header) exists while the daemon runs and goes away with it (not
persistent: closing the file descriptor removes it, its addresses and its
routes). It carries the home addresses (IPv6 always, /128 without DAD: the
address is ours by registration, not by the link; the IPv4 one while the HA
has assigned it) and, while a binding exists, the default routes (metric
``route_metric``, preferred source = the home address), so applications
send from the home address into the tunnel. No link-local address is made
on it (addr_gen_mode none): it sends no Router Solicitation nor MLD of its
own. Configuration goes through rtnetlink (rtnl.py); nothing shells out.
"""
from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct
from ipaddress import IPv4Address, IPv6Address

from . import netlink as nl
from .rtnl import Rtnl

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
MAX_PACKET = 65535


class TunError(OSError):
    """The device cannot be created or configured."""


class TunDevice:
    def __init__(self, name: str) -> None:
        try:
            self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise TunError(exc.errno, f"cannot open /dev/net/tun: {exc.strerror} (needs root and the tun driver)")
        try:
            ifr = fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
            self.name = ifr[:16].split(b"\0", 1)[0].decode()
            self.index = socket.if_nametoindex(self.name)
        except OSError as exc:
            os.close(self.fd)
            raise TunError(exc.errno, f"cannot create tunnel interface {name!r}: {exc.strerror}")

    def read(self) -> bytes | None:
        try:
            return os.read(self.fd, MAX_PACKET)
        except (BlockingIOError, InterruptedError):
            return None

    def write(self, packet: bytes) -> None:
        os.write(self.fd, packet)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class TunConfig:
    """Addresses and routes of the tunnel interface, through rtnetlink."""

    def __init__(self, rtnl: Rtnl, tun: TunDevice, mtu: int, metric: int) -> None:
        self.rtnl, self.tun, self.metric = rtnl, tun, metric
        self.routes: dict[int, IPv4Address | IPv6Address] = {}  # family -> preferred source
        try:
            with open(f"/proc/sys/net/ipv6/conf/{tun.name}/addr_gen_mode", "w") as f:
                f.write("1")  # IN6_ADDR_GEN_MODE_NONE: no link-local address
        except OSError:
            pass  # IPv6 disabled or an old kernel: a link-local address does no harm
        try:
            rtnl.request(nl.link_request, tun.index, True, mtu)
        except OSError as exc:
            raise TunError(exc.errno, f"cannot bring {tun.name} up with MTU {mtu}: {exc.strerror}")

    def add_address(self, address: IPv4Address | IPv6Address, prefixlen: int) -> None:
        self.rtnl.request(nl.address_request, True, self.tun.index, address, prefixlen, nl.IFA_F_NODAD)

    def remove_address(self, address: IPv4Address | IPv6Address, prefixlen: int) -> None:
        self.rtnl.request(nl.address_request, False, self.tun.index, address, prefixlen,
                          ignore=(errno.EADDRNOTAVAIL, errno.ENODEV))

    def set_default_route(self, source: IPv4Address | IPv6Address | None, family: int) -> bool:
        """Route everything of ``family`` via the tunnel from ``source``; None removes it.
        True when something changed."""
        old = self.routes.get(family)
        if old == source:
            return False
        if old is not None:
            self.rtnl.request(nl.default_route_request, False, family, self.tun.index, self.metric, old,
                              ignore=(errno.ESRCH, errno.ENODEV))
            del self.routes[family]
        if source is not None:
            self.rtnl.request(nl.default_route_request, True, family, self.tun.index, self.metric, source)
            self.routes[family] = source
        return True


__all__ = ["TunDevice", "TunConfig", "TunError", "MAX_PACKET"]
