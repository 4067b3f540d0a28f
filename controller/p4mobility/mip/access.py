"""The mobile node's access interfaces and what their addresses mean.

Rule (RFC 6275 §11.5, RFC 5555 §4): an interface holding a global IPv6
address inside the home subnet prefix is on the home link. Otherwise its
care-of address is a global IPv6 address if it has one (an IPv6 CoA is
preferred, RFC 5555 §4.1), else an IPv4 address, and only when the home
agent's IPv4 address is known (a CoA must reach the HA). Link-local,
loopback, multicast and unspecified addresses, and the home addresses
themselves, are never CoAs. Among equals the address seen first stays (no
churn). Interfaces are remembered in the order they were first seen.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network


@dataclass(frozen=True, slots=True)
class Coa:
    interface: str
    address: IPv6Address | IPv4Address
    expires_at: float | None  # end of the address's valid lifetime, if known

    @property
    def is_ipv4(self) -> bool:
        return isinstance(self.address, IPv4Address)


class AccessTable:
    """Addresses per interface, in insertion order."""

    def __init__(self, home_prefix: IPv6Network, home_addresses: tuple, ipv4_allowed: bool) -> None:
        self._home_prefix = home_prefix
        self._own = set(home_addresses)
        self._ipv4_allowed = ipv4_allowed
        self._addrs: dict[str, dict[IPv6Address | IPv4Address, float | None]] = {}
        self.seen: list[str] = []  # every interface ever reported, first-seen order

    def set_home_ipv4(self, address: IPv4Address | None) -> None:
        """The assigned IPv4 home address is not a CoA (it lives on the tunnel interface)."""
        self._own = {a for a in self._own if not isinstance(a, IPv4Address)}
        if address is not None:
            self._own.add(address)

    def add(self, interface: str, address: IPv6Address | IPv4Address, expires_at: float | None) -> None:
        if interface not in self.seen:
            self.seen.append(interface)
        self._addrs.setdefault(interface, {})[address] = expires_at

    def has(self, interface: str, address: IPv6Address | IPv4Address) -> bool:
        return address in self._addrs.get(interface, {})

    def remove(self, interface: str, address: IPv6Address | IPv4Address) -> None:
        addrs = self._addrs.get(interface)
        if addrs is not None:
            addrs.pop(address, None)

    def down(self, interface: str) -> None:
        self._addrs.pop(interface, None)

    @staticmethod
    def _usable(a: IPv6Address | IPv4Address) -> bool:
        return not (a.is_link_local or a.is_loopback or a.is_multicast or a.is_unspecified)

    def at_home(self, interface: str) -> bool:
        return any(isinstance(a, IPv6Address) and a in self._home_prefix and self._usable(a)
                   for a in self._addrs.get(interface, {}))

    def home_interface(self) -> str | None:
        """First interface on the home link, if any (RFC 6275 §11.5.4)."""
        return next((i for i in self.seen if self.at_home(i)), None)

    def coa(self, interface: str) -> Coa | None:
        """The care-of address of ``interface`` (None on the home link or without one)."""
        addrs = self._addrs.get(interface)
        if not addrs or self.at_home(interface):
            return None
        v6 = [a for a in addrs if isinstance(a, IPv6Address) and self._usable(a) and a not in self._own]
        if v6:
            return Coa(interface, v6[0], addrs[v6[0]])
        if self._ipv4_allowed:
            v4 = [a for a in addrs if isinstance(a, IPv4Address) and self._usable(a) and a not in self._own]
            if v4:
                return Coa(interface, v4[0], addrs[v4[0]])
        return None

    def coas(self) -> list[Coa]:
        """Every interface's CoA, first-seen order."""
        return [c for c in (self.coa(i) for i in self.seen) if c is not None]


__all__ = ["AccessTable", "Coa"]
