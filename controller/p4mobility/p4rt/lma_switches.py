"""Several LMA switches behind one LMA address: which switch gets which entries.

Rule (docs/cluster.md): each switch serves some prefix pools; a binding's entries
(member, `bindings`, `uplink_sources`, `binding_coas`, buffer punt) go only to the
switch whose pools hold its home prefix (the first switch for a prefix in no pool);
tunnel peers and terminations (one per MAG) go to every switch. Each switch's
`pool_steering` holds one entry per pool another switch serves, so an uplink
tunnel that lands on it is sent on to the serving switch (pool_steering.p4).
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Any, Iterable, Sequence

from finsy import P4TableAction, P4TableEntry, P4TableMatch

from p4mobility.pmip.actions import TunnelPeerAdded, TunnelPeerRemoved

from .entries import Change, key_of, lma_changes, table_addr

IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True)
class SteerHop:
    """How one switch reaches another one: its port and the MACs of that link."""

    switch: str
    port: int
    src_mac: str
    dst_mac: str


def steering_entry(pool: IPNetwork, hop: SteerHop) -> Change:
    match = {"home_addr": table_addr(pool)}
    entry = P4TableEntry("pool_steering", match=P4TableMatch(match),
                         action=P4TableAction("steer_to_switch", port=hop.port, src_mac=hop.src_mac,
                                              dst_mac=hop.dst_mac))
    return key_of("pool_steering", match), entry


class SwitchPlan:
    """Switch index (0: the first) of every binding, from the pool networks each serves."""

    def __init__(self, names: Sequence[str], pools: Sequence[Sequence[IPNetwork]]) -> None:
        if len(names) != len(pools) or not names:
            raise ValueError("one pool list per switch, at least one switch")
        self.names = tuple(names)
        self.pools = tuple(tuple(p) for p in pools)

    def serving(self, prefixes: Iterable[Any]) -> int:
        """The switch of a binding: the one whose pool holds its first home prefix."""
        for prefix in prefixes:
            for index, nets in enumerate(self.pools):
                for net in nets:
                    if prefix.version == net.version and prefix.subnet_of(net):
                        return index
            return 0
        return 0

    def changes_for(self, index: int, action: Any) -> list[Change]:
        """The entries ``action`` asks of switch ``index``."""
        if isinstance(action, (TunnelPeerAdded, TunnelPeerRemoved)):
            return lma_changes(action)
        prefixes = getattr(action, "home_prefixes", None)
        if prefixes is not None and self.serving(prefixes) != index:
            return []
        return lma_changes(action)

    def steering(self, index: int, hops: Iterable[SteerHop]) -> list[Change]:
        """Switch ``index``'s `pool_steering`: every pool of every other switch, by its hop."""
        by_name = {h.switch: h for h in hops}
        out: list[Change] = []
        for other, nets in enumerate(self.pools):
            if other == index or not nets:
                continue
            hop = by_name.get(self.names[other])
            if hop is None:
                raise ValueError(f"switch {self.names[index]}: no steer to {self.names[other]}")
            out += [steering_entry(net, hop) for net in nets]
        return out


__all__ = ["SteerHop", "SwitchPlan", "steering_entry"]
