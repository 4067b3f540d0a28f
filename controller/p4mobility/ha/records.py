"""Plain state values of the home agent core: what views show and persistence saves.

Rule: a record is a frozen snapshot with typed fields (enums, addresses,
paths), built by the core and never referring back to it. Adapters read
records (``p4mob show``), ha_persist.py turns them into JSON and back, and
the core is rebuilt from them (``HomeAgent.from_state``); neither imports
the core. A home binding's ``paths`` (binding/tunnels.py) say how the data
plane reaches each care-of address; its ``careofs`` say, per BID, what the
MN registered (RFC 6275 §9.1 care-of address, RFC 5555 IPv4 CoA and NAT
state, RFC 5648 per-BID lifetime).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from p4mobility.binding import Path, TunnelEndpoints

from .ha_state import HomeState

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class CareofView:
    """One registered care-of address (one BID; BID 0 = no Binding Identifier option)."""

    bid: int
    coa: IPAddress  # as the MN registered it (IPv6 CoA, or the IPv4 CoA option: private behind a NAT)
    nat_detected: bool  # RFC 5555 §4.2: the BU's outer IPv4 source differed from ``coa``
    signal_port: int | None  # UDP source port of its last BU (IPv4 CoAs): where BA/BRR/MPA go
    lifetime: float  # granted, seconds
    registered_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class HomeBindingView:
    """One home address's binding cache entry (RFC 6275 §9.1, §10.1) with all its CoAs."""

    binding_id: int
    home_address: IPv6Address
    ipv4_home_address: IPv4Address | None
    paths: tuple[Path, ...]  # ordered by BID
    careofs: tuple[CareofView, ...]  # same BIDs, same order
    sequence: int  # last accepted Sequence Number
    lifetime: float  # last granted, seconds
    registered_at: float
    refreshed_at: float
    expires_at: float  # the latest of the BIDs' expiries
    state: HomeState

    @property
    def home_prefixes(self) -> tuple[IPv6Network | IPv4Network, ...]:
        v6: tuple = (IPv6Network(self.home_address),)
        return v6 + ((IPv4Network(self.ipv4_home_address),) if self.ipv4_home_address is not None else ())

    def careof(self, bid: int) -> CareofView | None:
        for c in self.careofs:
            if c.bid == bid:
                return c
        return None


@dataclass(frozen=True, slots=True)
class TunnelPeerView:
    tunnel_peer_id: int
    endpoints: TunnelEndpoints
    bindings: int  # how many paths use it


__all__ = ["CareofView", "HomeBindingView", "TunnelPeerView"]
