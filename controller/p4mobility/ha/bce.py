"""The home agent's binding cache entry (RFC 6275 §9.1, §10.1) on the generic cache.

Rule: a HomeBinding is a generic Binding (binding/cache.py) for one home
address: ``mn_id`` is the home address's 16 bytes, ``home_prefixes`` the
home address as /128 plus the IPv4 home address as /32 when one is assigned
(RFC 5555), ``paths`` one per BID (RFC 5648; BID 0 without a Binding
Identifier option). ``careofs`` holds per BID what the MN registered and
the BID's own lifetime; the binding lives while one BID does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from p4mobility.binding import Binding

from .ha_state import HomeState
from .records import CareofView, HomeBindingView, IPAddress


@dataclass(slots=True)
class Careof:
    coa: IPAddress
    nat_detected: bool
    signal_port: int | None
    lifetime: float
    registered_at: float
    expires_at: float


@dataclass(slots=True, eq=False)
class HomeBinding(Binding):
    home_address: IPv6Address = IPv6Address(0)
    ipv4_home_address: IPv4Address | None = None
    careofs: dict[int, Careof] = field(default_factory=dict)
    state: HomeState = HomeState.ACTIVE

    @property
    def uses_bids(self) -> bool:
        """RFC 5648: registered with Binding Identifier options (BIDs are never 0 then)."""
        return bool(self.paths) and 0 not in self.paths

    def coas(self) -> set[IPAddress]:
        return {c.coa for c in self.careofs.values()}

    def view(self) -> HomeBindingView:
        bids = sorted(self.paths)
        return HomeBindingView(
            self.binding_id, self.home_address, self.ipv4_home_address, self.path_tuple(),
            tuple(CareofView(b, c.coa, c.nat_detected, c.signal_port, c.lifetime, c.registered_at, c.expires_at)
                  for b in bids for c in (self.careofs[b],)),
            self.sequence, self.lifetime, self.registered_at, self.refreshed_at, self.expires_at, self.state)


def home_prefixes(hoa: IPv6Address, v4: IPv4Address | None) -> tuple[IPv6Network | IPv4Network, ...]:
    return (IPv6Network(hoa),) + ((IPv4Network(v4),) if v4 is not None else ())


def from_view(v: HomeBindingView) -> HomeBinding:
    b = HomeBinding(v.binding_id, v.home_address.packed, home_prefixes(v.home_address, v.ipv4_home_address),
                    {p.bid: p for p in v.paths}, v.sequence, v.lifetime, v.registered_at, v.refreshed_at,
                    v.expires_at, home_address=v.home_address, ipv4_home_address=v.ipv4_home_address,
                    state=v.state)
    b.careofs = {c.bid: Careof(c.coa, c.nat_detected, c.signal_port, c.lifetime, c.registered_at, c.expires_at)
                 for c in v.careofs}
    return b


__all__ = ["Careof", "HomeBinding", "home_prefixes", "from_view"]
