"""Movement detection: rtnetlink link/address messages -> the mobile-node core's events.

Rule: only the access interfaces are watched (every interface but loopback
and the tunnel interface when none are listed); the tunnel interface is
never reported (mip/events.py). An address counts when it is usable: not
link-local (fe80::/10, 169.254/16), not tentative nor DAD-failed (RFC 4862
§5.4: a tentative address is not yet assigned); an address that becomes
usable is ``AddressAdded`` (again on every update: the core's handling is
idempotent and takes the new valid lifetime), one that stops being usable
or goes away is ``AddressRemoved``. A link is up with IFF_UP and a carrier
(IFF_LOWER_UP); going down or away is ``InterfaceDown``, coming back up
re-announces the addresses it kept. A rename is the old name going away.
No protocol rule: what is a care-of address, or home, is the core's call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address

from p4mobility.mip import AddressAdded, AddressRemoved, InterfaceDown

from .netlink import IFA_F_DADFAILED, IFA_F_TENTATIVE, IFF_LOOPBACK, AddrMsg, LinkMsg, Message

_V4_LINK_LOCAL = IPv4Network("169.254.0.0/16")


@dataclass
class _Link:
    name: str
    up: bool = False
    addresses: dict = field(default_factory=dict)  # usable address -> valid lifetime (None = forever)


def usable(msg: AddrMsg) -> bool:
    a = msg.address
    if isinstance(a, IPv6Address) and a.is_link_local:
        return False
    if isinstance(a, IPv4Address) and a in _V4_LINK_LOCAL:
        return False
    return not msg.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)


class AccessWatch:
    def __init__(self, interfaces: tuple[str, ...], tunnel: str) -> None:
        self.interfaces = interfaces
        self.tunnel = tunnel
        self._links: dict[int, _Link] = {}

    def _watched(self, name: str | None, flags: int = 0) -> bool:
        if not name or name == self.tunnel:
            return False
        return name in self.interfaces if self.interfaces else not flags & IFF_LOOPBACK

    def feed(self, msg: Message) -> list:
        if isinstance(msg, LinkMsg):
            return self._on_link(msg)
        if isinstance(msg, AddrMsg):
            return self._on_addr(msg)
        return []

    def _on_link(self, msg: LinkMsg) -> list:
        link = self._links.get(msg.index)
        out: list = []
        if link is not None and (not msg.new or (msg.name and msg.name != link.name)):
            out += self._down(link)  # removed, or renamed: the old name is gone
            del self._links[msg.index]
            link = None
        if not msg.new or not self._watched(msg.name, msg.flags):
            return out
        if link is None:
            link = self._links[msg.index] = _Link(msg.name)
        if msg.up and not link.up:
            link.up = True
            out += [AddressAdded(link.name, a, v) for a, v in link.addresses.items()]
        elif not msg.up and link.up:
            out += self._down(link)
        return out

    @staticmethod
    def _down(link: _Link) -> list:
        was_up, link.up = link.up, False
        return [InterfaceDown(link.name)] if was_up else []

    def _on_addr(self, msg: AddrMsg) -> list:
        link = self._links.get(msg.index)
        if link is None:
            return []  # not an access interface (or its link message has not come yet: it re-announces)
        if msg.new and usable(msg):
            link.addresses[msg.address] = msg.valid_lifetime
            return [AddressAdded(link.name, msg.address, msg.valid_lifetime)] if link.up else []
        if link.addresses.pop(msg.address, "gone") != "gone" and link.up:
            return [AddressRemoved(link.name, msg.address)]
        return []

    def resync(self, messages: list) -> list:
        """After lost notifications (ENOBUFS): start over from a fresh dump;
        the events are the difference between what was and what is."""
        fresh = AccessWatch(self.interfaces, self.tunnel)
        for m in messages:
            fresh.feed(m)
        old, new = self._visible(), fresh._visible()
        out: list = []
        for name, addrs in old.items():
            if name not in new:
                out.append(InterfaceDown(name))
            else:
                out += [AddressRemoved(name, a) for a in addrs if a not in new[name]]
        for name, addrs in new.items():
            out += [AddressAdded(name, a, v) for a, v in addrs.items() if a not in old.get(name, {})]
        self._links = fresh._links
        return out

    def _visible(self) -> dict[str, dict]:
        return {link.name: dict(link.addresses) for link in self._links.values() if link.up}

    # --- what the adapter asks ---------------------------------------------------------

    def links(self) -> dict[str, int]:
        """Watched interfaces present now: name -> ifindex."""
        return {link.name: index for index, link in self._links.items()}

    def addresses(self, name: str) -> set:
        return {a for link in self._links.values() if link.name == name for a in link.addresses}

    def snapshot(self) -> dict[str, dict]:
        return {link.name: {"up": link.up, "addresses": sorted(map(str, link.addresses))}
                for link in self._links.values()}


__all__ = ["AccessWatch", "usable"]
